"""Reports from a real generator: tlsrpt-reporter's collectd → fetcher → reportd pipeline, run in-process.

collectd receives the per-session datagrams an MTA sends; the fetcher reads the finished day back out of its
database; reportd renders the RFC 8460 reports and delivers them through its own hook scripts, as in production:
``sendmail_script`` gets each report mail (§5.3) on stdin, ``http_script`` each gzip'd body for the https rua
(§5.4). Here the hooks write to folders. The kit must read the mails, accept the bodies at its rua endpoint (the
Lambda handler on moto S3) and count exactly the sessions that went in, by either path; parsedmarc must agree.
"""

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
from parsedmarc import parse_smtp_tls_report_json
from reporter_pipeline import run_reporter

from mtasts.cli import main
from mtasts.tlsrpt import receiver

#: Sessions per policy domain: (collectd failure code or None for success, count). 204 = certificate-expired,
#: 201 = starttls-not-supported, 303 = sts-webpki-invalid (tlsrpt_reporter's internal codes).
SESSIONS = {
    "example.com": [(None, 40), (204, 7), (201, 3)],
    "example.org": [(None, 12), (303, 2)],
}
EXPECTED = {
    "example.com": {
        "successful_sessions": 40,
        "failed_sessions": 10,
        "by_result_type": {"certificate-expired": 7, "starttls-not-supported": 3},
    },
    "example.org": {"successful_sessions": 12, "failed_sessions": 2, "by_result_type": {"sts-webpki-invalid": 2}},
}


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Run the generator end to end; the folders its sendmail and http hooks wrote to (mails, posted bodies)."""
    return run_reporter(tmp_path_factory.mktemp("tlsrpt-reporter"), SESSIONS, "Generator Test Org")


def counts(document: dict[str, Any]) -> dict[str, Any]:
    return {
        d["domain"]: {k: d[k] for k in ("successful_sessions", "failed_sessions", "by_result_type")}
        for d in document["domains"]
    }


def test_generated_mails_are_counted_exactly(delivered: tuple[Path, Path]) -> None:
    """summarize reads the generator's report mails and counts every session by domain and result type."""
    mails, _ = delivered
    result = CliRunner().invoke(main, ["reports", "summarize", str(mails), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["rejected"] == []
    assert document["reports"] == len(SESSIONS)
    assert counts(document) == EXPECTED
    (org,) = {name for d in document["domains"] for name in d["by_organization"]}
    assert org == "Generator Test Org"
    assert document["domains"][0]["by_mx"]["mx1.example.com"] == {"successful": 0, "failed": 10}


@pytest.fixture
def bucket(fake_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("REPORTS_BUCKET", "reports")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        yield client


def test_generated_https_posts_are_accepted_stored_and_counted(delivered: tuple[Path, Path], bucket: Any) -> None:
    """The rua endpoint answers 201 to each body the generator posts; the stored reports count as the mails do."""
    _, posts = delivered
    for body in sorted(posts.iterdir()):
        event = {
            "requestContext": {"http": {"method": "POST"}},
            "headers": {"content-type": "application/tlsrpt+gzip"},  # what the default http_script (curl) sends
            "body": base64.b64encode(body.read_bytes()).decode(),
            "isBase64Encoded": True,
        }
        response = receiver.handler(event, None, bucket, domains=set(SESSIONS))  # the stack's domains
        assert response["statusCode"] == 201, response["body"]
    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket="reports")["Contents"]]
    assert sorted(key.split("/")[0] for key in keys if not key.startswith("rows/")) == sorted(SESSIONS)
    assert sum(key.startswith("rows/day=") for key in keys) == len(SESSIONS)  # one rows object per report
    result = CliRunner().invoke(main, ["reports", "summarize", "s3://reports/", "--json"])
    assert result.exit_code == 0, result.output
    assert counts(json.loads(result.stdout)) == EXPECTED


def test_parsedmarc_agrees_on_the_generated_reports(delivered: tuple[Path, Path]) -> None:
    """parsedmarc reads the same domains and counts from the bodies the generator posted."""
    _, posts = delivered
    theirs: dict[str, Any] = {}
    for body in posts.iterdir():
        for policy in parse_smtp_tls_report_json(gzip.decompress(body.read_bytes()))["policies"]:
            by_result: dict[str, int] = {}
            for detail in policy.get("failure_details", []):
                by_result[detail["result_type"]] = (
                    by_result.get(detail["result_type"], 0) + detail["failed_session_count"]
                )
            theirs[policy["policy_domain"]] = {
                "successful_sessions": policy["successful_session_count"],
                "failed_sessions": policy["failed_session_count"],
                "by_result_type": by_result,
            }
    assert theirs == EXPECTED
