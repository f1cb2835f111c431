"""Typed decoding of TLS-RPT reports: msgspec Structs that mirror the RFC 8460 §4.4 schema, decoded in one pass.

This is the fast path of :func:`mtasts.tlsrpt.report.parse_report`, used wherever msgspec is installed (the CLI).
It only ever says "valid, here is the report" or "not for me" (None): every report it does not accept goes
through :func:`~mtasts.tlsrpt.report.validate_json`, the standard-library reference that holds the rules and
writes the messages naming the field. So the rules live in one place, the rua Lambda (no site-packages) keeps
working with the reference alone, and the Structs may be stricter than the reference but never looser — which
``tests/tlsrpt/test_reports.py`` checks by decoding the same fuzzed documents both ways.

What msgspec checks here: required members and their JSON types, counts as non-negative integers up to
:data:`~mtasts.tlsrpt.report.MAX_COUNT` (``true`` and ``1.0`` are no counts), ``policy-type`` and
``result-type`` from their closed lists, lone surrogates (refused while decoding). What it cannot, done here
with the reference's own functions: RFC 3339 date-times (``_datetime_value``), end before start, host-name
normalization, and UTF-8 in members it skips (msgspec does not validate what it skips).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, get_args

import msgspec

from .envelope import ReportError
from .report import (
    MAX_COUNT,
    POLICY_TYPES,
    RESULT_TYPES,
    FailureDetail,
    PolicyResult,
    Report,
    _datetime_value,
    _host,
    detail_deviations,
    use_fast_decoder,
)

__all__ = ["Document", "decode", "document", "failure"]

Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
PolicyType = Literal["tlsa", "sts", "no-policy-found"]
ResultType = Literal[
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
]
# The closed lists are spelled out for the type checker; they must stay the reference's.
assert get_args(PolicyType) == POLICY_TYPES, "typed.PolicyType differs from report.POLICY_TYPES"  # noqa: S101
assert get_args(ResultType) == RESULT_TYPES, "typed.ResultType differs from report.RESULT_TYPES"  # noqa: S101
MxHosts = str | list[str] | None


class DateRange(msgspec.Struct, frozen=True, gc=False):
    """``date-range``: RFC 3339 date-times, checked by the reference's parser after decoding."""

    start_datetime: str = msgspec.field(name="start-datetime")
    end_datetime: str = msgspec.field(name="end-datetime")


class Policy(msgspec.Struct, frozen=True, gc=False):
    """``policies[].policy``; ``mx-host`` (RFC 8460) or the drafts' ``mx-host-pattern``, both optional."""

    policy_type: PolicyType = msgspec.field(name="policy-type")
    policy_domain: str = msgspec.field(name="policy-domain")
    mx_host: MxHosts | msgspec.UnsetType = msgspec.field(name="mx-host", default=msgspec.UNSET)
    mx_host_pattern: MxHosts | msgspec.UnsetType = msgspec.field(name="mx-host-pattern", default=msgspec.UNSET)


class Summary(msgspec.Struct, frozen=True, gc=False):
    """``policies[].summary``."""

    successful: Count = msgspec.field(name="total-successful-session-count")
    failed: Count = msgspec.field(name="total-failure-session-count")


class Detail(msgspec.Struct, frozen=True, gc=False):
    """``policies[].failure-details[]``; text members may be absent (real senders leave some out, see DEVIATIONS)."""

    result_type: ResultType = msgspec.field(name="result-type")
    failed_sessions: Count = msgspec.field(name="failed-session-count")
    receiving_mx: str | msgspec.UnsetType = msgspec.field(name="receiving-mx-hostname", default=msgspec.UNSET)
    # optional text that no count depends on; another JSON type makes the reference decide (it reads it as "")
    receiving_ip: str = msgspec.field(name="receiving-ip", default="")
    sending_mta_ip: str | msgspec.UnsetType = msgspec.field(name="sending-mta-ip", default=msgspec.UNSET)
    failure_reason_code: str = msgspec.field(name="failure-reason-code", default="")


class Entry(msgspec.Struct, frozen=True, gc=False):
    """``policies[]``: a policy and its counts."""

    policy: Policy
    summary: Summary
    failure_details: list[Detail] | None = msgspec.field(name="failure-details", default=None)


class Document(msgspec.Struct, frozen=True, gc=False):
    """The report (RFC 8460 §4.4); unknown members are skipped."""

    organization: str = msgspec.field(name="organization-name")
    date_range: DateRange = msgspec.field(name="date-range")
    contact: str = msgspec.field(name="contact-info")
    report_id: str = msgspec.field(name="report-id")
    policies: list[Entry]


_DECODER = msgspec.json.Decoder(Document)


def _mx_hosts(policy: Policy) -> tuple[str, ...]:
    """The MX patterns as the reference reads them: ``mx-host`` if present (null: none), else ``mx-host-pattern``."""
    mx = policy.mx_host_pattern if policy.mx_host is msgspec.UNSET else policy.mx_host
    if mx is msgspec.UNSET or mx is None:
        return ()
    if type(mx) is str:
        return (_host(mx),)
    return tuple(_host(m) for m in mx)


def document(text: bytes) -> tuple[Document, dt.datetime, dt.datetime, tuple[str, ...]] | None:
    """The valid report in ``text`` as decoded Structs with its UTC start and end and its deviations, else None."""
    if not text.isascii():
        try:
            text.decode("utf-8")  # msgspec checks the strings it decodes, not those in members it skips
        except UnicodeDecodeError:
            return None
    try:
        doc = _DECODER.decode(text)
        dates = doc.date_range
        deviations: set[str] = set()
        start: dt.datetime = _datetime_value(dates.start_datetime, "start-datetime", deviations)
        end: dt.datetime = _datetime_value(dates.end_datetime, "end-datetime", deviations)
    except (msgspec.ValidationError, msgspec.DecodeError, ReportError):
        return None
    if end < start:
        return None
    for entry in doc.policies:
        for detail in entry.failure_details or ():
            detail_deviations(_text(detail.sending_mta_ip), _text(detail.receiving_mx), deviations)
        if entry.policy.policy_type == "sts" and not _mx_hosts(entry.policy):
            deviations.add("sts-policy-without-mx-host")
    return doc, start, end, tuple(sorted(deviations))


def _text(value: str | msgspec.UnsetType) -> str | None:
    return value if isinstance(value, str) else None


def failure(detail: Detail) -> FailureDetail:
    """A decoded failure detail as the reference builds it."""
    mx = detail.receiving_mx
    sending = detail.sending_mta_ip
    return FailureDetail(
        detail.result_type,
        _host(mx) if type(mx) is str else "",
        detail.failed_sessions,
        detail.receiving_ip,
        sending if type(sending) is str else "",
        detail.failure_reason_code,
    )


def decode(text: bytes) -> Report | None:
    """The report in ``text`` if it is valid, else None (the reference then says why)."""
    found = document(text)
    if found is None:
        return None
    doc, start, end, deviations = found
    policies = []
    for entry in doc.policies:
        policy = entry.policy
        details = entry.failure_details
        policies.append(
            PolicyResult(
                policy.policy_type,
                _host(policy.policy_domain.strip()),
                _mx_hosts(policy),
                entry.summary.successful,
                entry.summary.failed,
                tuple([failure(d) for d in details]) if details else (),
            )
        )
    return Report(doc.organization, doc.report_id, start, end, doc.contact, tuple(policies), deviations)


use_fast_decoder(decode)  # parse_report tries this decoder first (mtasts.tlsrpt.report)
