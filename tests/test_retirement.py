"""The retirement record: when a domain may leave the config without stranding senders' cached policies."""

from mtasts.config import parse_stack_settings
from mtasts.lifecycle.retirement import (
    MARGIN_SECONDS,
    DomainState,
    from_output,
    next_state,
    removal_problems,
    safe_to_remove,
    to_output,
)
from mtasts.plan import DomainPlan, plan_stack

DAY = 86400
T0 = 1_800_000_000.0


def plan(**settings: object) -> DomainPlan:
    return plan_stack(parse_stack_settings({"domains": {"example.com": settings}})).domains[0]


ENFORCE = plan(template="enforce", mx=["m.example.com"], max_age=30 * DAY)
TESTING = plan(mx=["m.example.com"], max_age=7 * DAY)
RETIRED = plan(template="enforce", mx=["m.example.com"], retire=True)


def test_active_policy_records_its_max_age() -> None:
    """An enforce policy is recorded with its max_age and no none_since."""
    state = next_state(None, ENFORCE, T0)
    assert (state.mode, state.active_max_age, state.none_since) == ("enforce", 30 * DAY, None)
    assert state.removable_at() is None


def test_longest_active_max_age_is_kept() -> None:
    """Lowering max_age keeps the longer one on record: senders may still hold the older policy."""
    state = next_state(next_state(None, ENFORCE, T0), TESTING, T0 + DAY)
    assert state.active_max_age == 30 * DAY


def test_none_since_is_set_once_when_none_goes_live() -> None:
    """The first deployment in mode none stamps none_since; later ones keep it."""
    retired = next_state(next_state(None, ENFORCE, T0), RETIRED, T0 + DAY)
    assert retired.none_since == T0 + DAY
    again = next_state(retired, RETIRED, T0 + 5 * DAY)
    assert again.none_since == T0 + DAY
    assert again.removable_at() == T0 + DAY + 30 * DAY + 300 + MARGIN_SECONDS


def test_reactivating_clears_none_since() -> None:
    """Going back to testing after retiring restarts the clock."""
    state = next_state(next_state(next_state(None, ENFORCE, T0), RETIRED, T0), TESTING, T0 + DAY)
    assert state.none_since is None
    assert state.active_max_age == 30 * DAY


def test_removal_of_an_active_domain_is_refused() -> None:
    """Dropping a domain whose published policy is enforce is refused with the retire instruction."""
    previous = {"example.com": next_state(None, ENFORCE, T0)}
    (problem,) = removal_problems(previous, [], T0 + 365 * DAY)
    assert problem.path == "domains.example.com"
    assert "Set `retire: true`" in problem.message
    assert "RFC 8461 §8.3" in problem.message


def test_removal_before_expiry_is_refused_with_the_date() -> None:
    """A retired domain cannot go before its last active policy expired; the message says when it can."""
    retired = next_state(next_state(None, ENFORCE, T0), RETIRED, T0)
    at = retired.removable_at()
    assert at is not None
    (problem,) = removal_problems({"example.com": retired}, [], at - 1)
    assert "cannot be removed before 2027-" in problem.message
    assert not safe_to_remove(retired, at - 1)


def test_removal_after_expiry_is_allowed() -> None:
    """Once the wait is over the domain may be removed."""
    retired = next_state(next_state(None, ENFORCE, T0), RETIRED, T0)
    at = retired.removable_at()
    assert at is not None
    assert removal_problems({"example.com": retired}, [], at) == []
    assert safe_to_remove(retired, at)


def test_domains_still_planned_are_not_removals() -> None:
    """A domain that stays in the config is never a removal problem."""
    assert removal_problems({"example.com": next_state(None, ENFORCE, T0)}, ["example.com"], T0) == []


def test_never_active_domain_can_go_at_once() -> None:
    """A domain only ever published as mode none held no enforce/testing policy: no wait."""
    state = next_state(None, plan(template="none"), T0)
    assert safe_to_remove(state, T0)


def test_output_round_trip() -> None:
    """The stack output reads back to the same states."""
    states = {"example.com": next_state(next_state(None, ENFORCE, T0), RETIRED, T0 + 1)}
    assert from_output(to_output(states)) == states


def test_damaged_output_makes_removal_harder() -> None:
    """An unreadable entry is read as an unknown active policy, so removal is refused."""
    states = from_output({"example.com": {"mode": "none"}, "b.example": "garbage"})
    assert set(states) == {"example.com", "b.example"}
    assert len(removal_problems(states, [], T0 + 10 * 365 * DAY)) == 2
    assert from_output(None) == {}
    assert isinstance(states["example.com"], DomainState)
