"""The evidence behind a verdict: TLS-RPT reports over a window, and the live state as a sender sees it.

Both parts reuse the kit's own readers, each through one small adapter here, so that nothing is parsed twice:

* reports: :mod:`mtasts.tlsrpt` (:func:`~mtasts.tlsrpt.files.iter_sources`, :class:`~mtasts.tlsrpt.aggregate.
  Summary`); :class:`WindowSummary` only adds the window's upper bound (``--as-of``) and one finer counter (day,
  organization, result type, MX) that the verdicts and the page need;
* live: :func:`mtasts.checker.checks.check_domains` with the same :class:`~mtasts.checker.net.Network` seams as
  ``mtasts check``; :func:`live_from_checks` reads its results.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..alerts.settings import DEFAULTS as ALERT_DEFAULTS
from ..alerts.settings import AlertSettings
from ..checker.checks import Check, DomainReport, check_domains, uncovered_mx
from ..checker.net import Network
from ..plan import DomainPlan
from ..tlsrpt.aggregate import ALL_MX, Summary
from ..tlsrpt.athena import AthenaSettings
from ..tlsrpt.engines import sql_summary
from ..tlsrpt.envelope import DEFAULT_MAX_BYTES
from ..tlsrpt.files import iter_sources
from ..tlsrpt.outcomes import Contribution
from .rules import ENFORCE_FAILURES, POLICY_FAILURES

__all__ = [
    "DomainReports",
    "LiveState",
    "WindowSummary",
    "live_from_checks",
    "read_live",
    "read_reports",
    "report_evidence",
    "window",
]

#: Failures listed per domain in ``top_failures``.
TOP_FAILURES = 5


def window(as_of: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """First and last UTC day of a window of ``days`` days ending with ``as_of``."""
    return as_of - dt.timedelta(days=days - 1), as_of


# --- reports ---------------------------------------------------------------------------------


class WindowSummary(Summary):
    """A :class:`Summary` of the reports whose period starts in [first, last] (UTC days), with finer counters.

    The window is the summary's own ``since``/``until``, so a report starting after ``last`` is left out (a later
    run with the same ``--as-of`` sees the same) whichever way the summary reads it, in-process or in workers.
    """

    def __init__(self, first: dt.date, last: dt.date) -> None:
        super().__init__(
            since=dt.datetime.combine(first, dt.time(), dt.UTC),
            until=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC),
        )
        self.first, self.last = first, last
        #: (domain, day, organization, result type, receiving MX) -> failed sessions
        self.details: Counter[tuple[str, str, str, str, str]] = Counter()

    def apply(self, counted: Contribution) -> None:
        """Count one report's contribution, and its failures by day, organization, result type and MX."""
        before = self.reports
        super().apply(counted)
        if self.reports == before:  # a duplicate
            return
        organization, _report_id, day, policies, _deviations = counted
        for domain, _successful, _failed, details, _undetailed, _policy_type in policies:
            for result_type, mx, count, *_path in details:
                self.details[domain, day, organization, result_type, mx] += count


@dataclass
class DomainReports:
    """What senders reported about one policy domain over the window."""

    days: list[str] = field(default_factory=list)
    """UTC days with at least one report, ascending."""
    successful: int = 0
    failed: int = 0
    enforce_failed: int = 0
    """Failed sessions whose result type enforce turns into failed mail (rules.ENFORCE_FAILURES)."""
    policy_failed: int = 0
    """Failed sessions where the sender had no usable policy (rules.POLICY_FAILURES)."""
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    """day -> successful, failed, enforce_failed."""
    by_result_type: dict[str, int] = field(default_factory=dict)
    by_organization: dict[str, dict[str, int]] = field(default_factory=dict)
    by_mx: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    """(result type, MX) groups, largest first: sessions, organizations, whether enforce fails them."""

    @property
    def sessions(self) -> int:
        """Successful and failed sessions."""
        return self.successful + self.failed

    @property
    def failure_rate(self) -> float:
        """Share of sessions that enforce would have turned into failed mail."""
        return self.enforce_failed / self.sessions if self.sessions else 0.0

    @property
    def policy_failure_rate(self) -> float:
        """Share of sessions where the sender could not fetch or validate the policy."""
        return self.policy_failed / self.sessions if self.sessions else 0.0

    def clean_days(self, after: str = "") -> int:
        """Days with reports after ``after`` (YYYY-MM-DD) and after the last day with an enforce failure."""
        failing = [day for day, counts in self.by_day.items() if counts["enforce_failed"]]
        last = max([after, *failing])
        return sum(1 for day in self.days if day > last)

    def to_dict(self) -> dict[str, Any]:
        """The ``reports`` member of ``mtasts status --json``."""
        return {
            "days": len(self.days),
            "first_day": self.days[0] if self.days else None,
            "last_day": self.days[-1] if self.days else None,
            "successful": self.successful,
            "failed": self.failed,
            "failure_rate": round(self.failure_rate, 6),
            "enforce_failed": self.enforce_failed,
            "policy_failed": self.policy_failed,
            "clean_days": self.clean_days(),
            "top_failures": self.failures[:TOP_FAILURES],
            "by_result_type": self.by_result_type,
        }  # per day, organization and MX: on the --html page (the JSON of 1,000 domains stays small)


def domain_reports(summary: WindowSummary) -> dict[str, DomainReports]:
    """Per policy domain, the window's counters (days, totals, enforce failures, failure groups)."""
    out: dict[str, DomainReports] = {}
    for name, d in summary.domains.items():
        r = out[name] = DomainReports(
            days=sorted(d.by_day),
            successful=d.successful,
            failed=d.failed,
            by_day={day: {**counts, "enforce_failed": 0} for day, counts in sorted(d.by_day.items())},
            by_result_type=dict(sorted(d.by_result_type.items(), key=lambda kv: (-kv[1], kv[0]))),
            by_organization={k: dict(v) for k, v in sorted(d.by_organization.items())},
            by_mx={k: dict(v) for k, v in sorted(d.by_mx.items()) if k != ALL_MX or v["failed"]},
        )
        r.by_mx.setdefault(ALL_MX, {"successful": d.successful, "failed": 0})["successful"] = d.successful
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for (name, day, organization, result_type, mx), count in summary.details.items():
        r = out[name]
        if result_type in ENFORCE_FAILURES:
            r.enforce_failed += count
            r.by_day[day]["enforce_failed"] += count
        elif result_type in POLICY_FAILURES:
            r.policy_failed += count
        group = groups.setdefault(
            (name, result_type, mx or ALL_MX),
            {
                "result_type": result_type,
                "mx": mx or ALL_MX,
                "sessions": 0,
                "organizations": Counter(),
                "enforce_fails": result_type in ENFORCE_FAILURES,
                "last_day": day,
            },
        )
        group["sessions"] += count
        group["organizations"][organization] += count
        group["last_day"] = max(group["last_day"], day)
    for (name, _, _), group in sorted(groups.items()):
        organizations: Counter[str] = group.pop("organizations")
        group["organizations"] = [org for org, _ in sorted(organizations.items(), key=lambda kv: (-kv[1], kv[0]))]
        out[name].failures.append(group)
    for r in out.values():
        r.failures.sort(key=lambda g: (-g["enforce_fails"], -g["sessions"], g["result_type"], g["mx"]))
    return out


def read_reports(
    paths: Iterable[str], first: dt.date, last: dt.date, limit: int = DEFAULT_MAX_BYTES
) -> tuple[WindowSummary, dict[str, DomainReports]]:
    """Read every report under ``paths`` (files, folders, ``s3://``) into the window [first, last]."""
    summary = WindowSummary(first, last)
    for source in iter_sources(paths, limit):
        summary.read(source.name, source.data, limit, source.problem)
    return summary, domain_reports(summary)


def report_evidence(
    paths: Sequence[str],
    first: dt.date,
    last: dt.date,
    limit: int = DEFAULT_MAX_BYTES,
    engine: str = "python",
    athena: AthenaSettings | None = None,
) -> tuple[int, list[dict[str, str]], dict[str, DomainReports]]:
    """:func:`read_reports`, reduced to what a verdict needs: reports accepted, rejected, evidence per domain.

    Small and picklable, so that ``mtasts status`` can run it in another process. With ``engine`` duckdb or
    athena, the same counters come from SQL over the rows (:func:`mtasts.tlsrpt.engines.sql_summary`).
    """
    if engine != "python":
        summary = WindowSummary(first, last)
        sql_summary(engine, paths, summary, athena, summary.details)
        return summary.reports, summary.rejected, domain_reports(summary)
    summary, reports = read_reports(paths, first, last, limit)
    return summary.reports, summary.rejected, reports


# --- live --------------------------------------------------------------------------------------


@dataclass
class LiveState:
    """A domain as a sending MTA sees it now, compared with the plan."""

    checked: bool = True
    """False when the live part was not run (``--no-live``)."""
    txt_id_live: bool = False
    """The ``_mta-sts`` TXT record announces the planned id."""
    policy_served: bool = False
    """The policy host answered 200 text/plain with a valid policy over valid HTTPS (RFC 8461 §3.3)."""
    policy_equal: bool = False
    """The served bytes are the planned bytes."""
    mx: list[str] = field(default_factory=list)
    """Live MX hosts, by preference."""
    uncovered: list[str] = field(default_factory=list)
    """Live MX hosts that the planned patterns do not cover (RFC 8461 §4.1)."""
    starttls: dict[str, str] = field(default_factory=dict)
    """MX host -> "" when STARTTLS with a valid certificate for its name worked, else why not."""
    starttls_checked: bool = True
    pending: list[str] = field(default_factory=list)
    """Delegation CNAMEs the owner of a ``dns: external`` domain has not published yet."""
    problems: list[str] = field(default_factory=list)
    """Failed checks, one line each (name: detail); a resolver failure is a ``dns: …`` line here too."""
    unknown: list[str] = field(default_factory=list)
    """Why some checks have no result: each distinct resolver failure, one line (the checker's ``dns`` rows)."""
    unread: list[str] = field(default_factory=list)
    """The checks left without a result by those failures (``sts-record``, ``policy-fetch``, ``mx-coverage`` …)."""
    deployed: bool = True
    """False when nothing is published yet: no ``_mta-sts`` TXT record and no policy host (the checker's drift
    row says ``deployed: false``)."""
    certificates: list[dict[str, Any]] = field(default_factory=list)
    """Days left on each certificate a handshake verified (policy host, then MX hosts): ``host``, ``not_after``,
    ``days_left``, ``level`` (``ok``, ``warn``, ``action``; :class:`mtasts.checker.certs.Expiry`)."""

    def to_dict(self) -> dict[str, Any]:
        """The ``live`` member of ``mtasts status --json``."""
        return {
            "checked": self.checked,
            "txt_id_live": self.txt_id_live,
            "policy_served": self.policy_served,
            "policy_equal": self.policy_equal,
            "mx": self.mx,
            "uncovered_mx": self.uncovered,
            "starttls": {host: (reason or "ok") for host, reason in self.starttls.items()}
            if self.starttls_checked
            else None,
            "pending": self.pending,
            "problems": self.problems,
            "unknown": self.unknown,
            "unread": self.unread,
            "deployed": self.deployed,
            "certificates": self.certificates,
        }


def live_from_checks(report: DomainReport, plan: DomainPlan, starttls: bool) -> LiveState:
    """Read one :class:`DomainReport` of the checker (run with the plan as expected state).

    Only the checks' structured :attr:`~mtasts.checker.checks.Check.data` is read (the ``id`` of ``sts-record``,
    ``policy_equal`` of ``drift``, ``hosts`` of ``mx-coverage``), never their text, which is for people.
    """
    checks = {c.name: c for c in report.checks}
    state = LiveState(starttls_checked=starttls)
    sts = checks.get("sts-record")
    if sts is not None and sts.status != "fail":
        state.txt_id_live = sts.data.get("id") == plan.policy_id
    fetch, syntax, drift = checks.get("policy-fetch"), checks.get("policy-syntax"), checks.get("drift")
    state.policy_served = bool(fetch and fetch.status != "fail" and syntax and syntax.status != "fail")
    state.policy_equal = state.policy_served and drift is not None and drift.data.get("policy_equal") is True
    state.deployed = drift is None or drift.data.get("deployed") is not False
    for check in report.checks:
        if check.name.startswith("starttls:"):
            host = check.name.partition(":")[2]
            state.mx.append(host)
            state.starttls[host] = "" if check.status == "pass" else check.detail
        elif check.name.startswith("delegation:") and check.status != "pass":
            state.pending.append(check.name.partition(":")[2])
        elif check.name.startswith("certificate:"):
            state.certificates.append(dict(check.data))
        elif check.name == "dns":
            state.unknown.append(check.detail)
            state.unread += [str(c) for c in check.data.get("checks") or []]
            state.problems.append(f"dns: {check.detail}")  # what the notifications read as an outage
        if check.status == "fail" and not check.name.startswith(("starttls:", "delegation:", "certificate:")):
            state.problems.append(f"{check.name}: {check.detail}")
    hosts = _hosts_from_coverage(checks)
    if hosts or not starttls:  # every live MX, by preference, also one whose session has no result
        state.mx = hosts
    state.uncovered = uncovered_mx(state.mx, plan.config.mx) if plan.config.mx else []
    return state


def _hosts_from_coverage(checks: Mapping[str, Check]) -> list[str]:
    """The live MX hosts the mx-coverage check read (its ``hosts``).

    Empty when the check has no result (the resolver failed; the checker reports that as a ``dns`` row).
    """
    coverage = checks.get("mx-coverage")
    hosts = coverage.data.get("hosts") if coverage is not None else None
    return [str(h) for h in hosts] if isinstance(hosts, list) else []


def read_live(
    plans: Sequence[DomainPlan], net: Network, starttls: bool = True, alerts: AlertSettings = ALERT_DEFAULTS
) -> dict[str, LiveState]:
    """Check every planned domain live, concurrently; the state of each.

    DNS, HTTPS and STARTTLS go through the checker (:func:`check_domains`, its own parallelism), each domain
    within its one deadline (``--timeout``), STARTTLS included. STARTTLS is checked once per distinct MX host
    of the whole fleet rather than once per domain (:class:`~mtasts.checker.checks.SharedSessions`): hosting
    providers serve thousands of domains from a few MX hosts, and one session each is both faster and polite
    (the certificate is verified against the MX name, RFC 8461 §4.2). Each certificate's days left are judged
    by ``alerts``' thresholds, from the handshake already made.
    """
    expected = {p.domain: p for p in plans}
    reports = check_domains(list(expected), net, expected, starttls=starttls, alerts=alerts, share_sessions=True)
    return {r.domain: live_from_checks(r, expected[r.domain], starttls) for r in reports}
