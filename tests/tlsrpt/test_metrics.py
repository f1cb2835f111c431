"""Ingestion metrics: the rua handler's Embedded Metric Format lines, exactly, for accepted and refused reports."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from reports import as_gzip, as_mail, report

from mtasts.tlsrpt import ingest, receiver
from mtasts.tlsrpt.metrics import accepted_lines, emit, namespace_for, reason_for
from mtasts.tlsrpt.report import RESULT_TYPES, parse_report

NAMESPACE = "mtasts/kit-prod"
DOMAINS = frozenset({"company-y.example", "example.com"})


@pytest.fixture
def s3(fake_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("REPORTS_BUCKET", "reports")
    monkeypatch.setenv("METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("METRICS_PER_DOMAIN", "0")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        yield client


def post(client: Any, body: bytes, content_type: str = "application/tlsrpt+gzip") -> int:
    event = {
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"Content-Type": content_type},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return int(receiver.handler(event, None, client, DOMAINS)["statusCode"])


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [d for d in documents if "_aws" in d]  # the mail handler also prints its summary


def without_timestamp(line: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(line["_aws"].pop("Timestamp"), int)
    return line


def directive(dimensions: list[str], metrics: list[str]) -> dict[str, Any]:
    return {
        "CloudWatchMetrics": [
            {
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": [{"Name": m, "Unit": "Count"} for m in metrics],
            }
        ]
    }


def test_accepted_report_emits_fleet_and_result_type_metrics(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A new report: one fleet line (reports, sessions) and one FailedSessions line per result type, exactly."""
    assert post(s3, as_gzip(report())) == 201
    assert [without_timestamp(line) for line in emitted(capsys)] == [
        {
            "_aws": directive([], ["Reports", "SuccessfulSessions", "FailedSessions"]),
            "Source": "https",
            "Reports": 1,
            "SuccessfulSessions": 5326,
            "FailedSessions": 303,
        },
        {
            "_aws": directive(["ResultType"], ["FailedSessions"]),
            "ResultType": "certificate-expired",
            "FailedSessions": 100,
        },
        {
            "_aws": directive(["ResultType"], ["FailedSessions"]),
            "ResultType": "starttls-not-supported",
            "FailedSessions": 203,
        },
    ]


def test_per_domain_metrics_are_optional(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """METRICS_PER_DOMAIN=1 adds one PolicyDomain line per policy domain of the report."""
    monkeypatch.setenv("METRICS_PER_DOMAIN", "1")
    assert post(s3, as_gzip(report())) == 201
    lines = [without_timestamp(line) for line in emitted(capsys)]
    assert lines[-1] == {
        "_aws": directive(["PolicyDomain"], ["Reports", "SuccessfulSessions", "FailedSessions"]),
        "PolicyDomain": "company-y.example",
        "Reports": 1,
        "SuccessfulSessions": 5326,
        "FailedSessions": 303,
    }
    assert len(lines) == 4


def test_redelivery_counts_nothing(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The same report again is a 200 and writes no metric: sessions are never counted twice."""
    post(s3, as_gzip(report()))
    capsys.readouterr()
    assert post(s3, as_gzip(report())) == 200
    assert emitted(capsys) == []


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (as_gzip(report(domain="stranger.example")), "application/tlsrpt+gzip", "foreign-domain"),
        (b"{", "application/tlsrpt+json", "invalid-report"),
        (b"{}", "text/plain", "content-type"),
    ],
)
def test_refused_request_counts_its_reason(
    s3: Any, capsys: pytest.CaptureFixture[str], body: bytes, content_type: str, reason: str
) -> None:
    """A refused request writes RejectedReports with its Reason, and nothing else."""
    assert post(s3, body, content_type) >= 400
    assert [without_timestamp(line) for line in emitted(capsys)] == [
        {"_aws": directive(["Reason"], ["RejectedReports"]), "Reason": reason, "RejectedReports": 1}
    ]


def test_without_namespace_nothing_is_written(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No METRICS_NAMESPACE (a stack deployed before metrics): the handler writes no metric line."""
    monkeypatch.delenv("METRICS_NAMESPACE")
    assert post(s3, as_gzip(report())) == 201
    assert emitted(capsys) == []


def test_unknown_result_type_counts_as_other() -> None:
    """Result types outside RFC 8460 §4.3 become 'other': the ResultType dimension stays bounded."""
    parsed = parse_report(json.dumps(report()).encode())
    odd = parsed._replace(
        policies=tuple(
            p._replace(failures=tuple(f._replace(result_type="made-up-type") for f in p.failures))
            for p in parsed.policies
        )
    )
    types = [json.loads(line).get("ResultType") for line in accepted_lines(odd, NAMESPACE, False, 0)]
    assert types == [None, "other"]


def test_dimension_values_are_bounded() -> None:
    """Every dimension has a fixed value set (result types, reasons) except PolicyDomain, which is opt-in."""
    assert len(RESULT_TYPES) + 1 <= 30
    assert {reason_for(s) for s in (400, 403, 405, 413, 415, 500, 503, 418)} == {
        "invalid-report", "foreign-domain", "method", "too-large", "content-type", "internal-error", "unavailable",
        "other",
    }  # fmt: skip
    assert reason_for(201) is None
    assert reason_for(200) is None


def test_emit_never_raises() -> None:
    """A failing metric writes one error line instead of failing the report."""
    out: list[str] = []

    def broken(namespace: str, per_domain: bool, timestamp_ms: int) -> list[str]:
        raise RuntimeError("boom")

    emit(broken, {"METRICS_NAMESPACE": NAMESPACE}, out.append)
    assert out == ['{"metrics_error": "RuntimeError: boom"}']


def test_namespace_is_per_stack() -> None:
    """Two stacks of one project write to two namespaces."""
    assert namespace_for("kit", "prod") != namespace_for("kit", "staging")
    assert namespace_for("kit", "prod") == NAMESPACE


def mail_event(key: str, size: int = 100) -> dict[str, Any]:
    return {"Records": [{"s3": {"bucket": {"name": "reports"}, "object": {"key": key, "size": size}}}]}


def mail_report(s3: Any, monkeypatch: pytest.MonkeyPatch, key: str, domain: str) -> None:
    """Store a mail holding a report for ``domain`` and run the mail path on it, per-domain metrics on."""
    monkeypatch.setenv("METRICS_PER_DOMAIN", "1")
    monkeypatch.setattr(ingest, "_DOMAINS", frozenset({"example.com"}))
    s3.put_object(Bucket="reports", Key=key, Body=as_mail(report(domain=domain), domain))
    ingest.mail_handler(mail_event(key), None, s3)


def test_mail_path_counts_new_reports_once(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mailed report writes the same lines with Source mail; the same event again counts nothing."""
    mail_report(s3, monkeypatch, "mail/one", "example.com")
    lines = emitted(capsys)
    assert [(line.get("Source"), line.get("ResultType"), line.get("PolicyDomain")) for line in lines] == [
        ("mail", None, None),
        (None, "certificate-expired", None),
        (None, "starttls-not-supported", None),
        (None, None, "example.com"),
    ]
    assert lines[0]["SuccessfulSessions"] == 5326
    ingest.mail_handler(mail_event("mail/one"), None, s3)
    assert emitted(capsys) == []


def test_mail_path_never_makes_a_foreign_domain_a_dimension(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone can mail a report naming any domain: it counts in the fleet metrics, never as a PolicyDomain value."""
    mail_report(s3, monkeypatch, "mail/x", "stranger.example")
    lines = emitted(capsys)
    assert lines[0]["Reports"] == 1
    assert all("PolicyDomain" not in line for line in lines)


def test_mail_path_counts_rejections(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A mail without a valid report counts invalid-report; an oversized one too-large."""
    s3.put_object(Bucket="reports", Key="mail/bad", Body=b"Subject: hi\r\n\r\nno report")
    ingest.mail_handler(mail_event("mail/bad"), None, s3)
    ingest.mail_handler(mail_event("mail/bad", size=10**9), None, s3)
    assert [line["Reason"] for line in emitted(capsys)] == ["invalid-report", "too-large"]
