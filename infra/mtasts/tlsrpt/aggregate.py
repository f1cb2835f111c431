"""Aggregate TLS-RPT reports per policy domain: by UTC day, result type, sending organization and receiving MX.

Reports stream through :meth:`Summary.add` (or, as :mod:`.outcomes` tuples, :meth:`Summary.merge`); only counters
are kept, keyed by (domain, day, organization) and (domain, result type, MX), so memory grows with those
combinations, not with the number of reports. The one exception is the set of (organization, report-id) pairs
already counted, which "a report delivered twice is counted once" needs (RFC 8460 §4.4 report-id). Reading files
within bounds is :mod:`.files`; reading many with worker processes, :mod:`.reader`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .envelope import DEFAULT_MAX_BYTES
from .outcomes import ALL_MX, NEW, OLD, REPORT, Contribution, Outcome, classify, outcomes
from .report import Report
from .source import Source

__all__ = ["ALL_MX", "DomainSummary", "FailureKey", "Summary", "add_failure_details", "detail_cells", "success_rate"]


def success_rate(successful: int, failed: int) -> str:
    """The success rate as text for tables and pages: "-" without sessions, never "100.00%" while any failed.

    17 failures beside 27,000 successes round to 100.00%; they read ">99.99%", so a small failure count is never
    hidden behind a clean-looking rate.
    """
    total = successful + failed
    if not total:
        return "-"
    rate = successful / total
    if failed and rate >= 0.99995:
        return ">99.99%"
    return f"{rate:.2%}"


def _pair() -> dict[str, int]:
    return {"successful": 0, "failed": 0}


@dataclass
class DomainSummary:
    """Counters of one policy domain."""

    domain: str
    successful: int = 0
    failed: int = 0
    by_result_type: Counter[str] = field(default_factory=Counter)
    by_organization: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_pair))
    by_mx: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_pair))
    by_day: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_pair))
    by_policy_type: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_pair))
    #: UTC day -> result type -> failed sessions (when did a failure start?)
    failures_by_day: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    #: One row per (policy type, result type, receiving MX, sending MTA IP, receiving IP, reason code), largest first:
    #: where each failing path is, with the organizations that reported it.
    failure_details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of one domain."""
        return {
            "domain": self.domain,
            "successful_sessions": self.successful,
            "failed_sessions": self.failed,
            "by_result_type": dict(sorted(self.by_result_type.items())),
            "by_organization": dict(sorted(self.by_organization.items())),
            "by_mx": dict(sorted(self.by_mx.items())),
            "by_day": dict(sorted(self.by_day.items())),
            "by_policy_type": dict(sorted(self.by_policy_type.items())),
            "failures_by_day": {day: dict(sorted(c.items())) for day, c in sorted(self.failures_by_day.items())},
            "failure_details": self.failure_details,
        }


@dataclass
class Summary:
    """Everything read so far."""

    since: dt.datetime | None = None
    #: Reports whose period starts at or after this instant are not counted (``--until`` day + 1, 00:00 UTC).
    until: dt.datetime | None = None
    reports: int = 0
    duplicates: int = 0
    #: (organization, report-id) read again with different counts: counted once (the first copy read), listed here
    #: so that a forged or corrupted copy sent under a real sender's report-id is seen, not silently dropped.
    conflicts: list[dict[str, str]] = field(default_factory=list)
    skipped_before_since: int = 0
    skipped_after_until: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    #: (domain, UTC day, organization) -> [successful, failed]
    _sessions: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    #: Reports counted per tolerated deviation (report.DEVIATIONS): accepted, but never silently.
    tolerated: Counter[str] = field(default_factory=Counter)
    #: (domain, policy type, result type, receiving MX or ALL_MX, sending MTA IP, receiving IP, reason code,
    #: organization) -> failed sessions
    _failures: Counter[FailureKey] = field(default_factory=Counter)
    #: (domain, UTC day, result type) -> failed sessions
    _daily: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: (domain, policy type) -> [successful, failed]
    _policy_types: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    #: domain -> failed sessions that no failure-details entry accounts for
    _undetailed: Counter[str] = field(default_factory=Counter)
    #: organization -> report-id counted -> fingerprint of what it counted (its day and per-policy counts)
    _seen: dict[str, dict[str, int]] = field(default_factory=dict)
    _domains: dict[str, DomainSummary] | None = None

    def add(self, report: Report) -> None:
        """Count one valid report (once per organization and report-id)."""
        self.merge([classify(report, self.since, self.until)])

    def apply(self, counted: Contribution) -> None:
        """Count one report's :func:`contribution`, unless its organization and report-id were counted already."""
        organization, report_id, day, policies, deviations = counted
        seen = self._seen.get(organization)
        if seen is None:
            seen = self._seen[organization] = {}
        # what the counts depend on (the failure path's text is not: a copy differing only there is no conflict);
        # plain tuples of str and int: the same hash in every process that merges
        fingerprint = hash((day, tuple((p[0], p[1], p[2], tuple(d[:3] for d in p[3]), p[4]) for p in policies)))
        first = seen.get(report_id)
        if first is not None:
            self.duplicates += 1
            if first != fingerprint:
                self.conflicts.append({"organization": organization, "report_id": report_id})
            return
        seen[report_id] = fingerprint
        self.reports += 1
        self._domains = None
        for deviation in deviations:
            self.tolerated[deviation] += 1
        sessions = self._sessions
        failures = self._failures
        daily = self._daily
        for domain, successful, failed, details, undetailed, policy_type in policies:
            key = (domain, day, organization)
            counts = sessions.get(key)
            if counts is None:
                sessions[key] = [successful, failed]
            else:
                counts[0] += successful
                counts[1] += failed
            typed = self._policy_types.get((domain, policy_type))
            if typed is None:
                self._policy_types[domain, policy_type] = [successful, failed]
            else:
                typed[0] += successful
                typed[1] += failed
            for result_type, mx, count, sending_ip, receiving_ip, reason in details:
                failures[domain, policy_type, result_type, mx, sending_ip, receiving_ip, reason, organization] += count
                daily[domain, day, result_type] += count
            if undetailed:
                self._undetailed[domain] += undetailed

    @property
    def domains(self) -> dict[str, DomainSummary]:
        """Per policy domain, its counters by day, result type, organization and MX (built from the keyed counts)."""
        if self._domains is not None:
            return self._domains
        domains: dict[str, DomainSummary] = {}

        def of(name: str) -> DomainSummary:
            d = domains.get(name)
            if d is None:
                d = domains[name] = DomainSummary(name)
            return d

        for (name, day, organization), (successful, failed) in self._sessions.items():
            d = of(name)
            d.successful += successful
            d.failed += failed
            for pair in (d.by_organization[organization], d.by_day[day]):
                pair["successful"] += successful
                pair["failed"] += failed
        for key, count in self._failures.items():
            d = of(key[0])
            d.by_result_type[key[2]] += count
            d.by_mx[key[3]]["failed"] += count
        add_failure_details(of, self._failures.items())
        for (name, day, result_type), count in self._daily.items():
            of(name).failures_by_day[day][result_type] += count
        for (name, policy_type), (successful, failed) in self._policy_types.items():
            pair = of(name).by_policy_type[policy_type]
            pair["successful"] += successful
            pair["failed"] += failed
        for name, count in self._undetailed.items():
            of(name).by_mx[ALL_MX]["failed"] += count
        for d in domains.values():
            d.by_mx[ALL_MX]["successful"] += d.successful
        self._domains = domains
        return domains

    def reject(self, source: str, reason: str) -> None:
        """Record a source that is not a valid report."""
        self.rejected.append({"source": source, "reason": reason})

    def read(self, source: str, data: bytes | None, limit: int = DEFAULT_MAX_BYTES, problem: str = "") -> None:
        """Parse every report in one file's bytes; reject what is invalid, or was not read (``problem`` says why)."""
        self.merge(outcomes(Source(source, data, problem), limit, self.since, self.until))

    def merge(self, results: Iterable[Outcome]) -> None:
        """Count what :func:`outcomes` found in a source, in its order (the same whichever process found it)."""
        for kind, value in results:
            if kind == REPORT:
                self.apply(value)  # type: ignore[arg-type]
            elif kind == OLD:
                self.skipped_before_since += 1
            elif kind == NEW:
                self.skipped_after_until += 1
            else:
                self.reject(*value)  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``mtasts reports summarize --json``."""
        domains = self.domains
        return {
            "reports": self.reports,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "skipped_before_since": self.skipped_before_since,
            "skipped_after_until": self.skipped_after_until,
            "rejected": self.rejected,
            "tolerated": dict(sorted(self.tolerated.items())),
            "domains": [domains[name].to_dict() for name in sorted(domains)],
        }


#: Failed sessions keyed (domain, policy type, result type, receiving MX or ALL_MX, sending MTA IP, receiving IP,
#: reason code, organization).
FailureKey = tuple[str, str, str, str, str, str, str, str]


def add_failure_details(of: Callable[[str], DomainSummary], failures: Iterable[tuple[FailureKey, int]]) -> None:
    """Fill each domain's :attr:`DomainSummary.failure_details` from failed sessions by :data:`FailureKey`.

    Shared by the SQL engines (:func:`mtasts.tlsrpt.sql.fill_summary`): both ways of counting build the same rows.
    """
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    touched: dict[str, DomainSummary] = {}
    for (name, policy_type, result_type, mx, sending_ip, receiving_ip, reason, org), count in failures:
        row = rows.get((name, policy_type, result_type, mx, sending_ip, receiving_ip, reason))
        if row is None:
            d = touched[name] = of(name)
            row = rows[name, policy_type, result_type, mx, sending_ip, receiving_ip, reason] = {
                "policy_type": policy_type,
                "result_type": result_type,
                "receiving_mx": mx,
                "sending_mta_ip": sending_ip,
                "receiving_ip": receiving_ip,
                "failure_reason_code": reason,
                "failed_sessions": 0,
                "organizations": {},
            }
            d.failure_details.append(row)
        row["failed_sessions"] += count
        row["organizations"][org] = row["organizations"].get(org, 0) + count
    for d in touched.values():
        d.failure_details.sort(key=_detail_order)
        for row in d.failure_details:
            row["organizations"] = dict(sorted(row["organizations"].items()))


def detail_cells(row: dict[str, Any]) -> tuple[str, str, str, str, str, str, int, str]:
    """A failure-detail row's cells as the tables and the page show them.

    Result type, policy type, receiving MX, sending MTA IP, receiving IP, reason code ("-" for absent text),
    failed sessions, and who reported it.
    """
    return (
        row["result_type"],
        row["policy_type"],
        row["receiving_mx"],
        row["sending_mta_ip"] or "-",
        row["receiving_ip"] or "-",
        row["failure_reason_code"] or "-",
        row["failed_sessions"],
        ", ".join(f"{org} ({n})" for org, n in row["organizations"].items()),
    )


def _detail_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Failure-detail rows: most failed sessions first, then by their text, so the order never depends on input."""
    return (
        -row["failed_sessions"],
        row["result_type"],
        row["receiving_mx"],
        row["sending_mta_ip"],
        row["receiving_ip"],
        row["failure_reason_code"],
        row["policy_type"],
    )
