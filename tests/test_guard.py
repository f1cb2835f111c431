"""The retirement guard's dynamic provider: it keeps the record and refuses unsafe removals and destroys."""

import pytest

from mtasts.resources.providers.guard import GuardFailure, RetirementGuardProvider

DAY = 86400


class Clock:
    """A settable clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def published(**modes: tuple[str, int]) -> dict[str, object]:
    domains = {
        name.replace("_", "."): {"mode": mode, "max_age": max_age, "policy_id": f"{mode}{max_age}", "ttl": 300}
        for name, (mode, max_age) in modes.items()
    }
    return {"domains": domains, "record": None}


def test_lifecycle_create_retire_wait_remove() -> None:
    """Enforce, then retire: dropping the domain is refused until its enforce max_age has passed since none."""
    clock = Clock(1_800_000_000.0)
    provider = RetirementGuardProvider(clock)
    created = provider.create(published(a_example=("enforce", 30 * DAY), b_example=("testing", DAY)))
    assert created.outs["record"]["a.example"]["active_max_age"] == 30 * DAY

    with pytest.raises(
        GuardFailure, match=r"domains\.a\.example: cannot be removed: senders may hold its mode enforce"
    ):
        provider.update(created.id, created.outs, published(b_example=("testing", DAY)))

    clock.now += DAY
    retired = provider.update(created.id, created.outs, published(a_example=("none", DAY), b_example=("testing", DAY)))
    assert retired.outs["record"]["a.example"]["none_since"] == clock.now

    clock.now += 29 * DAY
    with pytest.raises(GuardFailure, match=r"domains\.a\.example: cannot be removed before"):
        provider.update(created.id, retired.outs, published(b_example=("testing", DAY)))

    clock.now += DAY + 300 + 3600
    removed = provider.update(created.id, retired.outs, published(b_example=("testing", DAY)))
    assert set(removed.outs["record"]) == {"b.example"}


def test_destroy_is_refused_while_any_domain_is_active() -> None:
    """pulumi destroy deletes the guard first; its delete names every domain that may not go yet."""
    clock = Clock(1_800_000_000.0)
    provider = RetirementGuardProvider(clock)
    created = provider.create(published(a_example=("enforce", DAY)))
    with pytest.raises(GuardFailure, match=r"domains\.a\.example"):
        provider.delete(created.id, created.outs)
    retired = provider.update(created.id, created.outs, published(a_example=("none", DAY)))
    clock.now += 2 * DAY + 3600
    provider.delete(created.id, retired.outs)


def test_diff_updates_in_place() -> None:
    """A policy change updates the guard; it is never replaced (a replacement would delete it)."""
    provider = RetirementGuardProvider(Clock(0.0))
    diff = provider.diff("g", published(a_example=("enforce", 1)), published(a_example=("enforce", 2)))
    assert diff.changes is True
    assert diff.replaces == []
    same = published(a_example=("enforce", 1))
    assert provider.diff("g", same, dict(same)).changes is False
