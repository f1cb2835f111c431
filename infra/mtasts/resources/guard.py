"""The stack's retirement guard, as the program declares it: one dynamic resource after every domain.

It refuses to let a domain go while senders may still hold its policy (RFC 8461 §8.3). How, and why it depends
on every domain's TXT records, is its provider's docstring (:mod:`mtasts.resources.providers.guard`); states
hold that provider under this module's name too (tests/test_provider_state.py), so it stays importable here.
"""

from __future__ import annotations

from typing import Any

import pulumi

from ..plan import DomainPlan
from .providers.guard import GuardFailure, RetirementGuardProvider
from .sdk import CachedProviderResource

__all__ = ["GuardFailure", "RetirementGuard", "RetirementGuardProvider"]


class RetirementGuard(CachedProviderResource):
    """Holds every domain's retirement record; see the module docstring."""

    record: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, domains: list[DomainPlan], opts: pulumi.ResourceOptions) -> None:
        published = {
            d.domain: {
                "mode": d.config.mode,
                "max_age": d.config.max_age,
                "policy_id": d.policy_id,
                "ttl": d.config.ttl,
            }
            for d in domains
        }
        super().__init__(RetirementGuardProvider(), name, {"domains": published, "record": None}, opts)
