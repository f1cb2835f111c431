"""Benchmark the fleet page (`mtasts status --html`) at 10,000 domains in headless chromium.

The fleet is tests/fleet/bigfleet.py's (planned by the kit, 30 days of made-up evidence: 1 % action-needed, 10 %
hold, the rest ok). Printed: the page's size (target at most 3 MB), the time to write it, and in Debian's
headless chromium (tests/browser.py, the same flags as the page tests) the median of --runs loads of: the
milliseconds from navigation until the page's last script ran (``data-ready-ms``: laid out, 200 rows listed,
usable; target 2 s) and the wall time of the whole ``chromium --dump-dom`` process, next to the same process on an
empty page (the floor: starting chromium).

Run: .venv/bin/python bench/bench_page.py [--domains 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fleet"))

from bigfleet import big_fleet

from browser import load
from mtasts.fleet.page import write_page


def main() -> None:
    """Build, write and load the page; print the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    fleet = big_fleet(args.domains)
    with tempfile.TemporaryDirectory() as folder:
        page, empty = Path(folder) / "fleet.html", Path(folder) / "empty.html"
        start = time.perf_counter()
        write_page(fleet, page)
        written = time.perf_counter() - start
        empty.write_text("<!doctype html><title>empty</title>")
        ready, wall, floor = [], [], []
        for n in range(args.runs):
            start = time.perf_counter()
            dom, console = load(page, Path(folder) / f"p{n}")
            wall.append(time.perf_counter() - start)
            assert console == [], console
            match = re.search(r'data-ready-ms="(\d+)"', dom)
            assert match is not None
            ready.append(int(match.group(1)) / 1000)
            start = time.perf_counter()
            load(empty, Path(folder) / f"e{n}")
            floor.append(time.perf_counter() - start)
        size = page.stat().st_size
    r, w, f = statistics.median(ready), statistics.median(wall), statistics.median(floor)
    print(f"{args.domains:,} domains: page {size:,} bytes ({size / 3e6:.0%} of 3 MB), written in {written:.2f} s")
    print(
        f"chromium: usable {r:.2f} s after navigation (target 2 s: {2 / r:.1f}x under); whole process {w:.2f} s, "
        f"empty page {f:.2f} s, so {w - f:.2f} s for this page"
    )


if __name__ == "__main__":
    main()
