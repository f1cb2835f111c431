"""TLS-RPT reports (RFC 8460 §4.4): the schema, checked field by field, and the one entry point to read one.

:func:`parse_report` takes a report's bytes (unwrapped, decompressed and bounded by :mod:`.envelope`) and
returns a :class:`Report`, or raises :class:`~mtasts.tlsrpt.envelope.ReportError` with a reason naming the
field; a malformed report is rejected, a valid one is never dropped. Standard library only: the rua Lambda ships
it (:data:`mtasts.resources.reports.HANDLER_FILES`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .envelope import DEFAULT_MAX_BYTES, MAX_DEPTH, ReportError, prepare

__all__ = [
    "DEVIATIONS",
    "MAX_COUNT",
    "POLICY_TYPES",
    "RESULT_TYPES",
    "FailureDetail",
    "PolicyResult",
    "Report",
    "parse_report",
    "use_fast_decoder",
    "validate_json",
]

#: RFC 8460 §4.4 policy types.
POLICY_TYPES: tuple[str, ...] = ("tlsa", "sts", "no-policy-found")
#: RFC 8460 §4.3 result types (negotiation, policy and general failures).
RESULT_TYPES: tuple[str, ...] = (
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
#: Largest session count accepted: the largest integer every JSON reader keeps exactly (RFC 8259 §6), so the
#: page's JavaScript and any consumer of ``--json`` see the same number. Larger counts are hostile, not traffic.
MAX_COUNT = 2**53 - 1
#: RFC 3339 §5.6 date-time: full-date "T" full-time, with a time zone ("Z" or an offset). "T"/"Z" may be lower case.
#: The zone is optional here only because Microsoft leaves it out: such a time is read as UTC and counted as the
#: deviation ``date-time-without-time-zone`` (see :data:`DEVIATIONS`).
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:(?P<second>\d{2})(?:\.\d+)?(?P<zone>[Zz]|[+-]\d{2}:\d{2})?", re.ASCII
)
#: What real senders write that RFC 8460 §4.4 does not allow, yet cannot change a count: such a report is counted,
#: and each deviation it shows is counted too (``summarize --json``: ``tolerated``), so nothing is silent. Every
#: other rule stays strict, because it protects the counts. docs/reports.md names the sender behind each one.
DEVIATIONS: dict[str, str] = {
    "date-time-without-time-zone": "a date-range date-time without a time zone, read as UTC",
    "sts-policy-without-mx-host": "an sts policy without mx-host",
    "sending-mta-ip-missing": "a failure detail without sending-mta-ip",
    "sending-mta-ip-empty": "a failure detail with an empty sending-mta-ip",
    "receiving-mx-hostname-missing": "a failure detail without receiving-mx-hostname",
    "receiving-mx-hostname-empty": "a failure detail with an empty receiving-mx-hostname",
}
_MISSING: Any = object()


class FailureDetail(NamedTuple):
    """One ``failure-details`` entry (RFC 8460 §4.4).

    The optional text members (``receiving-ip``, ``sending-mta-ip``, ``failure-reason-code``) are kept as written,
    "" when absent: they never change a count, so a value of another JSON type is read as "" rather than
    rejecting the report (the rows of :mod:`mtasts.tlsrpt.rows` carry them).
    """

    result_type: str
    receiving_mx: str
    failed_sessions: int
    receiving_ip: str = ""
    sending_mta_ip: str = ""
    failure_reason_code: str = ""


class PolicyResult(NamedTuple):
    """One ``policies`` entry: a policy domain's counts."""

    policy_type: str
    policy_domain: str
    mx_hosts: tuple[str, ...]
    successful: int
    failed: int
    failures: tuple[FailureDetail, ...]


class Report(NamedTuple):
    """A validated report (tuples, not dataclasses: thousands are built per second, see bench/bench_reports.py)."""

    organization: str
    report_id: str
    start: dt.datetime
    end: dt.datetime
    contact: str
    policies: tuple[PolicyResult, ...]
    deviations: tuple[str, ...] = ()
    """Keys of :data:`DEVIATIONS` this report shows, sorted, each once."""


def _missing(where: str, name: str) -> ReportError:
    return ReportError(f"{where}{name}: missing (RFC 8460 §4.4)")


def _object(obj: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = obj.get(name, _MISSING)
    if type(value) is dict:
        return value
    if value is _MISSING:
        raise _missing(where, name)
    raise ReportError(f"{where}{name}: expected an object, got {_kind(value)}")


def _string(obj: dict[str, Any], name: str, where: str) -> str:
    value = obj.get(name, _MISSING)
    if type(value) is str:
        return _unicode(value, where + name)
    if value is _MISSING:
        raise _missing(where, name)
    raise ReportError(f"{where}{name}: expected a string, got {_kind(value)}")


def _count(obj: dict[str, Any], name: str, where: str) -> int:
    value = obj.get(name, _MISSING)
    if type(value) is int and 0 <= value <= MAX_COUNT:  # `type is`, not isinstance: JSON true is no count
        return value
    if value is _MISSING:
        raise _missing(where, name)
    if type(value) is _Digits or (type(value) is int and value > MAX_COUNT):
        raise ReportError(f"{where}{name}: {value!r:.40} exceeds {MAX_COUNT} (2**53 - 1, RFC 8259 §6)")
    raise ReportError(f"{where}{name}: expected a non-negative integer, got {value!r:.40}")


class _Digits(str):
    """A JSON integer too long to convert (Python refuses past 4,300 digits): kept as its text, never a count."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str.__str__(self)


def _json_int(text: str) -> int | _Digits:
    """``int(text)``, except for integers longer than any count: those stay text, so no conversion limit is hit."""
    return int(text) if len(text) <= 20 else _Digits(text)


def _json_constant(name: str) -> float:
    raise ReportError(f"invalid JSON: {name} is not a JSON value (RFC 8259 §6)")


def _unicode(value: str, where: str) -> str:
    """``value`` if it is Unicode text: a lone surrogate (an unpaired JSON escape) cannot be written (RFC 8259 §8.2)."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ReportError(
            f"{where}: lone surrogate {value[exc.start]!r} at character {exc.start} is not Unicode text (RFC 8259 §8.2)"
        ) from None
    return value


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", _Digits: "int"}.get(
        type(value), type(value).__name__
    )


_NOT_RFC3339 = "is not an RFC 3339 date-time"
_OUT_OF_RANGE = "is outside the years 0001-9999 once converted to UTC"


@functools.lru_cache(maxsize=4096)
def _rfc3339(value: str) -> tuple[dt.datetime, bool] | str:
    """``value`` as an aware UTC datetime and whether it had a time zone, else why not (cached: days recur).

    An RFC 3339 §5.6 date-time has a zone; one without (Microsoft's reports) is read as UTC, the zone of every
    date in a TLS-RPT report (RFC 8460 §4.4: daily reports in UTC).
    """
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return _NOT_RFC3339
    # RFC 3339 allows a leap second (":60"); Python's datetime does not: count it as the second before.
    text = value[:17] + "59" + value[19:] if match["second"] == "60" else value
    zoned = match["zone"] is not None
    try:
        parsed = dt.datetime.fromisoformat(text.upper())
    except ValueError:
        return _NOT_RFC3339
    if not zoned:
        return parsed.replace(tzinfo=dt.UTC), False
    try:
        # 9999-12-31T23:59:59-23:59 and 0001-01-01T00:00:00+01:00 are RFC 3339 but no UTC date a datetime holds
        return parsed.astimezone(dt.UTC), True
    except OverflowError:
        return _OUT_OF_RANGE


def _datetime_value(value: object, name: str, deviations: set[str] | None = None) -> dt.datetime:
    """A ``date-range`` member as an aware UTC datetime, or :class:`ReportError` naming it.

    A date-time without a time zone adds ``date-time-without-time-zone`` to ``deviations``.
    """
    if type(value) is not str:
        parsed: tuple[dt.datetime, bool] | str = _NOT_RFC3339
    elif len(value) <= 64:
        parsed = _rfc3339(value)
    else:  # long fractions are valid, but not cached: hostile input could fill the cache with megabytes
        parsed = _rfc3339.__wrapped__(value)
    if isinstance(parsed, str):
        raise ReportError(f"date-range.{name}: {value!r:.60} {parsed}")
    moment, zoned = parsed
    if not zoned and deviations is not None:
        deviations.add("date-time-without-time-zone")
    return moment


def _datetime(date_range: dict[str, Any], name: str, deviations: set[str]) -> dt.datetime:
    value = date_range.get(name, _MISSING)
    if value is _MISSING:
        raise _missing("date-range.", name)
    return _datetime_value(value, name, deviations)


def detail_deviations(sending_ip: str | None, receiving_mx: str | None, deviations: set[str]) -> None:
    """Add the deviations of one failure detail (``None``: the member is absent) to ``deviations``."""
    if sending_ip is None:
        deviations.add("sending-mta-ip-missing")
    elif not sending_ip:
        deviations.add("sending-mta-ip-empty")
    if receiving_mx is None:
        deviations.add("receiving-mx-hostname-missing")
    elif not receiving_mx:
        deviations.add("receiving-mx-hostname-empty")


def _host(name: str) -> str:
    return name.rstrip(".").lower()


def _text(value: object) -> str:
    """An optional text member that no count depends on: its Unicode text, else "".

    "" also for an absent member, another JSON type, or a lone surrogate (not writable again, RFC 8259 §8.2).
    """
    if type(value) is not str:
        return ""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return value


def _policy(raw: object, index: int, deviations: set[str]) -> PolicyResult:
    where = f"policies[{index}]."
    if type(raw) is not dict:
        raise ReportError(f"policies[{index}]: expected an object, got {_kind(raw)}")
    policy = _object(raw, "policy", where)
    summary = _object(raw, "summary", where)
    kind = _string(policy, "policy-type", where + "policy.")
    if kind not in POLICY_TYPES:
        raise ReportError(f"{where}policy.policy-type: {kind!r:.40} is not one of {', '.join(POLICY_TYPES)}")
    domain = _host(_string(policy, "policy-domain", where + "policy.").strip())
    # RFC 8460 §4.4 names the field "mx-host" (its Appendix B example gives a string, the schema a list); some
    # reporters still write the drafts' "mx-host-pattern". Both are optional: no-policy-found has none.
    mx = policy.get("mx-host", policy.get("mx-host-pattern"))
    if mx is None:
        mx_hosts: tuple[str, ...] = ()
    elif type(mx) is str:
        mx_hosts = (_host(_unicode(mx, where + "policy.mx-host")),)
    elif type(mx) is list and all(type(m) is str for m in mx):
        mx_hosts = tuple(_host(_unicode(m, f"{where}policy.mx-host[{k}]")) for k, m in enumerate(mx))
    else:
        raise ReportError(f"{where}policy.mx-host: expected a list of strings, got {_kind(mx)}")
    successful = _count(summary, "total-successful-session-count", where + "summary.")
    failed = _count(summary, "total-failure-session-count", where + "summary.")
    details = raw.get("failure-details")
    if details is None:
        details = []
    elif type(details) is not list:
        raise ReportError(f"{where}failure-details: expected a list, got {_kind(details)}")
    failures = []
    for j, detail in enumerate(details):
        if type(detail) is not dict:
            raise ReportError(f"{where}failure-details[{j}]: expected an object, got {_kind(detail)}")
        result = detail.get("result-type", _MISSING)
        if result not in RESULT_TYPES:
            at = f"{where}failure-details[{j}]."
            if result is _MISSING:
                raise _missing(at, "result-type")
            raise ReportError(f"{at}result-type: {result!r:.40} is not a result type of RFC 8460 §4.3")
        count = detail.get("failed-session-count", _MISSING)
        if type(count) is not int or not 0 <= count <= MAX_COUNT:
            _count(detail, "failed-session-count", f"{where}failure-details[{j}].")
        at = f"{where}failure-details[{j}]."
        mx_host = detail.get("receiving-mx-hostname", _MISSING)
        if mx_host is not _MISSING:
            if type(mx_host) is not str:
                raise ReportError(f"{at}receiving-mx-hostname: expected a string, got {_kind(mx_host)}")
            _unicode(mx_host, at + "receiving-mx-hostname")
        sending = detail.get("sending-mta-ip", _MISSING)
        for name in ("receiving-ip", "sending-mta-ip", "failure-reason-code"):
            value = detail.get(name, "")
            if value != "" and not _text(value):  # another JSON type, or not writable text: read as ""
                deviations.add(f"{name}-not-text")
        detail_deviations(
            None if sending is _MISSING else (sending if type(sending) is str else "not text"),
            None if mx_host is _MISSING else mx_host,
            deviations,
        )
        failures.append(
            FailureDetail(
                result,
                _host(mx_host if type(mx_host) is str else ""),
                count,
                _text(detail.get("receiving-ip")),
                _text(sending),
                _text(detail.get("failure-reason-code")),
            )
        )
    if kind == "sts" and not mx_hosts:
        deviations.add("sts-policy-without-mx-host")
    return PolicyResult(kind, domain, mx_hosts, successful, failed, tuple(failures))


def parse_report(data: bytes, limit: int = DEFAULT_MAX_BYTES) -> Report:
    """Validate one report (plain or gzip JSON) against RFC 8460 §4.4; :class:`ReportError` says why not.

    With msgspec installed (the CLI), a valid report is decoded and typed in one pass by :mod:`.typed`, whose
    Structs mirror the schema; anything it does not accept goes through :func:`validate_json`, the reference
    that holds every rule and writes every message. The rua Lambda has no site-packages, so it runs the
    reference alone: same rules, same messages (tests/tlsrpt/test_reports.py checks both paths agree).
    """
    text = prepare(data, limit)
    if _fast is not None:
        report = _fast(text)
        if report is not None:
            return report
    return validate_json(text)


def validate_json(text: bytes) -> Report:
    """The reference decoder: Python's json module and a walk over the document, checking RFC 8460 §4.4.

    Standard library only, so the rua Lambda can run it; ``text`` is what :func:`parse_report` prepared
    (decompressed, bounded, nesting checked, byte order mark removed).
    """
    try:
        doc = json.loads(text.decode("utf-8"), parse_int=_json_int, parse_constant=_json_constant)
    except UnicodeDecodeError as exc:
        raise ReportError(f"invalid JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"invalid JSON: {exc}") from None
    except RecursionError:  # not reached after _too_deep, kept so no input can raise past the parser
        raise ReportError(f"JSON nested deeper than {MAX_DEPTH} levels; a TLS-RPT report needs 5") from None
    if type(doc) is not dict:
        raise ReportError(f"the report is not a JSON object but {_kind(doc)} (RFC 8460 §4.4)")
    organization = _string(doc, "organization-name", "")
    report_id = _string(doc, "report-id", "")
    contact = _string(doc, "contact-info", "")
    date_range = _object(doc, "date-range", "")
    deviations: set[str] = set()
    start = _datetime(date_range, "start-datetime", deviations)
    end = _datetime(date_range, "end-datetime", deviations)
    if end < start:
        raise ReportError("date-range.end-datetime: before start-datetime")
    policies = doc.get("policies", _MISSING)
    if type(policies) is not list:
        if policies is _MISSING:
            raise _missing("", "policies")
        raise ReportError(f"policies: expected a list, got {_kind(policies)}")
    results = tuple(_policy(p, i, deviations) for i, p in enumerate(policies))
    return Report(organization, report_id, start, end, contact, results, tuple(sorted(deviations)))


#: The typed fast path of :func:`parse_report`, when :mod:`.typed` (msgspec) is installed; it installs itself
#: with :func:`use_fast_decoder` when imported, which the package's ``__init__`` does wherever msgspec is there
#: (the CLI). The rua Lambda ships this module without it, so there it stays None: the reference alone.
_fast: Callable[[bytes], Report | None] | None = None


def use_fast_decoder(decode: Callable[[bytes], Report | None] | None) -> None:
    """Make ``decode`` the first try of :func:`parse_report` (None: the reference alone).

    ``decode`` returns the :class:`Report` of a valid report and None for anything it does not accept, which the
    reference then reads, so the reference still holds every rule and writes every message.
    """
    global _fast  # one module-wide switch, set once at import by mtasts.tlsrpt.typed
    _fast = decode
