"""The retirement guard's dynamic provider: it keeps the record and refuses unsafe deletes."""

import pytest

from mtasts.resources.guard import RetirementGuardProvider

DAY = 86400.0


class Clock:
    """A settable clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def props(mode: str, max_age: int) -> dict[str, object]:
    return {"domain": "example.com", "mode": mode, "max_age": max_age, "policy_id": f"{mode}{max_age}", "ttl": 300}


def test_lifecycle_create_retire_wait_delete() -> None:
    """Enforce, then retire: deleting is refused until the enforce max_age has passed since none went live."""
    clock = Clock(1_800_000_000.0)
    provider = RetirementGuardProvider(clock)
    created = provider.create(props("enforce", int(30 * DAY)))
    assert created.outs["active_max_age"] == 30 * DAY
    with pytest.raises(Exception, match="cannot be removed: senders may hold its mode enforce policy"):
        provider.delete(created.id, created.outs)

    clock.now += DAY
    retired = provider.update(created.id, created.outs, props("none", int(DAY)))
    assert retired.outs["none_since"] == clock.now
    assert retired.outs["active_max_age"] == 30 * DAY

    clock.now += 29 * DAY
    with pytest.raises(Exception, match=r"domains\.example\.com: cannot be removed before"):
        provider.delete(created.id, retired.outs)

    clock.now += DAY + 300 + 3600
    provider.delete(created.id, retired.outs)


def test_diff_updates_in_place_on_policy_change() -> None:
    """A new policy updates the guard; it is never replaced (a replacement would delete it)."""
    provider = RetirementGuardProvider(Clock(0.0))
    diff = provider.diff("g", props("enforce", 1), props("enforce", 2))
    assert diff.changes is True
    assert diff.replaces == []
    assert provider.diff("g", props("enforce", 1), props("enforce", 1)).changes is False
