"""What Google and Microsoft really send is kept, counted the same by the rua receiver and by summarize (issue 17)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from real_senders import CORPUS, DOMAIN, as_bytes, microsoft

from mtasts.cli import main
from mtasts.tlsrpt import receiver
from mtasts.tlsrpt import report as report_module
from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.envelope import ReportError
from mtasts.tlsrpt.report import parse_report, validate_json
from mtasts.tlsrpt.rows import ROWS_PREFIX


@pytest.fixture
def s3(fake_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("REPORTS_BUCKET", "reports")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        yield client


def post(client: Any, body: bytes) -> dict[str, Any]:
    event = {
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"Content-Type": "application/tlsrpt+gzip"},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return receiver.handler(event, None, client, frozenset({DOMAIN}))


@pytest.mark.parametrize("lambda_path", [False, True], ids=["with-msgspec", "standard-library-only"])
def test_receiver_and_summarize_agree_on_the_real_senders_corpus(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lambda_path: bool
) -> None:
    """Every report of the corpus is stored by the receiver and counted by summarize, on both decoding paths."""
    if lambda_path:  # the rua Lambda has no msgspec: the reference decoder alone
        monkeypatch.setattr(report_module, "_fast", None)
        monkeypatch.setattr("mtasts.tlsrpt.outcomes._document", None)
    summary = Summary()
    for name, (doc, _deviations) in CORPUS.items():
        body = gzip.compress(as_bytes(doc))
        response = post(s3, body)
        assert response["statusCode"] == 201, (name, response["body"])
        summary.read(name, body)
    assert summary.rejected == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reports")["Contents"]]
    rows_keys = [k for k in keys if k.startswith(ROWS_PREFIX)]
    assert summary.reports == len(CORPUS) == len(keys) - len(rows_keys) == len(rows_keys)
    rows = [
        json.loads(line)
        for key in rows_keys
        for line in gzip.decompress(s3.get_object(Bucket="reports", Key=key)["Body"].read()).splitlines()
    ]
    totals = [r for r in rows if r["detail_index"] == -1]  # the rows module sees the same tolerated reports
    assert (sum(r["successful"] for r in totals), sum(r["failed"] for r in totals)) == (27000 + 48 + 8, 23)
    assert {r["start_time"][:10] for r in totals} == {k.split("=")[1][:10] for k in rows_keys}
    (domain,) = summary.domains.values()
    assert (domain.successful, domain.failed) == (27000 + 48 + 2 * (2 + 2), 17 + 3 + 3)
    assert summary.tolerated == {
        "date-time-without-time-zone": 1,
        "receiving-mx-hostname-empty": 1,
        "receiving-mx-hostname-missing": 2,
        "sending-mta-ip-empty": 1,
        "sending-mta-ip-missing": 2,
        "sts-policy-without-mx-host": 2,
    }


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_real_report_parses_the_same_on_both_paths_with_its_deviations(name: str) -> None:
    """The typed decoder and the reference read each real report as the same Report, naming the same deviations."""
    doc, deviations = CORPUS[name]
    text = as_bytes(doc)
    reference = validate_json(text)
    assert reference.deviations == deviations
    assert parse_report(text) == reference


def test_a_zoneless_date_time_is_read_as_utc() -> None:
    """Microsoft's ``2024-03-26T00:00:00`` is that instant in UTC, and its report lands on that UTC day."""
    parsed = parse_report(as_bytes(microsoft()))
    assert parsed.start.isoformat() == "2024-03-26T00:00:00+00:00"
    assert parsed.end.isoformat() == "2024-03-26T23:59:59+00:00"
    summary = Summary()
    summary.read("ms.json", as_bytes(microsoft()))
    assert list(summary.domains[DOMAIN].by_day) == ["2024-03-26"]


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("date-range", "start-datetime"), "2024-03-26", "date-range.start-datetime: '2024-03-26' is not an RFC 3339"),
        (("date-range", "end-datetime"), "2024-03-25T23:59:59", "date-range.end-datetime: before start-datetime"),
        (("policies", 0, "summary", "total-failure-session-count"), "3", "expected a non-negative integer"),
        (("policies", 0, "failure-details", 0, "failed-session-count"), "3", "expected a non-negative integer"),
    ],
    ids=["date-without-time", "end-before-start", "count-as-text", "detail-count-as-text"],
)
def test_strictness_that_protects_the_counts_stays(path: tuple[str | int, ...], value: object, reason: str) -> None:
    """Tolerance stops where a count could change or a member has the wrong JSON type: those are still rejected."""
    doc = microsoft()
    doc["policies"][0]["failure-details"][0].update({"receiving-ip": "192.0.2.1", "failure-reason-code": "x"})
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    with pytest.raises(ReportError, match=reason.replace("[", r"\[")):
        parse_report(as_bytes(doc))


def test_summarize_json_counts_the_tolerated_deviations(tmp_path: Path) -> None:
    """``--json`` lists each tolerated deviation with the reports that showed it; the terminal says so too."""
    for name, (doc, _deviations) in CORPUS.items():
        (tmp_path / f"{name}.json").write_bytes(as_bytes(doc))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["reports"], out["rejected"]) == (4, [])
    assert out["tolerated"]["date-time-without-time-zone"] == 1
    assert out["tolerated"]["sending-mta-ip-missing"] == 2
    table = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path)], terminal_width=150)
    assert "Tolerated deviations" in table.stdout
    assert "date-time-without-time-zone" in table.stdout


@pytest.mark.parametrize(
    ("member", "value"),
    [("sending-mta-ip", 5), ("receiving-ip", None), ("failure-reason-code", [])],
    ids=["ip-as-number", "null-ip", "reason-as-list"],
)
def test_optional_text_of_another_type_is_read_as_empty_and_counted(member: str, value: object) -> None:
    """An optional text member of another JSON type changes no count: read as "", and named as a deviation."""
    doc = microsoft()
    doc["policies"][0]["failure-details"][0].update({"sending-mta-ip": "192.0.2.7", member: value})
    parsed = parse_report(as_bytes(doc))
    assert f"{member}-not-text" in parsed.deviations
    assert "sending-mta-ip-empty" not in parsed.deviations
    (detail, *_) = parsed.policies[0].failures
    assert {"sending-mta-ip": detail.sending_mta_ip, "receiving-ip": detail.receiving_ip,
            "failure-reason-code": detail.failure_reason_code}[member] == ""  # fmt: skip
    assert parsed == validate_json(as_bytes(doc))
