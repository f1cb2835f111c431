"""The provider of the stack's retirement guard: it refuses to let a domain go while senders may still hold its policy.

One dynamic resource per stack holds the retirement record of every domain
(see :mod:`mtasts.lifecycle.retirement`). It depends on every domain's
resources, so:

* it is updated *after* each domain's new TXT record is live, which is when a
  mode ``none`` policy really took effect;
* when the config drops a domain, its update fails while that is unsafe
  (RFC 8461 §8.3), and Pulumi deletes removed resources only after every
  update succeeded, so nothing of the domain goes;
* on ``pulumi destroy`` (which runs no program) it is deleted first, and its
  delete fails the same way, before anything it depends on is touched.

No clock value ever enters a policy: time is only read here, to stamp when
``none`` went live.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from ...lifecycle.retirement import advance, from_output, removal_problems, to_output

__all__ = ["GuardFailure", "RetirementGuardProvider"]


class GuardFailure(Exception):
    """Removing a domain now could strand senders' cached policies."""


def _published(domains: dict[str, Any]) -> dict[str, tuple[str, int, str, int]]:
    return {d: (str(v["mode"]), int(v["max_age"]), str(v["policy_id"]), int(v["ttl"])) for d, v in domains.items()}


class RetirementGuardProvider(ResourceProvider):
    """Keeps the retirement record across deployments and refuses unsafe removals."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def _record(self, previous: object, domains: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        before = from_output(previous)
        problems = removal_problems(before, domains, now)
        if problems:
            raise GuardFailure("; ".join(str(p) for p in problems))
        states = {
            name: advance(before.get(name), mode, max_age, policy_id, ttl, now)
            for name, (mode, max_age, policy_id, ttl) in _published(domains).items()
        }
        return to_output(states)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Start the record with the stack's first deployment."""
        record = self._record({}, props["domains"])
        return CreateResult(id_="retirement-guard", outs={**props, "record": record})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Update in place whenever a domain's published policy changes, or a domain comes or goes."""
        return DiffResult(changes=olds.get("domains") != news.get("domains"), replaces=[])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Carry the record forward; fail if a dropped domain may not go yet."""
        return UpdateResult(outs={**news, "record": self._record(olds.get("record"), news["domains"])})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Refuse ``pulumi destroy`` while any domain may not go yet."""
        problems = removal_problems(from_output(props.get("record")), [], self.clock())
        if problems:
            raise GuardFailure("; ".join(str(p) for p in problems))
