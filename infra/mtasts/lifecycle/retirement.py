"""Safe retirement (RFC 8461 §8.3): decide when a domain's policy and records may go.

A sender that fetched an ``enforce`` or ``testing`` policy keeps applying it
for up to its ``max_age``, even after the records are gone. The safe way out
is: publish ``mode: none`` (``retire: true``) with a new id, keep it served
until every earlier policy has expired, and only then remove the domain.

The Pulumi program records, in a stack output, what it needs to decide
this on a later run: per domain the published mode, the longest ``max_age``
of any enforce/testing policy it published, and when ``none`` went live.
This module is the pure logic over that record; the program reads the
previous record, refuses a removal that is not yet safe, and writes the
next record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import Problem
from ..plan import DomainPlan
from ..policy import MAX_AGE_LIMIT

__all__ = [
    "OUTPUT_NAME",
    "DomainState",
    "advance",
    "from_output",
    "next_state",
    "removal_problems",
    "safe_to_remove",
    "to_output",
]

#: Name of the stack output holding the record.
OUTPUT_NAME = "retirement"
#: Added to the wait: a deployment takes time between the program run (when ``none_since`` is taken) and the new id
#: being visible, and resolvers may keep the old TXT record for its TTL.
MARGIN_SECONDS = 3600


@dataclass(frozen=True)
class DomainState:
    """What the stack remembers about one domain's published policy."""

    mode: str
    """Mode of the policy published by the last deployment."""
    max_age: int
    """Its max_age."""
    policy_id: str
    """Its id."""
    ttl: int
    """TTL of its ``_mta-sts`` record."""
    active_max_age: int
    """Longest max_age of any enforce or testing policy published for the domain (0 if none ever was)."""
    none_since: float | None
    """Unix time when the deployment that switched the domain to mode none ran; ``None`` while not none."""

    def removable_at(self) -> float | None:
        """Earliest Unix time the domain may be removed; ``None`` while its policy is not mode none."""
        if self.mode != "none" or self.none_since is None:
            return None
        if self.active_max_age == 0:
            return self.none_since
        return self.none_since + self.active_max_age + self.ttl + MARGIN_SECONDS


def advance(previous: DomainState | None, mode: str, max_age: int, policy_id: str, ttl: int, now: float) -> DomainState:
    """The record after publishing a policy of ``mode``/``max_age`` at ``now``, carried on from ``previous``."""
    active = previous.active_max_age if previous else 0
    if mode == "none":
        keep = previous is not None and previous.mode == "none" and previous.none_since is not None
        none_since = previous.none_since if keep and previous else now
        return DomainState(mode, max_age, policy_id, ttl, active, none_since)
    return DomainState(mode, max_age, policy_id, ttl, max(active, max_age), None)


def next_state(previous: DomainState | None, plan: DomainPlan, now: float) -> DomainState:
    """The record after deploying ``plan`` at ``now``."""
    c = plan.config
    return advance(previous, c.mode, c.max_age, plan.policy_id, c.ttl, now)


def safe_to_remove(state: DomainState, now: float) -> bool:
    """Whether every sender has dropped the domain's last enforce/testing policy by ``now``."""
    at = state.removable_at()
    return at is not None and now >= at


def _utc(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def removal_problems(previous: Mapping[str, DomainState], planned: Iterable[str], now: float) -> list[Problem]:
    """One problem per domain that the new config drops before it is safe to (RFC 8461 §8.3)."""
    keep = set(planned)
    problems: list[Problem] = []
    for domain, state in sorted(previous.items()):
        if domain in keep or safe_to_remove(state, now):
            continue
        at = state.removable_at()
        if at is None:
            problems.append(
                Problem(
                    f"domains.{domain}",
                    f"cannot be removed: senders may hold its mode {state.mode} policy for up to {state.max_age} s. "
                    "Set `retire: true`, deploy, and remove it once that has expired (RFC 8461 §8.3)",
                )
            )
        else:
            problems.append(
                Problem(
                    f"domains.{domain}",
                    f"cannot be removed before {_utc(at)}: senders may still hold a policy with max_age "
                    f"{state.active_max_age} s from before mode none went live on {_utc(state.none_since or 0)} "
                    "(RFC 8461 §8.3)",
                )
            )
    return problems


def to_output(states: Mapping[str, DomainState]) -> dict[str, dict[str, Any]]:
    """JSON-ready stack output."""
    return {domain: asdict(state) for domain, state in sorted(states.items())}


def from_output(value: object) -> dict[str, DomainState]:
    """Read the stack output back.

    An entry without the expected shape is read as "mode unknown, max_age one year": a damaged record must
    make removal harder, never easier.
    """
    states: dict[str, DomainState] = {}
    if not isinstance(value, dict):
        return states
    for domain, raw in value.items():
        try:
            none_since = raw["none_since"]
            states[str(domain)] = DomainState(
                mode=str(raw["mode"]),
                max_age=int(raw["max_age"]),
                policy_id=str(raw["policy_id"]),
                ttl=int(raw["ttl"]),
                active_max_age=int(raw["active_max_age"]),
                none_since=None if none_since is None else float(none_since),
            )
        except (KeyError, TypeError, ValueError):
            states[str(domain)] = DomainState("unknown", MAX_AGE_LIMIT, "", 0, MAX_AGE_LIMIT, None)
    return states
