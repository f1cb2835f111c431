"""`reports compact` (moto S3): one rows file per finished day, the same counts, safe to interrupt and rerun."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from reports import as_gzip, report

from mtasts.cli import main
from mtasts.tlsrpt import receiver
from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.compact import compact_s3
from mtasts.tlsrpt.duck import duckdb_records
from mtasts.tlsrpt.sql import Window, fill_summary

DOMAINS = frozenset({"a.example", "b.example"})
BEFORE = dt.date(2026, 11, 10)


@pytest.fixture
def s3(fake_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Reports received by the rua function over three days: rows objects one per report."""
    monkeypatch.setenv("REPORTS_BUCKET", "reports")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        for i in range(12):
            domain, day = f"{'ab'[i % 2]}.example", f"2026-11-0{1 + i % 3}"
            post(client, report(org=f"o{i % 3}", report_id=f"r{i}", domain=domain, day=day, successful=i))
        yield client


def post(client: Any, doc: dict[str, Any]) -> None:
    event = {"headers": {"content-type": "application/tlsrpt+gzip"}, "body": base64.b64encode(as_gzip(doc)).decode()}
    response = receiver.handler({**event, "isBase64Encoded": True}, None, client, DOMAINS)
    assert response["statusCode"] in (200, 201), response


def rows(client: Any) -> list[str]:
    listed = client.list_objects_v2(Bucket="reports", Prefix="rows/").get("Contents", [])
    return sorted(o["Key"] for o in listed)


def counts(client: Any) -> dict[str, Any]:
    summary = Summary()
    fill_summary(summary, duckdb_records(["s3://reports/"], Window(None, None), client=client))
    return {"reports": summary.reports, "duplicates": summary.duplicates, **summary.to_dict()}


def test_each_finished_day_becomes_one_file_with_the_same_counts(s3: Any) -> None:
    """Three days of 4 objects each become 3 files; DuckDB counts the same; a second run changes nothing."""
    before = counts(s3)
    assert len(rows(s3)) == 12
    dry = compact_s3("s3://reports/", BEFORE, dry_run=True, client=s3)
    assert (dry.days, dry.merged, len(rows(s3))) == (["2026-11-01", "2026-11-02", "2026-11-03"], 12, 12)
    done = compact_s3("s3://reports/", BEFORE, client=s3)
    assert (done.merged, done.rows) == (12, 12 * 3)  # a totals row and two failure rows per report
    keys = rows(s3)
    assert [k.rsplit("/", 1)[0] for k in keys] == ["rows/day=2026-11-01", "rows/day=2026-11-02", "rows/day=2026-11-03"]
    assert all(k.rsplit("/", 1)[1].startswith("compact-") for k in keys)
    assert counts(s3) == before
    again = compact_s3("s3://reports/", BEFORE, client=s3)
    assert (again.days, rows(s3)) == ([], keys)


def test_only_days_before_the_limit_are_compacted(s3: Any) -> None:
    """Days on or after --before keep their objects: reports of a recent day may still arrive."""
    result = compact_s3("s3://reports/", dt.date(2026, 11, 2), client=s3)
    assert result.days == ["2026-11-01"]
    assert len(rows(s3)) == 1 + 8


def test_late_reports_and_interrupted_runs_are_merged_and_counted_once(s3: Any) -> None:
    """A redelivered report after compaction, and a compact file left beside its inputs, still count once."""
    compact_s3("s3://reports/", BEFORE, client=s3)
    before = counts(s3)
    post(s3, report(org="o0", report_id="r0", domain="a.example", day="2026-11-01", successful=0))  # a redelivery
    (compacted,) = [k for k in rows(s3) if k.startswith("rows/day=2026-11-02/")]
    body = s3.get_object(Bucket="reports", Key=compacted)["Body"].read()
    s3.put_object(Bucket="reports", Key="rows/day=2026-11-02/leftover.jsonl.gz", Body=body)  # as if not yet deleted
    assert counts(s3) == before  # duplicated rows are read once
    compact_s3("s3://reports/", BEFORE, client=s3)
    assert len(rows(s3)) == 3
    assert counts(s3) == before
    lines = gzip.decompress(s3.get_object(Bucket="reports", Key=rows(s3)[0])["Body"].read()).splitlines()
    assert len(lines) == len(set(lines)) == 4 * 3


def test_cli_compact_json_and_local_refusal(s3: Any) -> None:
    """`reports compact s3://… --before DAY --json` reports what it did; a local folder is refused with exit 2."""
    result = CliRunner().invoke(main, ["reports", "compact", "s3://reports/rows/", "--before", "2026-11-02", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"days": ["2026-11-01"], "merged": 4, "rows": 12, "dry_run": False}
    refused = CliRunner().invoke(main, ["reports", "compact", "rows/"])
    assert refused.exit_code == 2
