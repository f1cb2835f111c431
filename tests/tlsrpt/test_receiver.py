"""The HTTPS rua endpoint's Lambda handler against moto S3 (RFC 8460 §5.4)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from reports import as_gzip, as_json, report

from mtasts.tlsrpt import receiver


@pytest.fixture
def s3(fake_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 with the reports bucket, named in the handler's environment."""
    monkeypatch.setenv("REPORTS_BUCKET", "reports")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        yield client


def post(client: Any, body: bytes, content_type: str) -> dict[str, Any]:
    event = {
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"Content-Type": content_type},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return receiver.handler(event, None, client)


def keys(client: Any) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket="reports").get("Contents", [])]


def test_gzip_report_is_stored_by_domain_day_and_id(s3: Any) -> None:
    """A gzip POST is validated and stored raw under <domain>/<yyyy>/<mm>/<dd>/<report-id>.<digest of org and id>."""
    body = as_gzip(report())
    response = post(s3, body, "application/tlsrpt+gzip")
    assert response["statusCode"] == 201
    digest = hashlib.sha256(b"Company-X\n5065427c-23d3-47ca-b6e0-946ea0e8c4be").hexdigest()[:16]
    key = f"company-y.example/2016/04/01/5065427c-23d3-47ca-b6e0-946ea0e8c4be.{digest}.json.gz"
    assert keys(s3) == [key]
    assert s3.get_object(Bucket="reports", Key=key)["Body"].read() == body


def test_redelivery_is_idempotent(s3: Any) -> None:
    """The same report posted twice is stored once; the second answer is still 2xx."""
    assert post(s3, as_json(report()), "application/tlsrpt+json")["statusCode"] == 201
    second = post(s3, as_json(report()), "application/tlsrpt+json")
    assert second["statusCode"] == 200
    assert "already stored" in second["body"]
    assert len(keys(s3)) == 1


def test_equal_ids_from_different_senders_are_both_kept(s3: Any) -> None:
    """Two organizations using one report-id, and ids that differ only in characters unsafe in keys, never collide."""
    for org, report_id in [("Company-X", "1"), ("Other", "1"), ("Company-X", "a/b"), ("Company-X", "a_b")]:
        response = post(s3, as_json(report(org=org, report_id=report_id)), "application/tlsrpt+json")
        assert response["statusCode"] == 201, response["body"]
    assert len(keys(s3)) == 4


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        (as_json(report()), "application/json", 415, "not application/tlsrpt+gzip or +json"),
        (as_json(report()), "application/tlsrpt+gzip", 400, "does not match content type"),
        (b"{broken", "application/tlsrpt+json", 400, "invalid report: invalid JSON"),
        (b"{" + b" " * (3 * 1024 * 1024) + b"}", "application/tlsrpt+json", 413, "body larger than"),
        (b"{" + b" " * (10 * 1024 * 1024) + b"}", "application/tlsrpt+json", 413, "body larger than"),
        (gzip.compress(b"{" + b" " * (11 * 1024 * 1024) + b"}"), "application/tlsrpt+gzip", 400, "decompressed size"),
        (as_gzip(report())[:-20], "application/tlsrpt+gzip", 400, "truncated gzip"),
        (b"", "application/tlsrpt+json", 400, "invalid JSON"),
    ],
    ids=["wrong-type", "mismatch", "invalid-json", "3-mib", "10-mb", "gzip-bomb", "truncated", "empty"],
)
def test_bad_posts_get_4xx_with_a_reason(s3: Any, body: bytes, content_type: str, status: int, reason: str) -> None:
    """Wrong content type, mismatched body, invalid report and oversized body are refused and nothing is stored."""
    response = post(s3, body, content_type)
    assert response["statusCode"] == status
    assert reason in response["body"]
    assert keys(s3) == []


def test_only_post(s3: Any) -> None:
    """Other methods are 405."""
    response = receiver.handler({"requestContext": {"http": {"method": "GET"}}, "headers": {}}, None, s3)
    assert response["statusCode"] == 405


def test_the_shipped_files_alone_run_the_handler(tmp_path: Path) -> None:
    """The files the Lambda archive holds (HANDLER_FILES) import and run the handler with the standard library only.

    The check runs in a fresh interpreter without site-packages, on a copy of exactly those files; boto3, which
    the Lambda runtime provides, is replaced by a stub client that records the object stored.
    """
    from mtasts.resources.reports import HANDLER_FILES, PACKAGE_DIR

    for name in HANDLER_FILES:
        (tmp_path / "mtasts" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACKAGE_DIR / name, tmp_path / "mtasts" / name)
    body = base64.b64encode(as_gzip(report())).decode()
    code = f"""
import json, sys
sys.path.insert(0, {str(tmp_path)!r})
from mtasts.tlsrpt import receiver
class Missing(Exception):
    response = {{"Error": {{"Code": "404"}}}}
class Client:
    class exceptions:
        ClientError = Missing
    def head_object(self, **_):
        raise Missing()
    def put_object(self, Key, **_):
        print(Key, file=sys.stderr)
event = {{"headers": {{"content-type": "application/tlsrpt+gzip"}}, "body": {body!r}, "isBase64Encoded": True}}
print(json.dumps(receiver.handler(event, None, Client())))
third_party = {{m.split(".")[0] for m in sys.modules}} - set(sys.stdlib_module_names) - {{"mtasts", "__main__"}}
assert not third_party, third_party
"""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"REPORTS_BUCKET": "reports"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 201
    assert result.stderr.startswith("company-y.example/2016/04/01/5065427c-23d3-47ca-b6e0-946ea0e8c4be.")
