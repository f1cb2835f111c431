"""The promotion rules (`mta-sts:promotion`) and the verdicts they give, on hand-built evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mtasts.cli import main
from mtasts.config import parse_stack_settings
from mtasts.fleet.evidence import DomainReports, LiveState
from mtasts.fleet.rules import DEFAULTS, ENFORCE_FAILURES, PromotionRules, rules_from_settings
from mtasts.fleet.status import evaluate
from mtasts.plan import DomainPlan, plan_stack
from mtasts.tlsrpt.report import RESULT_TYPES


def plan_of(settings: dict[str, object], promotion: object = None) -> tuple[DomainPlan, PromotionRules]:
    stack: dict[str, object] = {"domains": {"a.example": settings}}
    if promotion is not None:
        stack["promotion"] = promotion
    config = parse_stack_settings(stack)
    return plan_stack(config).domains[0], rules_from_settings(config.settings)


def green(plan: DomainPlan) -> LiveState:
    return LiveState(
        txt_id_live=True,
        policy_served=True,
        policy_equal=True,
        mx=["mx.a.example"],
        starttls={"mx.a.example": ""},
    )


def clean(days: int = 14, per_day: int = 50) -> DomainReports:
    by_day = {f"2026-11-{d:02d}": {"successful": per_day, "failed": 0, "enforce_failed": 0} for d in range(1, days + 1)}
    return DomainReports(days=sorted(by_day), successful=days * per_day, by_day=by_day)


TESTING = {"mode": "testing", "mx": ["mx.a.example"]}
ENFORCE_WEEK = {"mode": "enforce", "max_age": 604800, "mx": ["mx.a.example"]}


def test_defaults_are_documented_values() -> None:
    """With no mta-sts:promotion the rules are the documented defaults (14 days, 100 sessions, 0.1 %, 1d…1y)."""
    _, rules = plan_of(TESTING)
    assert rules == DEFAULTS
    assert (rules.min_report_days, rules.min_sessions, rules.max_failure_rate) == (14, 100, 0.001)
    assert rules.ladder == (86400, 604800, 2592000, 31557600)


def test_enforce_failures_are_rfc_8460_result_types() -> None:
    """Every counted failure is an RFC 8460 §4.3 result type, and none is a policy-fetch or DANE type."""
    assert set(RESULT_TYPES) >= ENFORCE_FAILURES
    assert not {t for t in ENFORCE_FAILURES if t.startswith(("sts-", "tlsa", "dnssec", "dane"))}


@pytest.mark.parametrize(
    ("promotion", "message"),
    [
        ({"min_days": 3}, "error: mta-sts:promotion.min_days: unknown key (allowed: window_days,"),
        ({"max_failure_rate": 2}, "error: mta-sts:promotion.max_failure_rate: expected a fraction from 0 to 1, got 2"),
        ({"ladder": [604800, 86400]}, "error: mta-sts:promotion.ladder: steps must be strictly ascending"),
        ({"ladder": [86400, 40000000]}, "error: mta-sts:promotion.ladder[1]: 40000000 is not between 1 and 31557600"),
        ({"min_report_days": 40}, "error: mta-sts:promotion.min_report_days: 40 days cannot fit a window of 30"),
        ([1, 2], "error: mta-sts:promotion: expected a mapping of rules, got list"),
    ],
)
def test_bad_rules_fail_plan_with_one_line(tmp_path: Path, promotion: object, message: str) -> None:
    """A bad mta-sts:promotion value fails `mtasts plan` too (and so `pulumi up`): one error line, exit 2."""
    import json

    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(
        "config:\n  mta-sts:domains:\n    a.example: {mode: testing, mx: [mx.a.example]}\n"
        f"  mta-sts:promotion: {json.dumps(promotion)}\n"
    )
    result = CliRunner().invoke(main, ["plan", "--config", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(message)


def test_custom_rules_are_used() -> None:
    """Stack rules replace the defaults: 3 days suffice and the first enforce step is the custom one."""
    plan, rules = plan_of(TESTING, {"min_report_days": 3, "min_sessions": 10, "ladder": [604800, 31557600]})
    status = evaluate(plan, green(plan), clean(days=3), rules)
    assert status.verdict == "ready", status.reasons
    assert status.next == {"mode": "enforce", "max_age": 604800}


def test_too_few_days_and_sessions_hold() -> None:
    """Missing evidence is named: days with reports and sessions, each against its rule."""
    plan, rules = plan_of(TESTING)
    status = evaluate(plan, green(plan), clean(days=5, per_day=10), rules)
    assert status.verdict == "hold"
    assert status.reasons == [
        "reports on 5 day(s) in the window, 14 needed (min_report_days)",
        "50 reported session(s), 100 needed (min_sessions)",
    ]


def test_policy_failures_do_not_count_as_failed_mail_but_hold() -> None:
    """sts-policy-fetch-error is not in the failure rate (no failed mail) but above the limit it holds promotion."""
    plan, rules = plan_of(TESTING)
    reports = clean()
    reports.failed = reports.policy_failed = 30
    reports.failures = [
        {"result_type": "sts-policy-fetch-error", "mx": "(all MX)", "sessions": 30, "organizations": ["X"],
         "enforce_fails": False, "last_day": "2026-11-14"},
    ]  # fmt: skip
    status = evaluate(plan, green(plan), reports, rules)
    assert reports.failure_rate == 0
    assert status.verdict == "hold"
    assert "sts-policy-fetch-error" in status.reasons[0]


def test_starttls_failure_in_testing_holds_and_in_enforce_needs_action() -> None:
    """A live MX failing STARTTLS holds a testing domain and makes an enforcing one action-needed, demotable."""
    plan, rules = plan_of(TESTING)
    live = green(plan)
    live.starttls["mx.a.example"] = "certificate of mx.a.example not accepted: certificate has expired"
    held = evaluate(plan, live, clean(), rules)
    assert held.verdict == "hold"
    assert held.reasons == [
        "MX mx.a.example fails STARTTLS: certificate of mx.a.example not accepted: certificate has expired "
        "(RFC 8461 §4.2)"
    ]
    plan, rules = plan_of(ENFORCE_WEEK)
    needed = evaluate(plan, live, clean(), rules)
    assert needed.verdict == "action-needed"
    assert needed.demote == {"mode": "testing", "max_age": 86400}


def test_drift_is_action_needed_without_demote() -> None:
    """A TXT id that is not the planned one is action-needed; demoting would not help, so none is proposed."""
    plan, rules = plan_of(ENFORCE_WEEK)
    live = green(plan)
    live.txt_id_live = False
    status = evaluate(plan, live, clean(), rules)
    assert status.verdict == "action-needed"
    assert status.demote is None
    assert plan.policy_id in status.reasons[0]


def test_pending_and_retiring() -> None:
    """Missing delegation CNAMEs make a domain pending; retire: true makes it retiring, whatever the evidence."""
    plan, rules = plan_of(TESTING)
    live = green(plan)
    live.pending = ["_mta-sts.a.example"]
    assert evaluate(plan, live, clean(), rules).verdict == "pending"
    plan, rules = plan_of({"mx": ["mx.a.example"], "retire": True})
    assert evaluate(plan, green(plan), clean(), rules).verdict == "retiring"


def test_ladder_needs_clean_days_since_the_last_failure() -> None:
    """An enforcing domain climbs only after clean_days days with reports since its last enforce failure."""
    plan, rules = plan_of(ENFORCE_WEEK)
    reports = clean()
    reports.by_day["2026-11-10"]["enforce_failed"] = 1  # one failure, 0.14 % … but under a high limit
    rules = PromotionRules(max_failure_rate=0.5)
    status = evaluate(plan, green(plan), reports, rules)
    assert status.verdict == "hold"
    assert status.reasons == ["4 clean day(s) of reports at the current step, 7 needed before max_age 30d (clean_days)"]
    assert evaluate(plan, green(plan), clean(), rules).next == {"mode": "enforce", "max_age": 2592000}


def test_no_live_check_is_never_ready() -> None:
    """Without the live part (--no-live) a clean testing domain holds, and says why."""
    plan, rules = plan_of(TESTING)
    status = evaluate(plan, LiveState(checked=False, starttls_checked=False), clean(), rules)
    assert status.verdict == "hold"
    assert status.reasons == ["live state not checked (--no-live): the next step needs it"]


def test_markdown_body_is_capped_but_keeps_every_change() -> None:
    """With a limit, every changed domain is shown first, then the most urgent others; the rest are counted."""
    import datetime as dt

    from mtasts.fleet.promote import Step
    from mtasts.fleet.status import FleetStatus
    from mtasts.fleet.tables import evidence_markdown

    domains = {f"d{i:03d}.example": {"mode": "testing", "mx": [f"mx.d{i:03d}.example"]} for i in range(30)}
    config = parse_stack_settings({"domains": domains})
    plans = plan_stack(config).domains
    statuses = [evaluate(p, green(p), clean(days=1), DEFAULTS) for p in plans]
    fleet = FleetStatus(statuses, DEFAULTS, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    steps = [Step("d029.example", "d029.example", "enforce", 86400, "testing", 86400, "promote")]
    text = evidence_markdown(fleet, steps=steps, limit=5)
    rows = [line for line in text.splitlines() if line.startswith("| d")]
    assert len(rows) == 6
    assert rows[0].startswith("| d029.example | testing | 1d | → enforce 1d |")
    assert "| … 24 more domain(s), in the fleet-status artifact |" in text


def test_without_live_starttls_the_rule_decides() -> None:
    """--no-starttls holds a clean testing domain by default; with require_starttls false it is ready and says so."""
    plan, rules = plan_of(TESTING)
    live = green(plan)
    live.starttls, live.starttls_checked = {}, False
    held = evaluate(plan, live, clean(), rules)
    assert held.verdict == "hold"
    assert held.reasons == ["STARTTLS not checked live (--no-starttls) and require_starttls is true"]
    plan, rules = plan_of(TESTING, {"require_starttls": False})
    ready = evaluate(plan, live, clean(), rules)
    assert ready.verdict == "ready"
    assert "STARTTLS not checked live (require_starttls: false" in ready.reasons[0]
