"""TLS-RPT reports (RFC 8460 §4): read, bound, validate.

Inputs are the JSON report, plain or gzip (``application/tlsrpt+json`` /
``application/tlsrpt+gzip``), or a mail (``multipart/report;
report-type="tlsrpt"``) carrying one. Work is bounded on hostile input: the
decompressed size is capped while decompressing, and nesting too deep for the
schema is refused before it can exhaust the stack. A malformed report is
rejected with a reason naming the field; a valid one is never dropped.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_MAX_BYTES",
    "POLICY_TYPES",
    "RESULT_TYPES",
    "FailureDetail",
    "PolicyResult",
    "Report",
    "ReportError",
    "decode_payload",
    "parse_report",
    "reports_in",
]

#: Largest decompressed report read, by default.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: RFC 8460 §4.4 policy types.
POLICY_TYPES = ("tlsa", "sts", "no-policy-found")
#: RFC 8460 §4.3 result types (negotiation, policy and general failures).
RESULT_TYPES = (
    "starttls-not-supported",
    "certificate-host-mismatch",
    "certificate-expired",
    "certificate-not-trusted",
    "validation-failure",
    "tlsa-invalid",
    "dnssec-invalid",
    "dane-required",
    "sts-policy-fetch-error",
    "sts-policy-invalid",
    "sts-webpki-invalid",
)
_MAX_DEPTH = 32
_HEADER = re.compile(rb"[!-9;-~]+:")
GZIP_MAGIC = b"\x1f\x8b"


class ReportError(ValueError):
    """A report was rejected; the message names the field or the limit."""


@dataclass(frozen=True)
class FailureDetail:
    """One ``failure-details`` entry."""

    result_type: str
    receiving_mx: str
    failed_sessions: int


@dataclass(frozen=True)
class PolicyResult:
    """One ``policies`` entry: a policy domain's counts."""

    policy_type: str
    policy_domain: str
    mx_hosts: tuple[str, ...]
    successful: int
    failed: int
    failures: tuple[FailureDetail, ...]


@dataclass(frozen=True)
class Report:
    """A validated report."""

    organization: str
    report_id: str
    start: dt.datetime
    end: dt.datetime
    contact: str
    policies: tuple[PolicyResult, ...]


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    chunk = data
    while chunk:
        out += inflater.decompress(chunk, limit + 1 - len(out))
        if len(out) > limit:
            raise ReportError(f"decompressed size exceeds {limit} bytes")
        chunk = inflater.unconsumed_tail
    if not inflater.eof:
        raise ReportError("truncated gzip data")
    return bytes(out)


def decode_payload(data: bytes, limit: int = DEFAULT_MAX_BYTES) -> bytes:
    """The JSON bytes of a report given plain or gzip, within ``limit`` bytes."""
    if data[:2] == GZIP_MAGIC:
        try:
            return _gunzip(data, limit)
        except zlib.error as exc:
            raise ReportError(f"invalid gzip data: {exc}") from None
    if len(data) > limit:
        raise ReportError(f"report size exceeds {limit} bytes")
    return data


def _too_deep(text: bytes) -> bool:
    if text.count(b"[") + text.count(b"{") <= _MAX_DEPTH:
        return False  # cannot nest deeper than it has brackets; skips the scan for ordinary reports
    depth = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > _MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _field(obj: dict[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in obj:
        raise ReportError(f"{where}{name}: missing (RFC 8460 §4.4)")
    value = obj[name]
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReportError(f"{where}{name}: expected a non-negative integer, got {value!r}")
    elif not isinstance(value, kind):
        raise ReportError(f"{where}{name}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _datetime(value: object, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ReportError(f"{where}: expected an RFC 3339 date-time string")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ReportError(f"{where}: {value!r} is not an RFC 3339 date-time") from None
    if parsed.tzinfo is None or "T" not in value.upper():
        raise ReportError(f"{where}: {value!r} is not an RFC 3339 date-time with a time zone")
    return parsed.astimezone(dt.UTC)


def _policy(raw: object, index: int) -> PolicyResult:
    where = f"policies[{index}]."
    if not isinstance(raw, dict):
        raise ReportError(f"policies[{index}]: expected an object")
    policy = _field(raw, "policy", dict, where)
    summary = _field(raw, "summary", dict, where)
    kind = _field(policy, "policy-type", str, where + "policy.")
    if kind not in POLICY_TYPES:
        raise ReportError(f"{where}policy.policy-type: {kind!r} is not one of {', '.join(POLICY_TYPES)}")
    domain = _field(policy, "policy-domain", str, where + "policy.").strip().rstrip(".").lower()
    # RFC 8460 names the field "mx-host"; some reporters still write the draft's "mx-host-pattern".
    mx = policy.get("mx-host", policy.get("mx-host-pattern", []))
    if isinstance(mx, str):
        mx = [mx]
    if not isinstance(mx, list) or not all(isinstance(m, str) for m in mx):
        raise ReportError(f"{where}policy.mx-host: expected a list of strings")
    successful = _field(summary, "total-successful-session-count", int, where + "summary.")
    failed = _field(summary, "total-failure-session-count", int, where + "summary.")
    details = raw.get("failure-details", [])
    if not isinstance(details, list):
        raise ReportError(f"{where}failure-details: expected a list")
    failures = []
    for j, detail in enumerate(details):
        at = f"{where}failure-details[{j}]."
        if not isinstance(detail, dict):
            raise ReportError(f"{at[:-1]}: expected an object")
        result = _field(detail, "result-type", str, at)
        if result not in RESULT_TYPES:
            raise ReportError(f"{at}result-type: {result!r} is not a result type of RFC 8460 §4.3")
        count = _field(detail, "failed-session-count", int, at)
        mx_host = detail.get("receiving-mx-hostname", "")
        if not isinstance(mx_host, str):
            raise ReportError(f"{at}receiving-mx-hostname: expected a string")
        failures.append(FailureDetail(result, mx_host.rstrip(".").lower(), count))
    return PolicyResult(kind, domain, tuple(m.rstrip(".").lower() for m in mx), successful, failed, tuple(failures))


def parse_report(data: bytes, limit: int = DEFAULT_MAX_BYTES) -> Report:
    """Validate one report (plain or gzip JSON) against RFC 8460 §4.4; :class:`ReportError` says why not."""
    text = decode_payload(data, limit)
    if _too_deep(text):
        raise ReportError(f"JSON nested deeper than {_MAX_DEPTH} levels; a TLS-RPT report needs 5")
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ReportError("the report is not a JSON object")
    organization = _field(doc, "organization-name", str, "")
    report_id = _field(doc, "report-id", str, "")
    contact = _field(doc, "contact-info", str, "")
    date_range = _field(doc, "date-range", dict, "")
    start = _datetime(date_range.get("start-datetime"), "date-range.start-datetime")
    end = _datetime(date_range.get("end-datetime"), "date-range.end-datetime")
    if end < start:
        raise ReportError("date-range: end-datetime is before start-datetime")
    policies = _field(doc, "policies", list, "")
    return Report(organization, report_id, start, end, contact, tuple(_policy(p, i) for i, p in enumerate(policies)))


def reports_in(data: bytes, limit: int = DEFAULT_MAX_BYTES) -> Iterator[bytes]:
    """The report payloads in a file: itself, or each ``application/tlsrpt+gzip|+json`` part of a mail."""
    if data[:2] == GZIP_MAGIC or data.lstrip()[:1] == b"{":
        yield data
        return
    if not _HEADER.match(data):  # a mail starts with a header field (RFC 5322 §2.2), e.g. Return-Path: from SES
        raise ReportError("neither a JSON report, gzip data nor a mail")
    if len(data) > limit:
        raise ReportError(f"mail size exceeds {limit} bytes")
    message = email.message_from_bytes(data, policy=email.policy.default)
    found = False
    for part in message.walk():
        if part.get_content_type() in ("application/tlsrpt+gzip", "application/tlsrpt+json"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found = True
                yield payload
    if not found:
        raise ReportError("the mail has no application/tlsrpt+gzip or application/tlsrpt+json part (RFC 8460 §5.3)")
