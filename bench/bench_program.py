"""Benchmark the Pulumi program's construction under the mock runtime.

For 1, 50, 200 and 500 domains: wall time until every resource is registered
and every output resolved, peak traced memory, resources per domain, and the
marginal cost per added domain. Target: at most 25 ms and at most 10
resources per added domain, growing linearly. With --profile, prints where
the time goes for the largest size (cProfile, top functions by cumulative time).

Run: .venv/bin/python bench/bench_program.py [--sizes 1 50 200 500] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import pulumi

    from pulumi_mocks import Mocks, use_mocks

from mtasts.config import parse_stack_settings
from mtasts.plan import plan_stack
from mtasts.resources.program import deploy


def settings(count: int) -> dict[str, Any]:
    """A stack of ``count`` domains with rua (so each gets both TXT records)."""
    rua = ["mailto:tls@example.com"]
    return {"domains": {f"d{i}.example.com": {"mx": [f"mx.d{i}.example.com"], "rua": rua} for i in range(count)}}


def construct(count: int, measure_memory: bool = False) -> tuple[float, float, int, int]:
    """Seconds in the program's own code, seconds until everything resolved, peak bytes, resources."""
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

    if measure_memory:
        tracemalloc.start()
    start = time.perf_counter()
    program()
    total = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    if measure_memory:
        tracemalloc.stop()
    return inside[0], total, peak, len(mocks.inputs)


def main() -> None:
    """Print one line per size and the marginal cost per domain."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 50, 200, 500])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    construct(1)  # warm imports and caches
    rows = []
    for size in args.sizes:
        program, total, _, resources = construct(size)
        peak = construct(size, measure_memory=True)[2]  # a separate run: tracemalloc slows allocation
        rows.append((size, total, peak, resources))
        print(
            f"{size:4d} domains: {total * 1000:7.0f} ms total, {total / size * 1000:5.1f} ms/domain "
            f"(program code {program / size * 1000:4.1f} ms/domain)  peak {peak / 2**20:6.1f} MiB  "
            f"{resources:5d} resources"
        )
    (n0, t0, m0, r0), (n1, t1, m1, r1) = rows[0], rows[-1]
    if n1 > n0:
        print(
            f"per added domain ({n0}->{n1}): {(t1 - t0) / (n1 - n0) * 1000:.1f} ms, "
            f"{(r1 - r0) / (n1 - n0):.1f} resources, {(m1 - m0) / (n1 - n0) / 1024:.0f} KiB"
        )
    print("target: <= 25 ms and <= 10 resources per added domain, linear")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        construct(args.sizes[-1])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
