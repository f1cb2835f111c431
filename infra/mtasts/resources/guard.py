"""The stack's retirement guard: it refuses to let a domain go while senders may still hold its policy.

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

What it does when Pulumi runs it is its provider's, :mod:`mtasts.resources.providers.guard`; states hold that
provider under this module's name too (tests/test_provider_state.py), so it stays importable here.
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
