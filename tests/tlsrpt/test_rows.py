"""Rows at ingestion (moto S3): the rua receiver, the SES mail path and `reports backfill` write the same rows."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from reports import as_gzip, as_json, as_mail, report

from mtasts.cli import main
from mtasts.errors import MtastsError
from mtasts.tlsrpt import receiver
from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.backfill import backfill_s3, checkpoint_key
from mtasts.tlsrpt.duck import duckdb_records
from mtasts.tlsrpt.ingest import mail_handler
from mtasts.tlsrpt.reader import Reader
from mtasts.tlsrpt.rows import COLUMNS, object_rows
from mtasts.tlsrpt.sql import Window, fill_summary

DOMAINS = frozenset({"company-y.example", "example.com"})


@pytest.fixture
def s3(fake_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 with the reports bucket, named in the handler's environment."""
    monkeypatch.setenv("REPORTS_BUCKET", "reports")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        yield client


def post(client: Any, body: bytes, content_type: str = "application/tlsrpt+gzip") -> dict[str, Any]:
    event = {
        "headers": {"content-type": content_type},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return receiver.handler(event, None, client, DOMAINS)


def listing(client: Any, prefix: str = "") -> dict[str, bytes]:
    contents = client.list_objects_v2(Bucket="reports", Prefix=prefix).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket="reports", Key=o["Key"])["Body"].read() for o in contents}


def lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(body).splitlines()]


def detailed_report() -> dict[str, Any]:
    doc = report()
    details = doc["policies"][0]["failure-details"]
    details[0].update({"receiving-ip": "192.0.2.25", "failure-reason-code": "X509_V_ERR_CERT_HAS_EXPIRED"})
    details[1]["sending-mta-ip"] = ""  # Google writes it empty
    return doc


def test_an_accepted_report_gets_one_rows_object_per_report_json(s3: Any) -> None:
    """201 writes the raw object and rows/day=<start day>/<sha256>.jsonl.gz: totals row, then one per failure."""
    doc = detailed_report()
    assert post(s3, as_gzip(doc))["statusCode"] == 201
    rows = listing(s3, "rows/")
    sha = hashlib.sha256(as_json(doc)).hexdigest()
    assert list(rows) == [f"rows/day=2016-04-01/{sha}.jsonl.gz"]
    (raw_key,) = [k for k in listing(s3) if not k.startswith("rows/")]
    got = lines(rows[f"rows/day=2016-04-01/{sha}.jsonl.gz"])
    assert [list(r) for r in got] == [[name for name, _, _ in COLUMNS]] * 3  # every column, in order, no "day"
    totals, expired, starttls = got
    assert totals | {"report_key": raw_key} == totals
    assert (totals["detail_index"], totals["result_type"], totals["successful"], totals["failed"]) == (
        -1,
        None,
        5326,
        303,
    )
    assert (expired["result_type"], expired["receiving_mx"], expired["failed"]) == (
        "certificate-expired",
        "mx1.mail.company-y.example",
        100,
    )
    assert (expired["receiving_ip"], expired["failure_reason_code"]) == ("192.0.2.25", "X509_V_ERR_CERT_HAS_EXPIRED")
    assert (starttls["sending_mta_ip"], starttls["successful"], starttls["failed"]) == ("", 0, 203)
    assert totals["start_time"] == "2016-04-01T00:00:00.000000Z"
    assert totals["organization"] == "Company-X"


def test_a_retried_delivery_yields_one_copy_and_heals_missing_rows(s3: Any) -> None:
    """A redelivery (200) rewrites the same rows bytes; rows lost between the two writes are written then."""
    body = as_gzip(report())
    assert post(s3, body)["statusCode"] == 201
    first = listing(s3, "rows/")
    assert post(s3, body)["statusCode"] == 200
    assert listing(s3, "rows/") == first
    (key,) = first
    s3.delete_object(Bucket="reports", Key=key)  # as if the function died between the raw object and its rows
    assert post(s3, body)["statusCode"] == 200
    assert listing(s3, "rows/") == first


def test_rows_not_written_is_a_503_the_sender_retries(s3: Any) -> None:
    """If the rows cannot be written, the sender is told to retry (503), though the raw object is stored."""

    class NoRows:
        exceptions = s3.exceptions

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def put_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"].startswith("rows/"):
                raise s3.exceptions.ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "PutObject")
            return s3.put_object(**kwargs)

    assert post(NoRows(), as_gzip(report()))["statusCode"] == 503
    assert post(s3, as_gzip(report()))["statusCode"] == 200
    assert len(listing(s3, "rows/")) == 1


def mail_event(key: str, size: int = 100) -> dict[str, Any]:
    return {"Records": [{"s3": {"bucket": {"name": "reports"}, "object": {"key": key, "size": size}}}]}


def test_the_mail_path_writes_the_rows_of_each_report_in_a_mail(s3: Any) -> None:
    """An S3 event for mail/ writes the report's rows, under the same key the HTTPS path would use."""
    doc = report(domain="example.com")
    s3.put_object(Bucket="reports", Key="mail/abc+def", Body=as_mail(doc, "example.com"))
    result = mail_handler(mail_event("mail/abc%2Bdef"), None, s3)
    sha = hashlib.sha256(as_gzip(doc) and gzip.decompress(as_gzip(doc))).hexdigest()
    assert result == {"written": [f"rows/day=2016-04-01/{sha}.jsonl.gz"], "rejected": []}
    (body,) = listing(s3, "rows/").values()
    assert {r["report_key"] for r in lines(body)} == {"mail/abc+def"}
    assert post(s3, as_gzip(doc))["statusCode"] == 201  # the same report by HTTPS: its rows are the same object
    assert len(listing(s3, "rows/")) == 1


def test_the_mail_path_skips_invalid_reports_and_other_keys(s3: Any) -> None:
    """A mail without a valid report is logged and writes nothing; keys outside mail/ are not read."""
    s3.put_object(Bucket="reports", Key="mail/bad", Body=b"Subject: hi\r\n\r\nno report")
    result = mail_handler({"Records": [*mail_event("mail/bad")["Records"], *mail_event("rows/x")["Records"]]}, None, s3)
    assert result["written"] == []
    (line,) = result["rejected"]
    assert line == "mail/bad: the mail has no application/tlsrpt+gzip or application/tlsrpt+json part (RFC 8460 §5.3)"
    big = mail_handler(mail_event("mail/bad", size=10**9), None, s3)
    assert big["rejected"] == ["mail/bad: mail size 1000000000 exceeds 10485760 bytes"]


def test_a_mail_with_two_reports_keys_each_rows_by_its_part() -> None:
    """The n-th report of a mail is report_key mail/<id>#n; a bad part is rejected and the other kept."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = "Report"
    message.set_content("two reports")
    for doc in (report(report_id="a"), report(report_id="b", day="2016-04-02")):
        message.add_attachment(as_gzip(doc), maintype="application", subtype="tlsrpt+gzip", filename="r.json.gz")
    message.add_attachment(b"{}", maintype="application", subtype="tlsrpt+json", filename="bad.json")
    found, rejected = object_rows("mail/m", bytes(message))
    assert [lines(f.body)[0]["report_key"] for f in found] == ["mail/m#1", "mail/m#2"]
    assert [f.key.split("/")[1] for f in found] == ["day=2016-04-01", "day=2016-04-02"]
    assert rejected == ["mail/m#3: organization-name: missing (RFC 8460 §4.4)"]


def test_summarize_over_the_bucket_never_reads_rows_as_reports(s3: Any) -> None:
    """`reports summarize s3://bucket/` (whole, and by date prefixes) counts raw reports only: no rejections."""
    post(s3, as_gzip(report()))
    for extra in ([], ["--since", "2016-04-01"]):
        result = CliRunner().invoke(main, ["reports", "summarize", "s3://reports/", "--json", *extra])
        doc = json.loads(result.stdout)
        assert (doc["reports"], doc["rejected"]) == (1, [])


def seed(client: Any, n: int) -> None:
    """Raw reports stored before rows existed: n HTTPS-layout objects, a mail, a bad object."""
    for i in range(n):
        doc = report(report_id=f"r{i}", domain=f"d{i % 3}.example", day=f"2026-11-{1 + i % 9:02d}", successful=i)
        key = f"d{i % 3}.example/2026/11/{1 + i % 9:02d}/r{i}.{i:064x}.json.gz"
        client.put_object(Bucket="reports", Key=key, Body=as_gzip(doc))
    client.put_object(Bucket="reports", Key="mail/m1", Body=as_mail(report(report_id="mail", day="2026-11-20")))
    client.put_object(Bucket="reports", Key="junk/x", Body=b"nothing")


def test_backfill_is_idempotent_resumable_and_counts_as_the_reference(s3: Any) -> None:
    """Two runs write the same objects, a third resumes after the checkpoint; DuckDB counts as the reference.

    DuckDB reads the rows from S3 (moto), the Python reader the raw objects.
    """
    seed(s3, 25)
    pages: list[int] = []
    first = backfill_s3("s3://reports/", client=s3, advance=pages.append)
    assert (first.objects, first.rows_objects) == (27, 26)
    assert first.rejected == [
        {"source": "s3://reports/junk/x", "reason": "neither a JSON report, gzip data nor a mail"}
    ]
    written = listing(s3, "rows/day=")
    assert len(written) == 26
    checkpoint = json.loads(listing(s3, "rows/_backfill/")[checkpoint_key("s3://reports/", "rows/")])
    assert checkpoint == {"source": "s3://reports/", "after": "mail/m1"}
    again = backfill_s3("s3://reports/", client=s3)  # resumes after the last key: nothing left
    assert (again.objects, again.resumed_after) == (0, "mail/m1")
    restarted = backfill_s3("s3://reports/", client=s3, restart=True)
    assert restarted.rows_objects == 26
    assert listing(s3, "rows/day=") == written  # the same keys, the same bytes
    window = Window(dt.datetime(2026, 11, 2, tzinfo=dt.UTC), None)
    ours = Summary(since=window.since)
    fill_summary(ours, duckdb_records(["s3://reports/"], window, client=s3))
    theirs = Summary(since=window.since)
    with Reader(theirs) as reader:
        reader.read_sources(_sources(s3))
    assert ours.to_dict()["domains"] == theirs.to_dict()["domains"]
    assert ours.reports == theirs.reports == 23  # 26 reports, 3 of them ending before 2026-11-02


def _sources(client: Any) -> Iterator[Any]:
    from mtasts.tlsrpt.s3 import s3_objects

    return s3_objects("s3://reports/", 10 * 1024 * 1024, client=client)  # type: ignore[no-any-return]


def test_backfill_resumes_after_an_interruption(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error on the second page stops the run with one line; the next run starts after the first page."""
    from mtasts.tlsrpt import backfill

    monkeypatch.setattr(backfill, "PAGE", 10)
    seed(s3, 25)
    real = s3.get_object
    calls = {"n": 0}

    class Failing:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def get_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"].startswith("d") and calls["n"] >= 10:
                raise s3.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")
            calls["n"] += 1
            return real(**kwargs)

    stopped = backfill_s3("s3://reports/", client=Failing())
    assert stopped.objects == 27  # unreadable objects are rejections, the run goes on
    assert any("AccessDenied" in r["reason"] for r in stopped.rejected)

    class Broken:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def list_objects_v2(self, **kwargs: Any) -> Any:
            if kwargs.get("StartAfter"):
                raise s3.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")
            return s3.list_objects_v2(**kwargs)

    with pytest.raises(MtastsError, match="backfill stopped \\(run again to resume\\): AccessDenied"):
        backfill_s3("s3://reports/", client=Broken(), restart=True)
    resumed = backfill_s3("s3://reports/", client=s3)
    assert resumed.resumed_after == sorted(k for k in listing(s3) if not k.startswith("rows/"))[9]
    assert resumed.objects == 17


def test_backfill_cli_local_and_its_errors(tmp_path: Any) -> None:
    """`reports backfill DIR --to ROWS` writes one file per day; a folder without --to is one line, exit 2."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.json").write_bytes(as_json(report()))
    (raw / "b.eml").write_bytes(as_mail(report(report_id="b", day="2016-04-02")))
    result = CliRunner().invoke(main, ["reports", "backfill", str(raw), "--to", str(tmp_path / "rows"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"objects": 2, "rows_objects": 2, "resumed_after": None, "rejected": []}
    assert sorted(p.relative_to(tmp_path / "rows").as_posix() for p in (tmp_path / "rows").rglob("*.gz")) == [
        "day=2016-04-01/backfill.jsonl.gz",
        "day=2016-04-02/backfill.jsonl.gz",
    ]
    refused = CliRunner().invoke(main, ["reports", "backfill", str(raw)])
    assert refused.exit_code == 2
    assert "a folder SOURCE needs --to FOLDER" in refused.output
