"""Verdicts: for each domain, is the next step safe, and if not, why not.

A verdict joins three things: the plan (what the stack file says), the live state (what senders see now) and
the TLS-RPT reports (what senders saw over the window), under the stack's :class:`~.rules.PromotionRules`:

* ``retiring`` — ``retire: true`` or mode ``none``: being withdrawn (RFC 8461 §8.3), nothing to promote;
* ``pending`` — a ``dns: external`` domain whose owner has not published the delegation CNAMEs yet;
* ``not-deployed`` — nothing published yet (no ``_mta-sts`` TXT record, no policy host): the next step is to
  deploy (``pulumi up``), not a repair;
* ``action-needed`` — live drift, a policy senders cannot fetch, or (enforcing) an MX that the policy does not
  cover or that fails STARTTLS, or reported failures that enforce turned into failed mail;
* ``unknown`` — the live state could not be read (the resolver did not answer): a failed lookup proves nothing,
  so it is neither drift nor a reason to promote; the resolver's error is the reason;
* ``hold`` — not yet; every reason names the MX, the failure type or the missing evidence;
* ``ready`` — the next step is safe: ``testing`` → ``enforce`` at the ladder's first ``max_age``, or the next
  ``max_age`` step;
* ``ok`` — enforcing at the top of the ladder, all green.

Nothing here reads a clock: ``as_of`` is given, so the same inputs give the same verdicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..names import to_unicode
from ..plan import DomainPlan
from .evidence import DomainReports, LiveState
from .rules import PromotionRules

__all__ = ["VERDICTS", "DomainStatus", "FleetStatus", "evaluate", "evaluate_fleet"]

Verdict = Literal["ready", "hold", "ok", "action-needed", "retiring", "pending", "unknown", "not-deployed"]
#: Attention first: the order of the terminal table, the page and the pull-request evidence.
VERDICTS: tuple[Verdict, ...] = (
    "action-needed",
    "unknown",
    "pending",
    "not-deployed",
    "hold",
    "ready",
    "ok",
    "retiring",
)


def duration(seconds: int) -> str:
    """``604800`` → ``7d``, ``31557600`` → ``365.25d``, ``3600`` → ``1h``; seconds otherwise."""
    if seconds >= 86_400:
        return f"{seconds / 86_400:g}d"
    if seconds and seconds % 3_600 == 0:
        return f"{seconds // 3_600}h"
    return f"{seconds}s"


@dataclass
class DomainStatus:
    """One row of ``mtasts status``."""

    plan: DomainPlan
    verdict: Verdict
    reasons: list[str]
    next: dict[str, Any] | None
    live: LiveState
    reports: DomainReports
    demote: dict[str, Any] | None = None
    """For ``promote --demote``: the testing step proposed for an enforcing domain whose mail fails."""
    step_since: dt.date | None = None
    """The day the current mode and max_age were committed, from git; None when unknown."""
    warnings: list[str] = field(default_factory=list)
    """What needs attention soon without changing the verdict (a certificate within its warning days)."""

    @property
    def domain(self) -> str:
        """Policy domain, A-label form."""
        return self.plan.domain

    def to_dict(self) -> dict[str, Any]:
        """One member of ``domains`` in ``mtasts status --json``."""
        c = self.plan.config
        return {
            "domain": self.domain,
            "display_name": to_unicode(self.domain),
            "mode": c.mode,
            "max_age": c.max_age,
            "policy_id": self.plan.policy_id,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "next": self.next,
            "demote": self.demote,
            "step_since": self.step_since.isoformat() if self.step_since else None,
            "live": self.live.to_dict(),
            "reports": self.reports.to_dict(),
        }


@dataclass
class FleetStatus:
    """Every domain's status, in plan order, with the window and rules they were judged by."""

    domains: list[DomainStatus]
    rules: PromotionRules
    first_day: dt.date
    last_day: dt.date
    report_count: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Domains per verdict."""
        out: dict[str, int] = dict.fromkeys(VERDICTS, 0)
        for d in self.domains:
            out[d.verdict] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``mtasts status --json``."""
        return {
            "as_of": self.last_day.isoformat(),
            "window": {"first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat()},
            "rules": self.rules.to_dict(),
            "counts": self.counts,
            "reports": {"accepted": self.report_count, "rejected": self.rejected},
            "domains": [d.to_dict() for d in self.domains],
        }


def _pct(rate: float) -> str:
    return f"{rate:.2%}"


def _failure_reasons(reports: DomainReports, rules: PromotionRules, enforcing: bool) -> list[str]:
    """One reason per (result type, MX) that enforce fails, naming who reported it; empty when under the limit."""
    if reports.failure_rate <= rules.max_failure_rate:
        return []
    effect = "failed mail under enforce" if enforcing else "would be failed mail under enforce"
    reasons = []
    for group in reports.failures:
        if not group["enforce_fails"]:
            continue
        orgs = ", ".join(group["organizations"][:3]) + (" …" if len(group["organizations"]) > 3 else "")
        reasons.append(
            f"{group['result_type']} on MX {group['mx']}: {group['sessions']} session(s), reported by {orgs}, "
            f"last on {group['last_day']} ({effect}, RFC 8461 §5)"
        )
    reasons.append(
        f"failure rate {_pct(reports.failure_rate)} over the window is above max_failure_rate "
        f"{_pct(rules.max_failure_rate)} (counted: result types enforce refuses, RFC 8460 §4.3)"
    )
    return reasons


def _policy_failure_reason(reports: DomainReports, rules: PromotionRules) -> list[str]:
    if reports.policy_failure_rate <= rules.max_failure_rate:
        return []
    types = [g["result_type"] for g in reports.failures if g["result_type"].startswith("sts-")]
    return [
        f"senders could not fetch or validate the policy in {reports.policy_failed} session(s) "
        f"({', '.join(dict.fromkeys(types))}, RFC 8460 §4.3.2): they apply no policy, so enforce would not protect "
        "them; fix the policy host first"
    ]


def _live_problems(live: LiveState, plan: DomainPlan) -> tuple[list[str], list[str]]:
    """(drift or fetch problems, MX problems) seen live; checks without a result (``live.unread``) say nothing."""
    drift: list[str] = []
    if not live.txt_id_live and "sts-record" not in live.unread:
        drift.append(f"live drift: the _mta-sts TXT record does not announce the planned id {plan.policy_id}")
    fetch = [p.partition(": ")[2] for p in live.problems if p.startswith(("policy-fetch:", "policy-syntax:"))]
    if "policy-fetch" not in live.unread:
        if not live.policy_served:
            drift.append(f"senders cannot fetch a valid policy: {'; '.join(fetch) or 'no answer'} (RFC 8461 §3.3)")
        elif not live.policy_equal:
            drift.append("live drift: the served policy differs from the planned bytes")
    own = ("drift:", "mx-coverage:", "sts-record:", "policy-fetch:", "policy-syntax:", "dns:")
    drift += [p for p in live.problems if not p.startswith(own)]
    mx: list[str] = []
    for host in live.uncovered:
        mx.append(f"MX {host} is not covered by the policy's mx patterns {', '.join(plan.config.mx)} (RFC 8461 §4.1)")
    for host, reason in live.starttls.items():
        if reason:
            mx.append(f"MX {host} fails STARTTLS: {reason} (RFC 8461 §4.2)")
    return drift, mx


def _certificate_reasons(live: LiveState) -> tuple[list[str], list[str]]:
    """(certificates within their action days, certificates within their warning days), one line each."""
    action: list[str] = []
    warn: list[str] = []
    for cert in live.certificates:
        days, host = cert["days_left"], cert["host"]
        when = f"expired {-days} day(s) ago" if days < 0 else f"expires in {days} day(s)"
        line = f"certificate of {host} {when} ({cert['not_after'][:10]})"
        if cert["level"] == "action":
            action.append(
                f"{line}: renew it now; an expired certificate fails validation and senders refuse it under "
                "enforce (RFC 8461 §4.2, §5)"
            )
        elif cert["level"] == "warn":
            warn.append(f"{line}: renew it soon")
    return action, warn


def evaluate(
    plan: DomainPlan,
    live: LiveState,
    reports: DomainReports,
    rules: PromotionRules,
    step_since: dt.date | None = None,
) -> DomainStatus:
    """The verdict of one domain, with its reasons and next step.

    ``step_since`` is the day the current mode and max_age were committed (:mod:`.history`); only days after it
    count as clean days at this step. ``None``: unknown, every day of the window counts.
    """
    c = plan.config
    expiring, warnings = _certificate_reasons(live) if live.checked else ([], [])

    def status(verdict: Verdict, reasons: list[str], nxt: dict[str, Any] | None = None) -> DomainStatus:
        return DomainStatus(plan, verdict, reasons, nxt, live, reports, step_since=step_since, warnings=warnings)

    if c.retire or c.mode == "none":
        why = "retire: true" if c.retire else "mode none"
        return status("retiring", [f"{why}: the policy is being withdrawn (RFC 8461 §8.3); nothing to promote"])
    if live.checked and live.pending:
        return status(
            "pending",
            [f"the domain owner has not published the CNAME {name} yet (dns: external)" for name in live.pending],
        )
    if live.checked and not live.deployed:
        return status(
            "not-deployed",
            [
                f"nothing published yet: no TXT record at _mta-sts.{plan.domain} and no policy host "
                f"mta-sts.{plan.domain}; next step: deploy (`pulumi up`), then `mtasts check`"
            ],
        )
    drift, mx = _live_problems(live, plan) if live.checked else ([], [])
    unknown = [
        f"live state unknown: {why} (a failed lookup proves nothing; no verdict on drift or promotion until it is read)"
        for why in (live.unknown if live.checked else [])
    ]
    enforcing = c.mode == "enforce"
    failures = _failure_reasons(reports, rules, enforcing)
    if enforcing:
        mail_fails = mx + failures
        if drift or mail_fails or expiring:
            result = status("action-needed", drift + expiring + mail_fails + unknown)
            if mail_fails:
                result.demote = {"mode": "testing", "max_age": rules.ladder[0]}
            return result
    elif drift or expiring:
        return status("action-needed", drift + expiring + unknown)
    if unknown:
        return status("unknown", unknown)
    reasons: list[str] = []
    if not live.checked:
        reasons.append("live state not checked (--no-live): the next step needs it")
    elif not live.starttls_checked and rules.require_starttls and not enforcing:
        reasons.append("STARTTLS not checked live (--no-starttls) and require_starttls is true")
    if not enforcing:
        reasons += mx
        if not live.mx and live.checked:
            reasons.append("no live MX hosts found: nothing to enforce")
    if not enforcing and len(reports.days) < rules.min_report_days:
        reasons.append(
            f"reports on {len(reports.days)} day(s) in the window, {rules.min_report_days} needed (min_report_days)"
        )
    if not enforcing and reports.sessions < rules.min_sessions:
        reasons.append(f"{reports.sessions} reported session(s), {rules.min_sessions} needed (min_sessions)")
    reasons += failures + _policy_failure_reason(reports, rules)
    if not enforcing:
        if reasons:
            return status("hold", reasons)
        tls = (
            "passing STARTTLS"
            if live.starttls_checked
            else "STARTTLS not checked live (require_starttls: false; the reports are the evidence)"
        )
        return status(
            "ready",
            [
                f"{len(reports.days)} day(s) of reports, {reports.sessions} session(s), failure rate "
                f"{_pct(reports.failure_rate)}; every live MX covered, {tls}"
            ],
            {"mode": "enforce", "max_age": rules.ladder[0]},
        )
    step = rules.next_max_age(c.max_age)
    if step is None:
        if reasons:
            return status("hold", reasons)
        return status("ok", [f"enforcing at max_age {duration(c.max_age)}, the top of the ladder; all green"])
    clean = reports.clean_days(step_since.isoformat() if step_since else "")
    if clean < rules.clean_days:
        since = f" since the step on {step_since}" if step_since else ""
        reasons.append(
            f"{clean} clean day(s) of reports at the current step{since}, {rules.clean_days} needed before max_age "
            f"{duration(step)} (clean_days)"
        )
    if reasons:
        return status("hold", reasons)
    note = "" if step_since else " (no git history of the stack file: every day of the window counted)"
    return status(
        "ready",
        [f"{clean} clean day(s) at max_age {duration(c.max_age)}{note}: next step {duration(step)} (RFC 8461 §3.2)"],
        {"mode": "enforce", "max_age": step},
    )


def evaluate_fleet(
    plans: Sequence[DomainPlan],
    live: Mapping[str, LiveState] | None,
    reports: Mapping[str, DomainReports],
    rules: PromotionRules,
    step_starts: Mapping[str, dt.date] | None = None,
) -> list[DomainStatus]:
    """Every domain's verdict, in plan order; ``live`` None means the live part was skipped.

    ``step_starts`` maps each domain's key in the stack file to the day its current step started (None: unknown).
    """
    return [
        evaluate(
            p,
            live[p.domain] if live is not None else LiveState(checked=False, starttls_checked=False),
            reports.get(p.domain) or DomainReports(),
            rules,
            step_starts.get(str(p.config.key)) if step_starts is not None else None,
        )
        for p in plans
    ]
