"""The HTTPS rua endpoint (RFC 8460 §5.4): a Lambda function URL handler that validates and stores reports.

POST ``application/tlsrpt+gzip`` or ``application/tlsrpt+json``; the raw body is
stored in S3 under ``<policy-domain>/<yyyy>/<mm>/<dd>/<report-id>.<digest>.json[.gz]``
(one object per policy domain in the report; the digest is of organization and
report-id), so a redelivery of the same report is a no-op. 2xx on acceptance, 4xx with a one-line reason otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from typing import Any

from .report import DEFAULT_MAX_BYTES, ReportError, parse_report

__all__ = ["MAX_BODY_BYTES", "handler", "store_report"]

#: Largest request body accepted, compressed or not.
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", str(2 * 1024 * 1024)))
CONTENT_TYPES = {"application/tlsrpt+gzip": ".json.gz", "application/tlsrpt+json": ".json"}
_SAFE = re.compile(r"[^A-Za-z0-9._@+=-]")


def _response(status: int, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": message + "\n"}


def store_report(client: Any, bucket: str, body: bytes, content_type: str) -> tuple[int, str]:
    """Validate ``body`` and store it; (HTTP status, message)."""
    suffix = CONTENT_TYPES.get(content_type)
    if suffix is None:
        return 415, f"content type {content_type or 'missing'} is not application/tlsrpt+gzip or +json (RFC 8460 §5.4)"
    if len(body) > MAX_BODY_BYTES:
        return 413, f"body larger than {MAX_BODY_BYTES} bytes"
    is_gzip = body[:2] == b"\x1f\x8b"
    if is_gzip != suffix.endswith(".gz"):
        return 400, f"body does not match content type {content_type}"
    try:
        report = parse_report(body, DEFAULT_MAX_BYTES)
    except ReportError as exc:
        return 400, f"invalid report: {exc}"
    day = report.start.strftime("%Y/%m/%d")
    # A report is the same report when organization and report-id are (RFC 8460 §4.4): both go into the key, as a
    # digest next to the readable id, so two senders' equal ids, or ids equal once made safe, never collide.
    digest = hashlib.sha256(f"{report.organization}\n{report.report_id}".encode()).hexdigest()[:16]
    report_id = f"{_SAFE.sub('_', report.report_id)[:200] or 'no-id'}.{digest}"
    domains = sorted({p.policy_domain for p in report.policies}) or ["no-policy-domain"]
    stored = 0
    for domain in domains:
        key = f"{_SAFE.sub('_', domain)}/{day}/{report_id}{suffix}"
        try:
            client.head_object(Bucket=bucket, Key=key)
            continue  # already stored: redelivery
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        stored += 1
    if stored == 0:
        return 200, f"report {report.report_id} was already stored"
    return 201, f"report {report.report_id} stored for {', '.join(domains)}"


def handler(event: dict[str, Any], _context: Any = None, client: Any = None) -> dict[str, Any]:
    """Lambda function URL entry point."""
    if event.get("requestContext", {}).get("http", {}).get("method", "POST") != "POST":
        return _response(405, "only POST is accepted")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    if client is None:
        import boto3

        client = boto3.client("s3")
    status, message = store_report(client, os.environ["REPORTS_BUCKET"], body, content_type)
    return _response(status, message)
