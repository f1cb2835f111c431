"""Benchmark TLS-RPT parsing + aggregation on 10,000 reports, next to parsedmarc.

Reports are RFC 8460-shaped, half plain JSON and half gzip, from 20 sending
organizations about 50 policy domains over 30 days. Prints throughput for
`Summary.read` (parse, validate, aggregate) and for
`parsedmarc.parse_smtp_tls_report_json` on the same bytes (gzip decompressed
for it, as it takes JSON), and peak traced memory at 1,000 / 5,000 / 10,000
reports to show it stays flat. Targets: >= 5x parsedmarc's throughput; flat memory.

Run: .venv/bin/python bench/bench_reports.py [--reports 10000]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tlsrpt"))

from reports import as_gzip, as_json, report

from mtasts.tlsrpt.aggregate import Summary


def corpus(count: int) -> list[bytes]:
    """``count`` distinct reports."""
    out = []
    for i in range(count):
        doc = report(
            org=f"sender{i % 20}.example",
            report_id=f"r{i}",
            domain=f"d{i % 50}.example",
            day=f"2026-11-{1 + i % 28:02d}",
            successful=1000 + i % 17,
            failures=[("certificate-expired", f"mx{i % 3}.d{i % 50}.example", i % 5)],
        )
        out.append(as_gzip(doc) if i % 2 else as_json(doc))
    return out


def ours(data: list[bytes]) -> float:
    """Seconds for the kit to read, validate and aggregate ``data``."""
    start = time.perf_counter()
    summary = Summary()
    for index, item in enumerate(data):
        summary.read(str(index), item)
    elapsed = time.perf_counter() - start
    assert summary.reports == len(data)
    assert not summary.rejected
    return elapsed


def theirs(data: list[bytes]) -> float:
    """Seconds for parsedmarc to parse the same reports."""
    from parsedmarc import parse_smtp_tls_report_json

    start = time.perf_counter()
    for item in data:
        parse_smtp_tls_report_json(gzip.decompress(item) if item[:2] == b"\x1f\x8b" else item)
    return time.perf_counter() - start


def peak(data: list[bytes]) -> int:
    """Peak bytes traced while aggregating ``data``."""
    tracemalloc.start()
    summary = Summary()
    for index, item in enumerate(data):
        summary.read(str(index), item)
    value = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return value


def main() -> None:
    """Print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=10_000)
    args = parser.parse_args()
    data = corpus(args.reports)
    mine = min(ours(data) for _ in range(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = min(theirs(data) for _ in range(3))
    n = len(data)
    print(f"reports: {n} (half gzip), {sum(map(len, data)) / 2**20:.1f} MiB on the wire")
    print(f"mtasts parse+validate+aggregate: {mine:.2f} s = {n / mine:,.0f} reports/s")
    print(f"parsedmarc.parse_smtp_tls_report_json (parse only): {other:.2f} s = {n / other:,.0f} reports/s")
    print(f"ratio: {other / mine:.1f}x (target >= 5x)")
    # Memory is measured on the aggregation alone: the corpus itself is held by the benchmark.
    for size in (n // 10, n // 2, n):
        print(f"peak traced memory after {size:>6} reports: {peak(data[:size]) / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
