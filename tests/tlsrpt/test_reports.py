"""Reading, validating and aggregating TLS-RPT reports (RFC 8460 §4), and the summarize command."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from parsedmarc import parse_smtp_tls_report_json
from reports import as_gzip, as_json, as_mail, report

from mtasts.cli import main
from mtasts.tlsrpt.aggregate import ALL_MX, Summary
from mtasts.tlsrpt.report import ReportError, parse_report


def test_rfc_example_parses() -> None:
    """The RFC 8460 §4.4 example shape validates, with its counts and failure details."""
    r = parse_report(as_json(report()))
    assert (r.organization, r.report_id) == ("Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be")
    (policy,) = r.policies
    assert (policy.policy_domain, policy.successful, policy.failed) == ("company-y.example", 5326, 303)
    assert [f.result_type for f in policy.failures] == ["certificate-expired", "starttls-not-supported"]


def test_gzip_and_mail_and_draft_field_name() -> None:
    """gzip, a tlsrpt mail and the draft's mx-host-pattern all read the same report."""
    summary = Summary()
    summary.read("a.json.gz", as_gzip(report(report_id="a")))
    summary.read("b.eml", as_mail(report(report_id="b")))
    summary.read("c.json", as_json(report(report_id="c", mx_key="mx-host-pattern")))
    assert summary.rejected == []
    assert summary.reports == 3
    assert summary.domains["company-y.example"].successful == 3 * 5326


def test_agrees_with_parsedmarc() -> None:
    """parsedmarc reads the same organization, id and counts from the same bytes."""
    data = as_json(report())
    theirs = parse_smtp_tls_report_json(data)
    ours = parse_report(data)
    assert theirs["organization_name"] == ours.organization
    assert theirs["report_id"] == ours.report_id
    (policy,) = theirs["policies"]
    assert policy["successful_session_count"] == ours.policies[0].successful
    assert policy["failed_session_count"] == ours.policies[0].failed
    assert sum(d["failed_session_count"] for d in policy["failure_details"]) == 303


def test_aggregation_by_day_result_org_and_mx() -> None:
    """Counts add up per UTC day, result type, sending organization and receiving MX; rates are derivable."""
    summary = Summary()
    summary.read("1", as_json(report(report_id="1", day="2026-11-01")))
    summary.read("2", as_json(report(org="Other", report_id="1", day="2026-11-02", successful=10, failures=[])))
    d = summary.domains["company-y.example"].to_dict()
    assert d["successful_sessions"] == 5336
    assert d["failed_sessions"] == 303
    assert d["by_result_type"] == {"certificate-expired": 100, "starttls-not-supported": 203}
    assert d["by_organization"] == {
        "Company-X": {"successful": 5326, "failed": 303},
        "Other": {"successful": 10, "failed": 0},
    }
    assert d["by_day"] == {
        "2026-11-01": {"successful": 5326, "failed": 303},
        "2026-11-02": {"successful": 10, "failed": 0},
    }
    assert d["by_mx"]["mx1.mail.company-y.example"] == {"successful": 0, "failed": 100}
    assert d["by_mx"][ALL_MX] == {"successful": 5336, "failed": 0}


def test_duplicates_are_counted_once() -> None:
    """The same report-id from the same organization, delivered twice, counts once."""
    summary = Summary()
    summary.read("a", as_json(report()))
    summary.read("b", as_gzip(report()))
    assert (summary.reports, summary.duplicates) == (1, 1)


def bomb() -> bytes:
    return gzip.compress(b"{" + b" " * (20 * 1024 * 1024) + b"}")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bomb(), "decompressed size exceeds 10485760 bytes"),
        (as_gzip(report())[:-20], "truncated gzip"),
        (b"\x1f\x8bnot gzip at all", "invalid gzip data"),
        (b"{not json", "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
        (as_json({k: v for k, v in report().items() if k != "report-id"}), "report-id: missing"),
        (
            as_json(
                {**report(), "date-range": {"start-datetime": "yesterday", "end-datetime": "2016-04-01T23:59:59Z"}}
            ),
            "date-range.start-datetime: 'yesterday' is not an RFC 3339",
        ),
        (
            json.dumps(report(successful="5326")).encode(),
            "policies[0].summary.total-successful-session-count: expected a non-negative integer",
        ),  # type: ignore[arg-type]
        (
            as_json(report(failures=[("certificate-melted", "mx", 1)])),
            "policies[0].failure-details[0].result-type: 'certificate-melted'",
        ),
        (
            as_json(
                {**report(), "policies": [{"policy": {"policy-type": "dane", "policy-domain": "x"}, "summary": {}}]}
            ),
            "policy-type: 'dane'",
        ),
    ],
    ids=[
        "gzip-bomb",
        "truncated",
        "bad-gzip",
        "invalid-json",
        "deep-nesting",
        "missing-field",
        "bad-date",
        "wrong-type",
        "unknown-result",
        "unknown-policy-type",
    ],
)
def test_hostile_and_malformed_reports_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    """Each bad input is rejected naming the field or the limit, without exhausting memory."""
    with pytest.raises(ReportError, match=reason.replace("[", r"\[").replace("(", r"\(")):
        parse_report(data)


def test_rejected_files_are_listed_and_valid_ones_kept(tmp_path: Path) -> None:
    """summarize --json lists rejected sources with reasons and never drops a valid report."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "company-x.example!company-y.example!1459468800!1459555199!1.json.gz").write_bytes(as_gzip(report()))
    (tmp_path / "sub" / "mail.eml").write_bytes(as_mail(report(report_id="2")))
    (tmp_path / "sub" / "notes.txt").write_bytes(b"hello")
    (tmp_path / "big.json").write_bytes(b"{" + b" " * 20_000 + b"}")
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json", "--max-bytes", "10000"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["reports"] == 2
    assert sorted(Path(r["source"]).name for r in doc["rejected"]) == ["big.json", "notes.txt"]
    assert {r["reason"] for r in doc["rejected"]} == {
        "file size 20002 exceeds 10000 bytes",
        "neither a JSON report, gzip data nor a mail",
    }
    (domain,) = doc["domains"]
    assert set(domain) == {
        "domain",
        "successful_sessions",
        "failed_sessions",
        "by_result_type",
        "by_organization",
        "by_mx",
        "by_day",
    }
    assert domain["successful_sessions"] == 2 * 5326


def test_since_filters_older_reports(tmp_path: Path) -> None:
    """--since keeps only reports whose period ends on or after the date."""
    (tmp_path / "old.json").write_bytes(as_json(report(report_id="old", day="2026-01-01")))
    (tmp_path / "new.json").write_bytes(as_json(report(report_id="new", day="2026-06-01")))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json", "--since", "2026-03-01"])
    assert json.loads(result.stdout)["reports"] == 1


def test_table_output(tmp_path: Path) -> None:
    """The terminal output shows the domain, its success rate and failures by result type."""
    (tmp_path / "r.json").write_bytes(as_json(report()))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path)])
    assert result.exit_code == 0
    assert "company-y.example" in result.stdout
    assert "94.62%" in result.stdout
    assert "starttls-not-supported" in result.stdout


def test_usage_errors(tmp_path: Path) -> None:
    """A missing path or a bad --since date is exit 2."""
    assert CliRunner().invoke(main, ["reports", "summarize", str(tmp_path / "nope")]).exit_code == 2
    assert CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--since", "soon"]).exit_code == 2


def test_s3_source(fake_aws_credentials: None) -> None:
    """s3://bucket/prefix reads every object under the prefix (moto)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="reports")
        s3.put_object(
            Bucket="reports", Key="company-y.example/2016/04/01/a.json.gz", Body=as_gzip(report(report_id="a"))
        )
        s3.put_object(Bucket="reports", Key="company-y.example/2016/04/01/b.json", Body=as_json(report(report_id="b")))
        s3.put_object(Bucket="reports", Key="other/x.json", Body=b"{}")
        result = CliRunner().invoke(main, ["reports", "summarize", "s3://reports/company-y.example/", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["reports"] == 2


def test_mail_as_ses_stores_it_with_long_trace_headers() -> None:
    """A raw mail whose Content-Type comes after kilobytes of Received headers (as SES stores it) is still read."""
    trace = b"".join(
        b"Received: from relay%d.example by mx.example; Sat, 28 Nov 2026 00:00:00 +0000\r\n" % i for i in range(60)
    )
    summary = Summary()
    summary.read("mail/abc", b"Return-Path: <tlsrpt@company-x.example>\r\n" + trace + as_mail(report()))
    assert summary.rejected == []
    assert summary.reports == 1
