"""The enforce preflight gate: never switch on enforce while a live MX host would fail the policy.

Used by ``mtasts plan --preflight`` and by the Pulumi program before it
declares anything (stack setting ``mta-sts:preflight``, default on).
"""

from __future__ import annotations

import dns.exception

from ..errors import Problem
from ..plan import StackPlan
from .checks import uncovered_mx
from .net import Network

__all__ = ["preflight"]


def preflight(plan: StackPlan, net: Network | None = None) -> list[Problem]:
    """One problem per enforce-mode domain whose live MX hosts its mx patterns do not all cover (RFC 8461 §4.1)."""
    net = net or Network(timeout=15.0)
    problems: list[Problem] = []
    for d in plan.domains:
        if d.config.mode != "enforce":
            continue
        try:
            hosts = net.mx(d.domain)
        except dns.exception.DNSException as exc:
            problems.append(
                Problem(
                    f"domains.{d.config.key}.mx",
                    f"cannot look up the live MX hosts ({exc.__class__.__name__}); "
                    "set mta-sts:preflight: false to deploy without this check",
                )
            )
            continue
        for host in uncovered_mx(hosts, d.config.mx):
            problems.append(
                Problem(
                    f"domains.{d.config.key}.mx",
                    f"live MX host {host} is not covered by {', '.join(d.config.mx)}: in enforce mode senders would "
                    "refuse to deliver to it (RFC 8461 §4.1)",
                )
            )
    return problems
