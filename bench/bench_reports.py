"""Benchmark TLS-RPT parse + aggregate on 10,000 report files, side by side with parsedmarc.

The corpus is written to a temporary folder as RFC 8460 §5.1-named files, half plain JSON and half gzip, from
20 sending organizations about 50 policy domains over 28 days, 0-3 failure details each. Both pipelines start
from the same folder (each lists it) and end with the same per-domain counts (checked):

- mtasts: exactly what ``mtasts reports summarize FOLDER --jobs N`` does before printing (``Reader`` +
  ``Summary``: walk, read, bound, decompress, decode and validate RFC 8460 §4.4, aggregate, dedupe), with the
  machine's CPU count as N and with N = 1;
- parsedmarc: list the folder (os.walk), read each file, gunzip it (``parse_smtp_tls_report_json`` takes JSON
  only), parse it with ``parsedmarc.parse_smtp_tls_report_json``, and aggregate its output into the same
  counts with the same dedupe (parsedmarc has no TLS-RPT aggregation of its own).

Runs are interleaved (kit, kit, peer, kit, ...) so both see the same machine load; the median of ``--runs``
of each is printed, in wall and in CPU seconds (all processes, workers included), with the ratio.
It also prints parse-only numbers on bytes in memory, and ``json.loads`` alone for scale, and, with ``--s3 N``,
the objects per second read from moto's S3 by date prefixes.
Peak traced memory at 1,000 / 5,000 / 10,000 files shows what grows with the report count.
Targets (issue 12): >= 2x parsedmarc from files to per-domain counts, aiming for 5x; memory flat as the
report count grows.

Run: .venv/bin/python bench/bench_reports.py [--reports 10000] [--runs 5] [--s3 3000] [--html 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tlsrpt"))

from reports import as_gzip, as_json, report

from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.reader import Reader
from mtasts.tlsrpt.report import parse_report

RESULTS = ("certificate-expired", "starttls-not-supported", "validation-failure")


def write_corpus(folder: Path, count: int) -> list[Path]:
    """``count`` distinct report files, named as RFC 8460 §5.1 says, half of them gzip."""
    paths = []
    for i in range(count):
        org, domain, day = f"sender{i % 20}.example", f"d{i % 50}.example", 1 + i % 28
        doc = report(
            org=org,
            report_id=f"{i:08d}-bench",
            domain=domain,
            day=f"2026-11-{day:02d}",
            successful=1000 + i % 17,
            failures=[(RESULTS[j], f"mx{j}.{domain}", 1 + (i + j) % 5) for j in range(i % 4)],
        )
        begin = 1_793_491_200 + (day - 1) * 86_400  # 2026-11-01T00:00:00Z
        name = f"{org}!{domain}!{begin}!{begin + 86_399}!{i:08d}.json"
        path = folder / f"{i % 100:02d}" / (name + (".gz" if i % 2 else ""))
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(as_gzip(doc) if i % 2 else as_json(doc))
        paths.append(path)
    return paths


def ours(folder: Path, jobs: int) -> dict[str, Any]:
    """The kit's pipeline over the folder (what ``summarize FOLDER --jobs N`` does); its per-domain totals."""
    summary = Summary()
    with Reader(summary, jobs=jobs) as reader:
        reader.read([str(folder)])
    assert not summary.rejected, summary.rejected[:3]
    return {d["domain"]: d for d in summary.to_dict()["domains"]}


def ours_files(paths: list[Path]) -> Summary:
    """The kit's pipeline on a list of files in this process (what tracemalloc can see)."""
    summary = Summary()
    with Reader(summary, jobs=1) as reader:
        reader.read(map(str, paths))
    return summary


def walk(folder: Path) -> list[Path]:
    """The files under ``folder`` as a parsedmarc user lists them (os.walk), in name order."""
    return sorted(Path(root, name) for root, _, names in os.walk(folder) for name in names)


def theirs(paths: list[Path]) -> dict[str, Any]:
    """parsedmarc's parser over the same files, aggregated into the same counts, with the same dedupe."""
    from parsedmarc import parse_smtp_tls_report_json

    seen: set[tuple[str, str]] = set()
    domains: dict[str, dict[str, Any]] = {}
    for path in paths:
        data = path.read_bytes()
        parsed = parse_smtp_tls_report_json(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
        key = (parsed["organization_name"], parsed["report_id"])
        if key in seen:
            continue
        seen.add(key)
        day = parsed["begin_date"][:10]
        for policy in parsed["policies"]:
            d = domains.get(policy["policy_domain"])
            if d is None:
                d = domains[policy["policy_domain"]] = {
                    "successful_sessions": 0,
                    "failed_sessions": 0,
                    "by_result_type": Counter(),
                    "by_organization": defaultdict(Counter),
                    "by_day": defaultdict(Counter),
                    "by_mx": defaultdict(Counter),
                }
            ok, failed = policy["successful_session_count"], policy["failed_session_count"]
            d["successful_sessions"] += ok
            d["failed_sessions"] += failed
            for pair in (d["by_organization"][parsed["organization_name"]], d["by_day"][day]):
                pair["successful"] += ok
                pair["failed"] += failed
            for detail in policy.get("failure_details", []):
                d["by_result_type"][detail["result_type"]] += detail["failed_session_count"]
                d["by_mx"][detail.get("receiving_mx_hostname", "")]["failed"] += detail["failed_session_count"]
    return domains


def agree(mine: dict[str, Any], other: dict[str, Any]) -> None:
    """Both pipelines counted the same sessions per domain, result type, organization and day."""
    assert mine.keys() == other.keys()
    for name, d in mine.items():
        o = other[name]
        assert (d["successful_sessions"], d["failed_sessions"]) == (o["successful_sessions"], o["failed_sessions"])
        assert d["by_result_type"] == dict(o["by_result_type"])
        assert d["by_organization"] == {k: dict(v) for k, v in o["by_organization"].items()}
        assert d["by_day"] == {k: dict(v) for k, v in o["by_day"].items()}


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process and its reaped children (the worker processes)."""
    before, start = os.times(), time.perf_counter()
    work()
    wall, after = time.perf_counter() - start, os.times()
    cpu = sum(after[:4]) - sum(before[:4])  # user + system, self + children
    return wall, cpu


def median(runs: int, work: Callable[[], object]) -> float:
    """Median of ``runs`` timed calls, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def each(parse: Callable[[bytes], object], items: list[bytes]) -> None:
    """Call ``parse`` on every item, keeping no result (as a streaming reader would)."""
    for item in items:
        parse(item)


def peak(work: Callable[[], object]) -> int:
    """Peak bytes traced while ``work`` runs."""
    tracemalloc.start()
    work()
    value = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return value


def s3_rate(objects: int) -> None:
    """Objects per second that ``summarize s3://…`` reads from moto's in-process S3, by date prefixes."""
    import boto3
    from moto import mock_aws

    from mtasts.tlsrpt.s3 import s3_objects

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")  # noqa: S106 - moto's fake credentials
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        domains = 10
        for i in range(objects):
            domain, day = f"d{i % domains}.example", 1 + (i // domains) % 30
            key = f"{domain}/2026/11/{day:02d}/r{i}.0123456789abcdef.json.gz"
            client.put_object(Bucket="reports", Key=key, Body=as_gzip(report(report_id=str(i), domain=domain)))
        since, until = dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        summary = Summary(since=None)
        start = time.perf_counter()
        for source in s3_objects("s3://reports/", 10 * 2**20, since, until):
            summary.read(source.name, source.data, problem=source.problem)
        wall = time.perf_counter() - start
    assert summary.reports == objects, (summary.reports, summary.rejected[:2])
    print(
        f"s3 (moto, in-process): {objects} objects, {domains} domains, one month by date prefixes: "
        f"{wall:.2f} s = {objects / wall:,.0f} objects/s"
    )


def html_numbers(domains: int) -> None:
    """Size and headless-chromium render time of the page for 4 reports and for ``domains`` domains over a year."""
    import re
    import shutil
    import subprocess

    from mtasts.tlsrpt.html import render_html

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    small = Summary()
    for i in range(4):
        small.read(str(i), as_json(report(report_id=str(i), day=f"2026-11-0{i + 1}")))
    large = Summary()
    start = dt.date(2025, 12, 1)
    for i in range(domains * 10):
        day = (start + dt.timedelta(days=i % 365)).isoformat()
        large.read(str(i), as_json(report(report_id=str(i), domain=f"d{i % domains}.example", day=day)))
    with tempfile.TemporaryDirectory() as tmp:
        for label, summary in (("4 reports", small), (f"{domains} domains, a year", large)):
            page = Path(tmp, "page.html")
            begin = time.perf_counter()
            page.write_text(render_html(summary), encoding="utf-8")
            built = time.perf_counter() - begin
            rendered = "no chromium"
            if chromium:
                flags = [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    f"--user-data-dir={tmp}/profile",
                    "--virtual-time-budget=20000",
                ]
                dom = subprocess.run(
                    [chromium, *flags, "--dump-dom", page.as_uri()],
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                ).stdout
                found = re.search(r'data-render-ms="(\d+)"', dom)
                rendered = f"{found[1]} ms to render" if found else "did not render"
            print(f"html, {label}: {page.stat().st_size / 1e6:.2f} MB, built in {built:.2f} s, {rendered} (chromium)")


def main() -> None:
    """Print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per pipeline; the median is printed")
    parser.add_argument("--s3", type=int, default=0, help="also time reading this many objects from moto S3")
    parser.add_argument("--html", type=int, default=0, help="also build and render pages (4 reports; N domains)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # parsedmarc's imports warn about their own dependencies
    if args.s3:
        s3_rate(args.s3)
    if args.html:
        html_numbers(args.html)
    jobs = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = sorted(write_corpus(folder, args.reports))  # the order the folder walk reads them in
        n = len(paths)
        agree(ours(folder, jobs), theirs(paths))  # also warms the page cache for both
        agree(ours(folder, 1), theirs(paths))
        # interleaved, so both pipelines see the same machine load (other processes share the cores)
        runs: dict[str, list[tuple[float, float]]] = {"jobs": [], "one": [], "peer": []}
        for _ in range(args.runs):
            runs["jobs"].append(timed(lambda: ours(folder, jobs)))
            runs["one"].append(timed(lambda: ours(folder, 1)))
            runs["peer"].append(timed(lambda: theirs(walk(folder))))  # both pipelines list the folder
        wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
        size = sum(p.stat().st_size for p in paths) / 2**20
        print(f"reports: {n} files (half gzip), {size:.1f} MiB on disk; both pipelines count the same sessions")
        print(f"median of {args.runs} runs each, interleaved; {jobs} CPUs; load average {os.getloadavg()[0]:.1f}")
        print("files -> per-domain counts     wall s   reports/s   CPU s (all processes)")
        for key, label in (("jobs", f"mtasts --jobs {jobs}"), ("one", "mtasts --jobs 1"), ("peer", "parsedmarc")):
            print(f"  {label:<26} {wall[key]:6.3f} {n / wall[key]:>11,.0f}   {cpu[key]:6.3f}")
        print(
            f"ratio (parsedmarc time / mtasts time): {wall['peer'] / wall['jobs']:.2f}x with {jobs} jobs, "
            f"{wall['peer'] / wall['one']:.2f}x with one; in CPU time {cpu['peer'] / cpu['one']:.2f}x "
            "(target >= 2x, aim 5x)"
        )

        from parsedmarc import parse_smtp_tls_report_json

        blobs = [p.read_bytes() for p in paths]
        texts = [gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b for b in blobs]
        parse_ours = median(args.runs, lambda: each(parse_report, blobs))
        parse_theirs = median(args.runs, lambda: each(parse_smtp_tls_report_json, texts))
        loads = median(args.runs, lambda: each(json.loads, texts))
        print(f"parse only, in memory: mtasts.parse_report (gzip included) {n / parse_ours:>8,.0f} reports/s")
        print(f"parse only, in memory: parse_smtp_tls_report_json (JSON)    {n / parse_theirs:>8,.0f} reports/s")
        print(
            f"json.loads alone on the same JSON:                         {n / loads:>8,.0f} reports/s "
            f"= {parse_theirs / loads:.2f}x parsedmarc's parse rate"
        )
        for size in (n // 10, n // 2, n):
            part = paths[:size]
            kit = peak(lambda p=part: ours_files(p)) / 2**20
            peer = peak(lambda p=part: theirs(p)) / 2**20
            print(f"peak traced memory, {size:>6} files: mtasts --jobs 1 {kit:6.2f} MiB, parsedmarc {peer:6.2f} MiB")


if __name__ == "__main__":
    main()
