"""Benchmark the Pulumi program's construction under the mock runtime, in both hosting modes.

For each mode (``dedicated``: a distribution per domain; ``shared``: a tenant of one multi-tenant distribution
per domain) and each size (default 1, 100, 1,000 and 5,000 domains, each with rua, so both TXT records): wall
time until every resource is registered and every output resolved, the share spent in CPython's cyclic
collector, resources per domain — registrations (what the engine sees, components included) and cloud
resources (custom resources only) — and peak memory. Then the marginal cost per added domain between the
smallest and the largest size. Each size runs ``--repeat`` times and the **median** run is reported (with the
fastest and slowest, so the noise of a shared host is visible). Targets (issue 9): shared at most 5 cloud
resources and 15 ms per added domain, linear to 5,000.

Peak memory is the process's high-water mark (``ru_maxrss``) after each size, sizes ascending, so it is the
peak of the largest stack built so far; ``--tracemalloc`` measures each size's own traced peak in a separate
run instead (slower).

The cyclic collector is set as ``infra/__main__.py`` sets it for ``pulumi up`` (off, see
:func:`mtasts.resources.program.tune_garbage_collector`); ``--default-gc`` measures CPython's defaults
instead. Each run starts after a full collection, as a fresh program process would.
``--profile`` prints where the time goes for the largest size (cProfile, top functions).

Run: .venv/bin/python bench/bench_program.py [--modes dedicated shared] [--sizes 1 100 1000 5000] [--repeat 3]
     [--default-gc] [--tracemalloc] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import resource
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


def settings(count: int, mode: str = "dedicated") -> dict[str, Any]:
    """A stack of ``count`` domains with rua (so each gets both TXT records), hosted ``mode``.

    Shared stacks are delegated (``dns: external``), the case shared hosting exists for: fleets of customer
    domains behind three CNAMEs. Dedicated quotas are raised to the sizes measured (an account would need that).
    """
    rua = ["mailto:tls@example.com"]
    if mode == "shared":
        return {
            "hosting": "shared",
            "hostingZone": "hosting.example.net",
            "domains": {
                f"d{i}.example.org": {"mx": [f"mx.d{i}.example.org"], "rua": rua, "dns": "external"}
                for i in range(count)
            },
        }
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


def construct(count: int, measure_memory: bool = False, mode: str = "dedicated") -> Result:
    """Run the program on ``count`` domains under mocks, as ``pulumi up`` runs it."""
    mocks = Mocks()
    use_mocks(mocks)
    config = parse_stack_settings(settings(count, mode))
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
    peak = (
        tracemalloc.get_traced_memory()[1]
        if measure_memory
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    if measure_memory:
        tracemalloc.stop()
    cloud = sum(1 for t in mocks.types.values() if not t.startswith("mtasts:index:"))
    return Result(inside[0], total, timer.total, len(mocks.types), cloud, peak)


def measure(mode: str, sizes: list[int], repeat: int, traced: bool) -> list[tuple[int, Result, list[float]]]:
    """Median run per size, with every run's total time."""
    rows = []
    for size in sizes:
        runs = sorted((construct(size, mode=mode) for _ in range(repeat)), key=lambda r: r.total)
        result = runs[len(runs) // 2]
        if traced:
            result.peak = construct(size, measure_memory=True, mode=mode).peak  # tracemalloc slows allocation
        rows.append((size, result, [r.total for r in runs]))
        print(
            f"{mode:9s} {size:5d} domains: median {result.total * 1000:8.0f} ms "
            f"(runs {', '.join(f'{t * 1000:.0f}' for t in (r.total for r in runs))}), "
            f"{result.total / size * 1000:5.1f} ms/domain (collector {result.gc / size * 1000:4.1f})  "
            f"peak {result.peak / 2**20:6.0f} MiB  {result.registrations:6d} registrations "
            f"({result.cloud} cloud resources)",
            flush=True,
        )
    return rows


def summary(mode: str, rows: list[tuple[int, Result, list[float]]]) -> None:
    """Per added domain between the smallest and the largest size, and the last step for linearity."""
    (n0, r0, _), (n1, r1, _) = rows[0], rows[-1]
    if n1 <= n0:
        return
    added = n1 - n0
    print(
        f"{mode:9s} per added domain ({n0}->{n1}): {(r1.total - r0.total) / added * 1000:.1f} ms (median runs), "
        f"{(r1.registrations - r0.registrations) / added:.1f} registrations = "
        f"{(r1.cloud - r0.cloud) / added:.1f} cloud resources + 1 component"
    )
    if len(rows) > 2:
        (m, rm, _) = rows[-2]
        print(f"{mode:9s} marginal {m}->{n1}: {(r1.total - rm.total) / (n1 - m) * 1000:.1f} ms per domain (linearity)")


def main() -> None:
    """Print one line per mode and size, then the marginal cost per domain of each mode."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", default=["shared", "dedicated"], choices=["dedicated", "shared"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median is reported")
    parser.add_argument("--default-gc", action="store_true", help="keep CPython's collector settings")
    parser.add_argument("--tracemalloc", action="store_true", help="traced peak per size (a separate run)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for mode in args.modes:
        construct(1, mode=mode)  # warm imports and caches
    if not args.default_gc:
        tune_garbage_collector()
    state = f"automatic collection {'on' if gc.isenabled() else 'off'}, thresholds {gc.get_threshold()}"
    print(f"collector: {'CPython defaults' if args.default_gc else 'as infra/__main__.py sets it'} ({state})")
    print(f"median of {args.repeat} runs per size")
    results = {mode: measure(mode, args.sizes, args.repeat, args.tracemalloc) for mode in args.modes}
    for mode, rows in results.items():
        summary(mode, rows)
    print("targets: shared <= 5 cloud resources and <= 15 ms per added domain, linear to 5,000")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        construct(args.sizes[-1], mode=args.modes[0])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
