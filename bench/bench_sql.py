"""Benchmark the SQL engine (DuckDB over rows) against reading raw reports, at fleet scale.

1. ``status``'s report part over 10,000 domains × 30 days × 5 organizations (1.5 million reports): the kit's
   ``report_evidence(..., engine="duckdb")`` over local rows, exactly what ``mtasts status --engine duckdb
   --reports ROWS`` runs before judging (target: within 30 s).
2. A year of 1,000 domains × 5 organizations (1,825,000 reports) summarized with DuckDB over local rows, next to
   reading the raw objects: the Python reader over local files and over S3 (moto), each timed on a sample of
   the same corpus and scaled linearly (writing 1.8 million raw files is not practical here; the reader is
   linear in objects: docs/reports.md, "Benchmark"). Target: at least 50× faster. The sample is also summarized
   by both engines, which must give equal results.
3. The bytes Athena would scan for (1): the gzip size of a month of 10,000 domains' rows.

Rows are written by the kit's own writer (``mtasts.tlsrpt.rows.report_rows`` + ``json_lines``), one gzip file per
day as ``mtasts reports backfill FOLDER --to ROWS`` writes them; 2 % of the reports carry failures. Each timing
is the median of --runs runs.

Run: .venv/bin/python bench/bench_sql.py [--runs 3] [--domains 10000] [--year-domains 1000] [--sample 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tlsrpt"))

from mtasts.fleet.evidence import report_evidence
from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.backfill import backfill_local
from mtasts.tlsrpt.engines import sql_summary
from mtasts.tlsrpt.reader import Reader
from mtasts.tlsrpt.report import FailureDetail, PolicyResult, Report
from mtasts.tlsrpt.rows import json_lines, report_rows

ORGS = ("google.com", "microsoft.com", "yahoo.com", "comcast.net", "mail.ru")
UTC = dt.UTC


def report_of(domain: int, day: dt.date, org: int) -> Report:
    """One day's report of one organization for one domain; every 50th carries two failure details."""
    start = dt.datetime.combine(day, dt.time(), UTC)
    failures: tuple[FailureDetail, ...] = ()
    if (domain + day.toordinal() + org) % 50 == 0:
        failures = (
            FailureDetail("certificate-expired", f"mx1.d{domain}.example", 3, "192.0.2.1", "198.51.100.7", ""),
            FailureDetail("starttls-not-supported", f"mx2.d{domain}.example", 2, "", "", ""),
        )
    failed = sum(f.failed_sessions for f in failures)
    policy = PolicyResult("sts", f"d{domain}.example", (f"mx1.d{domain}.example",), 100 + domain % 7, failed, failures)
    end = start + dt.timedelta(days=1, seconds=-1)
    report_id = hashlib.md5(f"{org}-{domain}-{day}".encode()).hexdigest()  # noqa: S324 - an id, random-looking as senders' are
    return Report(ORGS[org], report_id, start, end, "tlsrpt@" + ORGS[org], (policy,))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_rows(folder: Path, domains: int, first: dt.date, days: int) -> int:
    """Rows of domains × days × 5 organizations, one gzip file per day; the total gzip bytes."""
    size = 0
    for n in range(days):
        day = first + dt.timedelta(days=n)
        target = folder / f"day={day.isoformat()}"
        target.mkdir(parents=True)
        with gzip.open(target / "backfill.jsonl.gz", "wb", compresslevel=6) as out:
            for domain in range(domains):
                for org in range(len(ORGS)):
                    r = report_of(domain, day, org)
                    out.write(json_lines(report_rows(r, f"d{domain}.example/{r.report_id}.json.gz", _sha(r.report_id))))
        size += (target / "backfill.jsonl.gz").stat().st_size
    return size


def write_raw(folder: Path, domains: range, first: dt.date, days: int) -> int:
    """The raw reports of ``domains`` (JSON as senders write it, gzip), laid out as the receiver stores them."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tlsrpt"))
    from reports import as_gzip, report

    count = 0
    for n in range(days):
        day = first + dt.timedelta(days=n)
        for domain in domains:
            for org in range(len(ORGS)):
                r = report_of(domain, day, org)
                failures = [(f.result_type, f.receiving_mx, f.failed_sessions) for f in r.policies[0].failures]
                doc = report(
                    r.organization, r.report_id, f"d{domain}.example", day.isoformat(), 100 + domain % 7, failures
                )
                path = folder / f"d{domain}.example" / day.strftime("%Y/%m/%d") / f"{r.report_id}.json.gz"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(as_gzip(doc))
                count += 1
    return count


def median(runs: int, work: Callable[[], object]) -> float:
    """Median wall seconds of ``runs`` runs of ``work``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def duck(rows: Path, since: dt.datetime, until: dt.datetime) -> Summary:
    """``reports summarize --engine duckdb ROWS``'s summary."""
    summary = Summary(since=since, until=until)
    sql_summary("duckdb", [str(rows)], summary)
    return summary


def python_local(raw: Path, since: dt.datetime, until: dt.datetime) -> Summary:
    """``reports summarize FOLDER``'s summary (the reference)."""
    summary = Summary(since=since, until=until)
    with Reader(summary) as reader:
        reader.read([str(raw)])
    return summary


def s3_rate(raw: Path, objects: int) -> float:
    """Objects/s of the Python reader over moto S3 (``summarize s3://…``'s reader), on ``objects`` raw reports."""
    import os

    import boto3
    from moto import mock_aws

    from mtasts.tlsrpt.s3 import s3_objects

    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    files = sorted(raw.rglob("*.json.gz"))[:objects]
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="raw")
        for path in files:
            client.put_object(Bucket="raw", Key=path.relative_to(raw).as_posix(), Body=path.read_bytes())
        summary = Summary()
        start = time.perf_counter()
        with Reader(summary) as reader:
            reader.read_sources(s3_objects("s3://raw/", 10 * 1024 * 1024, client=client))
        elapsed = time.perf_counter() - start
    assert summary.reports == len(files), summary.reports
    return len(files) / elapsed


def main() -> None:
    """Run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--domains", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--year-domains", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=20, help="raw reports of 1 domain in N are timed and checked")
    parser.add_argument("--s3-objects", type=int, default=3000)
    parser.add_argument("--skip-month", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sql-"))
    try:
        if not args.skip_month:
            first = dt.date(2026, 11, 1)
            last = first + dt.timedelta(days=args.days - 1)
            rows = work / "month"
            start = time.perf_counter()
            size = write_rows(rows, args.domains, first, args.days)
            reports = args.domains * args.days * len(ORGS)
            print(
                f"month: {reports:,} reports' rows written in {time.perf_counter() - start:.0f} s, {size:,} bytes gzip"
            )
            seconds = median(args.runs, lambda: report_evidence([str(rows)], first, last, engine="duckdb"))
            accepted, _, evidence = report_evidence([str(rows)], first, last, engine="duckdb")
            assert accepted == reports, accepted
            assert len(evidence) == args.domains, len(evidence)
            print(
                f"status report part, {args.domains:,} domains x {args.days} days x 5 orgs, DuckDB over local rows: "
                f"median {seconds:.1f} s (target 30 s: {30 / seconds:.1f}x under)"
            )
            print(
                f"Athena bytes scanned for that month: {size:,} bytes = {size / 1e12:.6f} TB; at $5.00 per TB "
                f"(10 MB minimum per query): ${max(size, 10e6) / 1e12 * 5:.5f} per query"
            )
            shutil.rmtree(rows)
        # a year of 1,000 domains
        first = dt.date(2025, 12, 1)
        since = dt.datetime.combine(first, dt.time(), UTC)
        until = since + dt.timedelta(days=365)
        rows = work / "year"
        start = time.perf_counter()
        size = write_rows(rows, args.year_domains, first, 365)
        reports = args.year_domains * 365 * len(ORGS)
        print(f"year: {reports:,} reports' rows written in {time.perf_counter() - start:.0f} s, {size:,} bytes gzip")
        ours = median(args.runs, lambda: duck(rows, since, until))
        assert duck(rows, since, until).reports == reports
        # the raw sample: every --sample-th domain, the whole year, read by the Python reader and by DuckDB
        sample = range(0, args.year_domains, args.sample)
        raw, sample_rows = work / "raw", work / "sample-rows"
        objects = write_raw(raw, sample, first, 365)
        backfill_local(raw, sample_rows)
        theirs = median(args.runs, lambda: python_local(raw, since, until))
        reference, sql = python_local(raw, since, until), duck(sample_rows, since, until)
        assert reference.to_dict()["domains"] == sql.to_dict()["domains"], "DuckDB and the reference disagree"
        assert reference.reports == sql.reports == objects
        sample_sql = median(args.runs, lambda: duck(sample_rows, since, until))
        scale = reports / objects
        local = theirs * scale
        rate = s3_rate(raw, args.s3_objects)
        remote = reports / rate
        print(
            f"sample: {objects:,} raw reports ({len(sample)} domains, a year): Python reader median {theirs:.1f} s, "
            f"DuckDB over their rows {sample_sql:.2f} s ({theirs / sample_sql:.0f}x); equal summaries"
        )
        print(
            f"a year of {args.year_domains:,} domains ({reports:,} reports): DuckDB over local rows median "
            f"{ours:.1f} s; raw local files (scaled x{scale:.0f}) {local:.0f} s = {local / ours:.0f}x; raw objects "
            f"from S3 at {rate:.0f} objects/s (moto) {remote:.0f} s = {remote / ours:.0f}x"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
