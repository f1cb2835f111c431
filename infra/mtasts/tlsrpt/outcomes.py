"""What one report file adds to a summary, as plain tuples: decoded, validated and keyed in a worker process.

:func:`outcomes` turns a :class:`~mtasts.tlsrpt.source.Source` into :data:`Outcome` tuples (a report's
:func:`contribution`, a report outside ``--since``/``--until``, or a rejection with its reason), which
:class:`mtasts.tlsrpt.aggregate.Summary` merges in input order. Plain tuples of interned text and integers: cheap
to send from a worker process and the same whichever process made them.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from typing import Any

from .envelope import ReportError, prepare, reports_in
from .report import Report, _host, parse_report, validate_json
from .source import Source

try:  # msgspec's typed decoder (see report.parse_report); without it, the reference decoder alone
    from .typed import document as _document
except ImportError:  # pragma: no cover - msgspec is a dependency of the CLI
    _document = None  # type: ignore[assignment]

__all__ = ["ALL_MX", "Contribution", "Detail", "Outcome", "classify", "contribution", "outcomes"]

#: Key used in by_mx for successful sessions, which RFC 8460 reports do not break down per MX host.
ALL_MX = "(all MX)"


#: One failure detail as counted: (result type, receiving MX or ALL_MX, failed sessions, sending MTA IP, receiving IP,
#: failure reason code); absent text members are "".
Detail = tuple[str, str, int, str, str, str]
#: What one report adds: (organization, report-id, UTC day of its start, per policy: (domain, successful, failed,
#: (Detail, ...), failed sessions no failure detail accounts for, policy type), the report's tolerated deviations).
Contribution = tuple[str, str, str, tuple[tuple[str, int, int, tuple[Detail, ...], int, str], ...], tuple[str, ...]]
#: The kinds of :data:`Outcome`.
REPORT, OLD, NEW, REJECTED = "report", "old", "new", "rejected"
#: One finding in a source: (REPORT, Contribution), (OLD, None) for a report ending before --since, (NEW, None)
#: for one starting after --until, or
#: (REJECTED, (source, reason)). Plain tuples of str and int: cheap to send between processes.
Outcome = tuple[str, object]


def contribution(report: Report) -> Contribution:
    """The counts one report adds, keyed as :class:`Summary` keeps them.

    Names that recur (organization, day, domain, result type, MX) are interned: one object per name, so a chunk
    of outcomes sent from a worker process pickles each name once.
    """
    intern = sys.intern
    policies = []
    for policy in report.policies:
        detailed = 0
        details = []
        for failure in policy.failures:
            mx = intern(failure.receiving_mx) if failure.receiving_mx else ALL_MX
            details.append(
                (
                    intern(failure.result_type),
                    mx,
                    failure.failed_sessions,
                    intern(failure.sending_mta_ip),
                    intern(failure.receiving_ip),
                    intern(failure.failure_reason_code),
                )
            )
            detailed += failure.failed_sessions
        undetailed = policy.failed - detailed if policy.failed > detailed else 0
        policies.append(
            (
                intern(policy.policy_domain),
                policy.successful,
                policy.failed,
                tuple(details),
                undetailed,
                intern(policy.policy_type),
            )
        )
    # not strftime: year 1 must read 0001-01-01
    day = intern(report.start.date().isoformat())
    return intern(report.organization), report.report_id, day, tuple(policies), report.deviations


def classify(report: Report, since: dt.datetime | None, until: dt.datetime | None) -> Outcome:
    """One valid report's outcome: too old for ``since``, too new for ``until``, or its :func:`contribution`."""
    if since is not None and report.end < since:
        return (OLD, None)
    if until is not None and report.start >= until:
        return (NEW, None)
    return (REPORT, contribution(report))


def outcomes(source: Source, limit: int, since: dt.datetime | None, until: dt.datetime | None = None) -> list[Outcome]:
    """Everything in one source: its reports' contributions, reports older than ``since``, and rejections."""
    if source.data is None:
        return [(REJECTED, (source.name, source.problem or "not read"))]
    try:
        payloads = list(reports_in(source.data, limit))
    except ReportError as exc:
        return [(REJECTED, (source.name, str(exc)))]
    found: list[Outcome] = []
    for payload in payloads:
        try:
            if _document is not None:  # the typed decoder's Structs, counted without building a Report
                text = prepare(payload, limit)
                decoded = _document(text)
                if decoded is not None:
                    found.append(classify_document(*decoded, since, until))
                    continue
                report = validate_json(text)  # says why (or, where msgspec is stricter, accepts)
            else:
                report = parse_report(payload, limit)
        except ReportError as exc:
            found.append((REJECTED, (source.name, str(exc))))
            continue
        found.append(classify(report, since, until))
    return found


def classify_document(
    doc: Any, start: dt.datetime, end: dt.datetime, deviations: tuple[str, ...], since: Any, until: Any
) -> Outcome:
    """:func:`classify` of a typed document: the same outcome :func:`contribution` gives for its Report."""
    if since is not None and end < since:
        return (OLD, None)
    if until is not None and start >= until:
        return (NEW, None)
    policies = []
    for entry in doc.policies:
        summary = entry.summary
        failed = summary.failed
        detailed = 0
        details: tuple[Detail, ...] = ()
        if entry.failure_details:
            found = []
            for failure in entry.failure_details:
                count = failure.failed_sessions
                mx = failure.receiving_mx
                sending = failure.sending_mta_ip
                found.append(
                    (
                        failure.result_type,  # msgspec: one str per Literal value
                        _mx_key(mx) if type(mx) is str else ALL_MX,
                        count,
                        _text_key(sending) if type(sending) is str else "",
                        _text_key(failure.receiving_ip),
                        _text_key(failure.failure_reason_code),
                    )
                )
                detailed += count
            details = tuple(found)
        undetailed = failed - detailed if failed > detailed else 0
        policy = entry.policy
        policies.append(
            (_domain_key(policy.policy_domain), summary.successful, failed, details, undetailed, policy.policy_type)
        )
    return (REPORT, (sys.intern(doc.organization), doc.report_id, _day_key(start), tuple(policies), deviations))


@functools.lru_cache(maxsize=4096)
def _text_key(raw: str) -> str:
    return sys.intern(raw)


@functools.lru_cache(maxsize=4096)
def _mx_key(raw: str) -> str:
    """A failure detail's receiving MX as :func:`contribution` keys it (normalized, interned; none: ALL_MX)."""
    mx = _host(raw)
    return sys.intern(mx) if mx else ALL_MX


@functools.lru_cache(maxsize=4096)
def _domain_key(raw: str) -> str:
    return sys.intern(_host(raw.strip()))


@functools.lru_cache(maxsize=4096)
def _day_key(start: dt.datetime) -> str:
    return sys.intern(start.date().isoformat())
