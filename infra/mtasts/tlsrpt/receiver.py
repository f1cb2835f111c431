"""The HTTPS rua endpoint (RFC 8460 §5.4): the Lambda handler that validates and stores reports.

POST ``application/tlsrpt+gzip`` or ``application/tlsrpt+json``. A report is accepted only when every
``policy-domain`` it names is one of the stack's own domains (the list ships with the function, see
:data:`DOMAINS_FILE`), and it is stored raw, once, under::

    <policy-domain>/<yyyy>/<mm>/<dd>/<report-id>.<sha256 of the report JSON>.json[.gz]

- ``<policy-domain>``: the report's policy domain, a host name of the stack in A-labels (the first in sorted
  order when a report names several); never empty, never ``mail`` (SES's prefix, ``mail/``), no ``/``.
- ``<yyyy>/<mm>/<dd>``: the UTC day of ``date-range.start-datetime``, year zero-padded to four digits.
- ``<report-id>``: the report-id with every character outside ``A-Za-z0-9._@+=-`` replaced by ``_``, cut to
  :data:`MAX_ID_CHARS` characters (``no-id`` when empty): only for people reading a listing.
- the SHA-256 digest (64 hex digits) of the decompressed report JSON: an identical redelivery lands on the
  same key and is a no-op (200), while a different body with the same organization and report-id (a forgery
  posted first, or a sender's corrected report) gets its own key and is stored too (201). Nothing that was
  stored is ever overwritten by a different body.

With the raw object, the report's flat rows are written under ``rows/day=YYYY-MM-DD/`` (:mod:`.rows`, the same
key rule: one object per report JSON), after it and on every redelivery, so a delivery interrupted between the
two is completed by the sender's retry.

Every key is at most :data:`MAX_KEY_BYTES` bytes, under S3's limit of 1,024. Answers: 201 stored, 200 already
stored, 4xx with a one-line reason (a report that cannot be parsed, for whatever reason, is a 400, never an
error of the function), 503 when S3 fails (the sender retries).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import sys
import traceback
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .envelope import DEFAULT_MAX_BYTES, GZIP_MAGIC, ReportError, decode_payload
from .metrics import accepted_lines, emit, reason_for, rejected_line
from .report import Report, parse_report
from .rows import store_rows

__all__ = [
    "DOMAINS_FILE",
    "MAX_BODY_BYTES",
    "MAX_KEY_BYTES",
    "handler",
    "load_domains",
    "report_key",
    "store_report",
]

#: Largest request body accepted, compressed or not (``MAX_BODY_BYTES`` in the function's environment).
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", str(2 * 1024 * 1024)))
CONTENT_TYPES = {"application/tlsrpt+gzip": ".json.gz", "application/tlsrpt+json": ".json"}
#: The stack's policy domains, one JSON list of A-label names, shipped in the function's archive beside this
#: module (a Lambda environment holds at most 4 KB, too little for thousands of domains).
DOMAINS_FILE = Path(__file__).with_name("policy_domains.json")
#: Where SES stores each received mail, raw (:mod:`mtasts.resources.mail`; read by :mod:`.ingest` and
#: ``mtasts reports summarize``); no policy domain may take it.
MAIL_PREFIX = "mail/"
#: Longest readable report-id part of a key.
MAX_ID_CHARS = 200
#: RFC 1035 §2.3.4: a name is at most 253 characters in text form.
MAX_DOMAIN_CHARS = 253
#: Longest key: domain, "/yyyy/mm/dd/", id, ".", 64 hex digits, ".json.gz" (S3 allows 1,024 bytes, all ASCII here).
MAX_KEY_BYTES = MAX_DOMAIN_CHARS + len("/0000/00/00/") + MAX_ID_CHARS + 1 + 64 + len(".json.gz")
_SAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)


def _response(status: int, message: str) -> dict[str, Any]:
    # ascii(): a lone surrogate or a control character in an echoed value can neither break the response
    # encoding nor the one-line contract.
    line = message.encode("ascii", "backslashreplace").decode("ascii").replace("\n", " ").replace("\r", " ")
    return {"statusCode": status, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": line + "\n"}


def _quote(value: str, limit: int = 80) -> str:
    """``value`` for a message: repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_domains(path: Path = DOMAINS_FILE) -> frozenset[str]:
    """The stack's policy domains from the shipped list; an empty set when it is missing or unreadable."""
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(n for n in names if isinstance(n, str)) if isinstance(names, list) else frozenset()


def policy_domain_name(value: str) -> str | None:
    """``value`` as a lower-case A-label host name of two or more labels, or None if it is not one.

    U-labels are converted with the standard library's IDNA codec; RFC 8460 §5.1 asks senders for A-labels.
    """
    name = value.strip().rstrip(".").lower()
    if len(name) > MAX_DOMAIN_CHARS:  # an A-label is never shorter than its U-label: no conversion of megabytes
        return None
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except (UnicodeError, ValueError):
            return None
    labels = name.split(".")
    if len(name) > MAX_DOMAIN_CHARS or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return name


def report_key(domain: str, report: Report, digest: str, suffix: str) -> str:
    """The object key of an accepted report (layout in the module docstring)."""
    day = report.start
    readable = _SAFE.sub("_", report.report_id)[:MAX_ID_CHARS] or "no-id"
    return f"{domain}/{day.year:04d}/{day.month:02d}/{day.day:02d}/{readable}.{digest}{suffix}"


def _parse(body: bytes) -> tuple[Report, str]:
    """The validated report and the SHA-256 of its JSON; any failure raises, and the caller answers 400."""
    text = decode_payload(body, DEFAULT_MAX_BYTES)
    if text[:2] == GZIP_MAGIC:
        raise ReportError("the decompressed body is gzip data again, not a JSON report")
    return parse_report(text, DEFAULT_MAX_BYTES), hashlib.sha256(text).hexdigest()


def store_report(
    client: Any,
    bucket: str,
    body: bytes,
    content_type: str,
    domains: Collection[str],
    accepted: list[Report] | None = None,
) -> tuple[int, str]:
    """Validate ``body``, check its policy domains against ``domains`` and store it once; (HTTP status, message).

    A newly stored report is appended to ``accepted`` (for its metrics; a redelivery is not).
    """
    suffix = CONTENT_TYPES.get(content_type)
    if suffix is None:
        return 415, f"content type {content_type or 'missing'} is not application/tlsrpt+gzip or +json (RFC 8460 §5.4)"
    if len(body) > MAX_BODY_BYTES:
        return 413, f"body larger than {MAX_BODY_BYTES} bytes"
    is_gzip = body[:2] == GZIP_MAGIC
    if is_gzip != suffix.endswith(".gz"):
        return 400, f"body does not match content type {content_type}"
    try:
        report, digest = _parse(body)
    except Exception as exc:  # any parse failure is the sender's: a 4xx with the reason, never a 500
        return 400, f"invalid report: {exc}" if str(exc) else f"invalid report: {type(exc).__name__}"
    if not domains:
        return 503, "this endpoint has no list of policy domains; nothing is accepted until it is redeployed"
    if not report.policies:
        return 400, "the report names no policy domain (RFC 8460 §4.4: policies)"
    names: set[str] = set()
    for index, policy in enumerate(report.policies):
        name = policy_domain_name(policy.policy_domain)
        if name is None:
            field = f"policies[{index}].policy.policy-domain"
            return 400, f"{field}: {_quote(policy.policy_domain)} is not a host name"
        if name not in domains:
            return 403, f"policy domain {name!r} is not one of this endpoint's domains; the report was not stored"
        names.add(name)
    domain = min(names)  # two labels or more: never "mail", so never under MAIL_PREFIX
    key = report_key(domain, report, digest, suffix)
    quoted = _quote(report.report_id)
    stored = False
    try:
        client.head_object(Bucket=bucket, Key=key)
        stored = True
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            print(f"error: head_object {key}: {exc}", file=sys.stderr)
            return 503, "the report could not be stored now; try again later"
    try:
        if not stored:
            client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        store_rows(client, bucket, report, key, digest)  # after the raw object, and again on every redelivery
    except client.exceptions.ClientError as exc:
        print(f"error: put_object {key}: {exc}", file=sys.stderr)
        return 503, "the report could not be stored now; try again later"
    if stored:
        return 200, f"report {quoted} was already stored"
    if accepted is not None:
        accepted.append(report)
    return 201, f"report {quoted} stored for {domain}"


_DOMAINS: frozenset[str] | None = None


def handler(
    event: dict[str, Any], _context: Any = None, client: Any = None, domains: Collection[str] | None = None
) -> dict[str, Any]:
    """API Gateway (payload format 2.0) entry point; never raises: an unexpected fault is a one-line 500.

    Each answer is counted in the function's log as CloudWatch metrics (:mod:`.metrics`): the sessions of a newly
    stored report, or the reason a request was refused.
    """
    accepted: list[Report] = []
    response = _handle(event, client, domains, accepted)
    reason = reason_for(int(response["statusCode"]))

    def lines(namespace: str, per_domain: bool, timestamp_ms: int) -> list[str]:
        if reason is not None:
            return [rejected_line(reason, namespace, timestamp_ms)]
        return [line for r in accepted for line in accepted_lines(r, namespace, per_domain, timestamp_ms)]

    emit(lines)
    return response


def _handle(
    event: dict[str, Any], client: Any, domains: Collection[str] | None, accepted: list[Report]
) -> dict[str, Any]:
    global _DOMAINS
    try:
        if event.get("requestContext", {}).get("http", {}).get("method", "POST") != "POST":
            return _response(405, "only POST is accepted")
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        raw = event.get("body") or ""
        try:
            body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode("utf-8")
        except (binascii.Error, ValueError, UnicodeError) as exc:
            return _response(400, f"the request body cannot be decoded: {exc}")
        if domains is None:
            if _DOMAINS is None:
                _DOMAINS = load_domains(Path(os.environ.get("POLICY_DOMAINS_FILE", str(DOMAINS_FILE))))
            domains = _DOMAINS
        if client is None:
            import boto3

            client = boto3.client("s3")
        status, message = store_report(client, os.environ["REPORTS_BUCKET"], body, content_type, domains, accepted)
        return _response(status, message)
    except Exception:
        traceback.print_exc()  # to the function's log; the sender sees one line
        return _response(500, "internal error; the report was not stored")
