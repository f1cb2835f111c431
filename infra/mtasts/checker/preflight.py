"""The enforce preflight gate: never switch on enforce while a live MX host would fail the policy.

Used by ``mtasts plan --preflight`` and by the Pulumi program before it
declares anything (stack setting ``mta-sts:preflight``, default on).

What counts as a live MX host follows the sender: the MX records, or without
any the domain itself (the implicit MX of RFC 5321 §5.1), which RFC 8461 §4.1
and §5 then check against the policy's ``mx`` patterns like any MX host. So:

- no MX records and the domain's own name not covered: **error** (enforce would
  make every MTA-STS sender refuse the only host mail can go to);
- NXDOMAIN: **error** (the domain does not exist as seen from here, so nothing
  can be verified, and the usual cause is a typo or a zone not yet delegated:
  enforcing blind is what the gate exists to prevent);
- a null MX (RFC 7505): no problem (the domain accepts no mail; no policy can
  strand any);
- no answer from the resolver: **error**, with the switch that skips the gate.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import dns.exception

from ..errors import Problem
from ..plan import DomainPlan, StackPlan
from .caa import caa_problems
from .checks import live_mx, uncovered_mx
from .net import Network

__all__ = ["preflight"]

#: Domains whose MX hosts are looked up at once.
PARALLEL = 64
_SKIP = "set mta-sts:preflight: false to deploy without this check"


def _domain_problems(d: DomainPlan, net: Network) -> list[Problem]:
    path = f"domains.{d.config.key}.mx"
    try:
        answer = net.mx_answer(d.domain, net.deadline())
    except dns.exception.DNSException as exc:
        return [Problem(path, f"cannot look up the live MX hosts ({exc}); {_SKIP}")]
    if answer.nxdomain:
        return [
            Problem(
                path,
                f"{d.domain} does not exist in DNS (NXDOMAIN), so its live MX hosts cannot be checked before "
                f"enforce is switched on (RFC 8461 §5); fix the name or delegate the zone first, or {_SKIP}",
            )
        ]
    hosts, _ = live_mx(d.domain, answer)
    problems = []
    for host in uncovered_mx(hosts, d.config.mx):
        if answer.implicit:
            message = (
                f"{d.domain} has no MX records, so senders deliver to the implicit MX {host} (RFC 5321 §5.1), which "
                f"{', '.join(d.config.mx)} does not cover: in enforce mode senders would refuse it (RFC 8461 §4.1, §5)"
            )
        else:
            message = (
                f"live MX host {host} is not covered by {', '.join(d.config.mx)}: in enforce mode senders would "
                "refuse to deliver to it (RFC 8461 §4.1)"
            )
        problems.append(Problem(path, message))
    return problems


def preflight(plan: StackPlan, net: Network | None = None) -> list[Problem]:
    """Problems of enforce-mode domains' live MX hosts (RFC 8461 §4.1), then of every domain's CAA records.

    An MX host the domain's mx patterns do not all cover is a problem; so are CAA records that keep Amazon from
    issuing the domain's certificate (mtasts.checker.caa). The domains are looked up concurrently, each within
    ``net.timeout`` seconds, in the plan's order.
    """
    net = net or Network(timeout=15.0)
    enforce = [d for d in plan.domains if d.config.mode == "enforce"]
    problems: list[Problem] = []
    if enforce:
        with ThreadPoolExecutor(max_workers=min(PARALLEL, len(enforce))) as pool:
            results = list(pool.map(lambda d: _domain_problems(d, net), enforce))
        problems = [p for found in results for p in found]
    return problems + caa_problems(plan.domains, net)[0]
