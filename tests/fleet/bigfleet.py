"""A synthetic fleet of N domains for the page at scale (tests/fleet/test_page.py, bench/bench_page.py).

Domains are planned by the kit (``plan_stack``); their evidence is made up: 30 days of reports, 1 in 100
domains action-needed with certificate-expired failures on some days, 1 in 10 on hold with a reason, the rest
ok, and one domain whose reason holds markup (which must stay text).
"""

from __future__ import annotations

import datetime as dt

from mtasts.config import parse_stack_settings
from mtasts.fleet.evidence import DomainReports, LiveState
from mtasts.fleet.rules import rules_from_settings
from mtasts.fleet.status import DomainStatus, FleetStatus
from mtasts.plan import plan_stack

LAST = dt.date(2026, 11, 30)
HOSTILE = "<img src=x onerror=alert(1)></script>"


def big_fleet(count: int, days: int = 30) -> FleetStatus:
    """``count`` domains judged over ``days`` days (see the module docstring)."""
    settings = {"domains": {f"d{i:05d}.example": {"mx": [f"mx.d{i:05d}.example"]} for i in range(count)}}
    plan = plan_stack(parse_stack_settings(settings))
    first = LAST - dt.timedelta(days=days - 1)
    day_names = [(first + dt.timedelta(days=n)).isoformat() for n in range(days)]
    statuses = []
    for i, domain in enumerate(plan.domains):
        bad = i % 100 == 7
        by_day = {
            day: {
                "successful": 500,
                "failed": 9 if bad and n % 3 == 0 else 0,
                "enforce_failed": 9 if bad and n % 3 == 0 else 0,
            }
            for n, day in enumerate(day_names)
        }
        failed = sum(c["failed"] for c in by_day.values())
        reports = DomainReports(
            days=day_names,
            successful=500 * days,
            failed=failed,
            enforce_failed=failed,
            by_day=by_day,
            by_result_type={"certificate-expired": failed} if failed else {},
            by_organization={"google.com": {"successful": 500 * days, "failed": failed}},
            by_mx={f"mx.{domain.domain}": {"successful": 0, "failed": failed}} if failed else {},
        )
        if bad:
            verdict, reasons = (
                "action-needed",
                [f"certificate-expired on mx.{domain.domain}: {failed} sessions (google.com)"],
            )
        elif i % 10 == 3:
            verdict, reasons = "hold", ["4 clean day(s) of reports at the current step, 7 needed (clean_days)"]
        else:
            verdict, reasons = "ok", []
        if i == 42:
            reasons = [HOSTILE]
        statuses.append(DomainStatus(domain, verdict, reasons, None, LiveState(checked=False), reports))  # type: ignore[arg-type]
    return FleetStatus(statuses, rules_from_settings(plan.config.settings), first, LAST, count * days)
