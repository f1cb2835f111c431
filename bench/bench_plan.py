"""Benchmark `mtasts plan` on a 500-domain stack.

Target: under one second of work beyond interpreter and import start-up.
Prints (median of --runs runs each): in-process time to read + validate +
plan + serialise; in-process time to render the tables as a terminal of
200 and 80 columns gets them and as a pipe gets them (mtasts.output);
and the wall time of the real command minus the wall time of only starting
the interpreter and importing the CLI.

Run: .venv/bin/python bench/bench_plan.py [--domains N] [--runs R]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ["testing", "enforce", "google-workspace", "microsoft-365", "none"]


def write_stack(folder: Path, count: int) -> Path:
    """A stack file with ``count`` domains cycling through every template, with rua on most."""
    lines = ["config:", "  aws:region: eu-west-1", "  mta-sts:domains:"]
    for i in range(count):
        template = TEMPLATES[i % len(TEMPLATES)]
        lines.append(f"    d{i}.example.com:")
        lines.append(f"      template: {template}")
        if template in ("testing", "enforce"):
            lines.append(f"      mx: [mx1.d{i}.example.com, mx2.d{i}.example.com, '*.mx.d{i}.example.net']")
        if template != "none":
            lines.append(f"      rua: [mailto:tls@d{i}.example.com, 'https://r.example.com/{i}']")
    path = folder / "Pulumi.bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def median_walls(commands: list[list[str]], runs: int) -> list[float]:
    """Median wall time of each command in seconds, the commands taking turns so load changes hit all alike."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[index].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


#: How the tables are rendered: label -> terminal width (None: stdout is a pipe).
RENDERINGS: dict[str, int | None] = {"terminal 200 columns": 200, "terminal 80 columns": 80, "pipe": None}


def render_median(plan: object, width: int | None, runs: int) -> float:
    """Median time of ``mtasts.output.print_plan(plan)`` as a terminal of ``width`` columns (or a pipe) gets it."""
    from rich.console import Console

    import mtasts.output as output

    saved = output.is_terminal, output.console
    times = []
    try:
        for _ in range(runs):
            buffer = io.StringIO()
            if width is None:
                output.is_terminal = lambda: False
            else:
                output.is_terminal = lambda: True
                terminal = Console(file=buffer, width=width, force_terminal=True, color_system="truecolor")
                output.console = lambda terminal=terminal: terminal  # type: ignore[misc]
            with contextlib.redirect_stdout(buffer):
                start = time.perf_counter()
                output.print_plan(plan)  # type: ignore[arg-type]
                times.append(time.perf_counter() - start)
    finally:
        output.is_terminal, output.console = saved
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from mtasts.plan import plan_stack_file

    with tempfile.TemporaryDirectory() as tmp:
        path = write_stack(Path(tmp), args.domains)
        plan_stack_file(path)  # warm the template cache of the first call out of the measurement
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            json.dumps(plan_stack_file(path).to_dict())
            samples.append(time.perf_counter() - start)
        tracemalloc.start()
        plan = plan_stack_file(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rendering = {label: render_median(plan, width, args.runs) for label, width in RENDERINGS.items()}

        exe = str(Path(sys.executable).parent / "mtasts")
        startup, startup_tables, full, table = median_walls(
            [
                [sys.executable, "-c", "import mtasts.cli"],
                [sys.executable, "-c", "import mtasts.cli, mtasts.output"],
                [exe, "plan", "--config", str(path), "--json"],
                [exe, "plan", "--config", str(path)],
            ],
            args.runs,
        )

    print(f"domains: {args.domains}, runs: {args.runs} (every number is a median)")
    print(f"in-process read+validate+plan+json: median {statistics.median(samples) * 1000:.1f} ms")
    for label, seconds in rendering.items():
        print(f"in-process table rendering, {label}: median {seconds * 1000:.0f} ms")
    print(f"in-process peak traced memory: {peak / 1024 / 1024:.1f} MiB")
    print(f"interpreter + import start-up: {startup * 1000:.0f} ms (with rich: {startup_tables * 1000:.0f} ms)")
    print(f"`mtasts plan --json` wall: {full * 1000:.0f} ms -> beyond start-up: {(full - startup) * 1000:.0f} ms")
    beyond = (table - startup_tables) * 1000
    print(f"`mtasts plan` (tables, piped) wall: {table * 1000:.0f} ms -> beyond start-up: {beyond:.0f} ms")
    print("target: beyond start-up < 1000 ms")


if __name__ == "__main__":
    main()
