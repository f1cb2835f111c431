"""The hosting plan (mtasts.resources.hosting): who is dedicated, shared, moving, carried or pending, without Pulumi."""

from __future__ import annotations

from typing import Any

from mtasts.config import parse_stack_settings
from mtasts.plan import StackPlan, plan_stack
from mtasts.resources.hosting import hosting_plan, live_ids, mode_moves


def stack(domains: dict[str, dict[str, Any]]) -> StackPlan:
    return plan_stack(parse_stack_settings({"hostingZone": "h.example.net", "domains": domains}))


def test_a_moving_domain_is_on_both_sides_for_one_deployment() -> None:
    """A live dedicated domain switching to shared keeps its distribution and gets a tenant; the reverse likewise."""
    plan = stack(
        {
            "a.example": {"mx": ["mx.a.example"], "hosting": "shared", "switch_hosting": True},
            "b.example": {"mx": ["mx.b.example"], "hosting": "dedicated", "switch_hosting": True},
            "c.example": {"mx": ["mx.c.example"], "hosting": "dedicated"},
        }
    )
    before = {
        "a.example": {"hosting": "dedicated", "policyId": plan.get("a.example").policy_id, "certificate": "acm"},
        "b.example": {"hosting": "shared", "policyId": plan.get("b.example").policy_id, "certificate": "cloudfront"},
        "c.example": {"hosting": "dedicated", "policyId": plan.get("c.example").policy_id},
    }
    moves, problems = mode_moves(before, plan)
    assert (moves, problems) == ({"a.example": "dedicated", "b.example": "shared"}, [])
    hosting = hosting_plan(plan, before, moves, delegated=None)
    assert hosting.dedicated == ("a.example", "b.example", "c.example")
    assert [d.domain for d in hosting.shared] == ["a.example", "b.example"]
    assert hosting.carried == {"a.example"}  # moving in from dedicated: presents its ACM certificate
    assert hosting.acm_before == {"a.example"}
    assert hosting.pending == frozenset()


def test_an_external_domain_waits_for_its_owners_cnames() -> None:
    """A dns: external domain whose CNAMEs are not published is pending; once delegated it is not."""
    plan = stack({"p.example": {"dns": "external", "mx": ["mx.p.example"]}})
    assert hosting_plan(plan, {}, {}, delegated=set()).pending == {"p.example"}
    assert hosting_plan(plan, {}, {}, delegated={"p.example"}).pending == frozenset()
    assert hosting_plan(plan, {}, {}, delegated=None).pending == frozenset()


def test_live_ids_are_the_previous_deployments_announced_ids() -> None:
    """Pending domains announced nothing; every other domain's previous policy id is its rollout fallback."""
    previous = {"a.example": {"policyId": "abc"}, "p.example": {"policyId": "def", "pending": True}, "x": 3}
    assert live_ids(previous) == {"a.example": "abc"}
