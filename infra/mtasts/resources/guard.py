"""A per-domain guard that refuses to be deleted while senders may still hold the domain's policy.

Every resource of a domain depends on its guard, so Pulumi deletes the guard
first; while deleting is unsafe (RFC 8461 §8.3, see
:mod:`mtasts.lifecycle.retirement`) the delete fails with one line saying
until when, and nothing of the domain is removed — also on ``pulumi destroy``,
which runs no program.

The guard's state is the retirement record: it is computed from the
previous state on every update, so no clock value ever enters the policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from ..lifecycle.retirement import DomainState, advance, from_output, removal_problems

__all__ = ["RetirementGuard", "RetirementGuardProvider"]

_INPUTS = ("domain", "mode", "max_age", "policy_id", "ttl")


def _state(previous: DomainState | None, props: dict[str, Any], now: float) -> DomainState:
    return advance(previous, str(props["mode"]), int(props["max_age"]), str(props["policy_id"]), int(props["ttl"]), now)


class RetirementGuardProvider(ResourceProvider):
    """Dynamic provider keeping the retirement record and refusing unsafe deletes."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Record the first published policy."""
        state = _state(None, props, self.clock())
        return CreateResult(id_=f"guard-{props['domain']}", outs={**props, **asdict(state)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Update in place whenever the published policy changes."""
        return DiffResult(changes=any(olds.get(k) != news.get(k) for k in _INPUTS), replaces=[])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Carry the record forward from the previous state."""
        previous = from_output({"d": olds}).get("d")
        return UpdateResult(outs={**news, **asdict(_state(previous, news, self.clock()))})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Refuse while senders may still hold an enforce/testing policy of the domain."""
        state = from_output({props["domain"]: props})
        problems = removal_problems(state, [], self.clock())
        if problems:
            raise Exception(str(problems[0]))  # dynamic providers report failures as exceptions


class RetirementGuard(pulumi.dynamic.Resource):
    """Holds a domain's retirement record; deleting it is refused until that is safe."""

    mode: pulumi.Output[str]
    max_age: pulumi.Output[int]
    policy_id: pulumi.Output[str]
    ttl: pulumi.Output[int]
    active_max_age: pulumi.Output[int]
    none_since: pulumi.Output[float | None]

    def __init__(
        self, name: str, domain: str, mode: str, max_age: int, policy_id: str, ttl: int, opts: pulumi.ResourceOptions
    ) -> None:
        props = {
            "domain": domain,
            "mode": mode,
            "max_age": max_age,
            "policy_id": policy_id,
            "ttl": ttl,
            "active_max_age": None,
            "none_since": None,
        }
        super().__init__(RetirementGuardProvider(), name, props, opts)
