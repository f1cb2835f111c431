"""Benchmark the Pulumi program's construction under the mock runtime.

For 1, 50, 200 and 500 domains (each with rua, so both TXT records): wall time until every resource is
registered and every output resolved, the share of it spent in CPython's cyclic garbage collector, peak
traced memory, and resources per domain — registrations (what the engine sees, components included) and
cloud resources (custom resources only). Then the marginal cost per added domain between the smallest and
the largest size. Each size runs ``--repeat`` times and the fastest run counts (other jobs on the host only
ever add time). Target: at most 25 ms and at most 10 resources per added domain, growing linearly.

The cyclic collector is set as ``infra/__main__.py`` sets it for ``pulumi up`` (off, see
:func:`mtasts.resources.program.tune_garbage_collector`); ``--default-gc`` measures CPython's defaults
instead. Each run starts after a full collection, as a fresh program process would.
``--profile`` prints where the time goes for the largest size (cProfile, top functions).

Run: .venv/bin/python bench/bench_program.py [--sizes 1 50 200 500] [--repeat 3] [--default-gc] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import pulumi

    from pulumi_mocks import Mocks, use_mocks

from mtasts.config import parse_stack_settings
from mtasts.plan import plan_stack
from mtasts.resources.program import deploy, tune_garbage_collector


def settings(count: int) -> dict[str, Any]:
    """A stack of ``count`` domains with rua (so each gets both TXT records)."""
    rua = ["mailto:tls@example.com"]
    return {"domains": {f"d{i}.example.com": {"mx": [f"mx.d{i}.example.com"], "rua": rua} for i in range(count)}}


class GcTimer:
    """Seconds spent in the cyclic collector, from its start/stop callbacks."""

    def __init__(self) -> None:
        self.total = 0.0
        self.collections = 0
        self._start = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        """Collector callback."""
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start
            self.collections += 1


@dataclass
class Result:
    """One construction of the program."""

    program: float
    """Seconds in deploy() itself (declaring resources)."""
    total: float
    """Seconds until every registration and output resolved."""
    gc: float
    """Seconds of ``total`` spent in the cyclic collector."""
    registrations: int
    cloud: int
    peak: int = 0


def construct(count: int, measure_memory: bool = False) -> Result:
    """Run the program on ``count`` domains under mocks, as ``pulumi up`` runs it."""
    mocks = Mocks()
    use_mocks(mocks)
    config = parse_stack_settings(settings(count))
    inside: list[float] = []

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        start = time.perf_counter()
        outputs = deploy(plan_stack(config), stack="bench", previous_retirement={}, now=0.0)
        inside.append(time.perf_counter() - start)
        return pulumi.Output.from_input(outputs)

    gc.collect()  # the previous run's garbage: each run should start as a fresh `pulumi up` process does
    timer = GcTimer()
    if measure_memory:
        tracemalloc.start()
    gc.callbacks.append(timer)
    start = time.perf_counter()
    try:
        program()
    finally:
        total = time.perf_counter() - start
        gc.callbacks.remove(timer)
    peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    if measure_memory:
        tracemalloc.stop()
    cloud = sum(1 for t in mocks.types.values() if not t.startswith("mtasts:index:"))
    return Result(inside[0], total, timer.total, len(mocks.types), cloud, peak)


def main() -> None:
    """Print one line per size and the marginal cost per domain."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 50, 200, 500])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest counts (noisy hosts)")
    parser.add_argument("--default-gc", action="store_true", help="keep CPython's collector settings")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    construct(1)  # warm imports and caches
    if not args.default_gc:
        tune_garbage_collector()
    state = f"automatic collection {'on' if gc.isenabled() else 'off'}, thresholds {gc.get_threshold()}"
    print(f"collector: {'CPython defaults' if args.default_gc else 'as infra/__main__.py sets it'} ({state})")
    rows: list[tuple[int, Result]] = []
    for size in args.sizes:
        result = min((construct(size) for _ in range(args.repeat)), key=lambda r: r.total)
        result.peak = construct(size, measure_memory=True).peak  # a separate run: tracemalloc slows allocation
        rows.append((size, result))
        print(
            f"{size:4d} domains: {result.total * 1000:7.0f} ms total, {result.total / size * 1000:5.1f} ms/domain "
            f"(declaring {result.program / size * 1000:4.1f}, collector {result.gc / size * 1000:4.1f})  "
            f"peak {result.peak / 2**20:6.1f} MiB  {result.registrations:5d} registrations "
            f"({result.cloud} cloud resources)"
        )
    (n0, r0), (n1, r1) = rows[0], rows[-1]
    if n1 > n0:
        added = n1 - n0
        print(
            f"per added domain ({n0}->{n1}): {(r1.total - r0.total) / added * 1000:.1f} ms "
            f"(collector {(r1.gc - r0.gc) / added * 1000:.1f} ms), "
            f"{(r1.registrations - r0.registrations) / added:.1f} registrations = "
            f"{(r1.cloud - r0.cloud) / added:.1f} cloud resources + 1 component, "
            f"{(r1.peak - r0.peak) / added / 1024:.0f} KiB"
        )
        if len(rows) > 2:
            (m, rm) = rows[-2]
            print(f"marginal {m}->{n1}: {(r1.total - rm.total) / (n1 - m) * 1000:.1f} ms per domain (linearity check)")
    print("target: <= 25 ms and <= 10 resources per added domain, linear")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        construct(args.sizes[-1])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
