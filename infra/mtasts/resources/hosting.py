"""Where each domain is hosted in this deployment: a pure plan, decided before anything is declared.

:func:`mtasts.resources.program.deploy` reads the previous deployment's ``domains`` output and the stack's plan,
and from them alone decides which domains have a distribution of their own (``dedicated``), which are tenants of
the shared distribution (``shared``), which move between the two (they are on both sides for one deployment),
which shared domains present their ACM certificate, and which ``dns: external`` domains wait for their owner's
CNAMEs. No Pulumi here: the decisions are plain data (:class:`HostingPlan`), made before anything is declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..plan import DomainPlan, StackPlan

__all__ = ["HostingPlan", "hosting_plan", "live_ids", "mode_moves", "previous_entry", "previous_hosting"]


@dataclass(frozen=True)
class HostingPlan:
    """Each domain's hosting in this deployment, as :func:`hosting_plan` decides it."""

    moves: Mapping[str, str]
    """Live domains moving between hosting modes: domain → the mode it leaves (:func:`mode_moves`)."""
    dedicated: tuple[str, ...]
    """Domains with a distribution of their own in this deployment, those leaving ``dedicated`` included."""
    shared: tuple[DomainPlan, ...]
    """Domains that are tenants of the shared distribution in this deployment, those leaving ``shared`` included."""
    carried: frozenset[str]
    """Shared domains that keep (or, moving in from dedicated, start) presenting their ACM certificate."""
    pending: frozenset[str]
    """``dns: external`` domains whose owner has not published the CNAMEs yet: nothing is served for them."""
    acm_before: frozenset[str]
    """Domains whose previous deployment presented their ACM certificate (a tenant that came from dedicated)."""


def hosting_plan(
    plan: StackPlan, previous: Mapping[str, Any] | None, moves: Mapping[str, str], delegated: set[str] | None
) -> HostingPlan:
    """The hosting of every domain of ``plan``, given the previous ``domains`` output and the accepted ``moves``.

    ``delegated`` are the ``dns: external`` domains whose owner published the CNAMEs (``None``: all).
    """
    acm_before = frozenset(
        d.domain for d in plan.domains if previous_entry(previous, d.domain).get("certificate") == "acm"
    )
    carried = frozenset(
        d.domain
        for d in plan.domains
        if d.config.hosting == "shared" and (moves.get(d.domain) == "dedicated" or d.domain in acm_before)
    )
    # A domain leaving dedicated keeps its (released) distribution, and its shard, for this deployment.
    dedicated = tuple(
        d.domain for d in plan.domains if d.config.hosting == "dedicated" or moves.get(d.domain) == "dedicated"
    )
    shared = tuple(d for d in plan.domains if d.config.hosting != "dedicated" or moves.get(d.domain) == "shared")
    pending = frozenset(
        d.domain
        for d in plan.domains
        if d.external and delegated is not None and d.domain not in delegated and d.domain not in carried
    )
    return HostingPlan(dict(moves), dedicated, shared, carried, pending, acm_before)


def previous_hosting(entry: object) -> str | None:
    """A domain's hosting mode in the previous ``domains`` output (``None``: not live there).

    Outputs from before hosting modes name none, and every domain was dedicated then (it had a
    ``distributionDomainName``).
    """
    if not isinstance(entry, dict) or entry.get("pending"):
        return None
    hosting = entry.get("hosting")
    if hosting in ("dedicated", "shared"):
        return str(hosting)
    return "dedicated" if entry.get("distributionDomainName") else None


def mode_moves(previous: object, plan: StackPlan) -> tuple[dict[str, str], list[str]]:
    """The live domains this deployment moves between hosting modes (domain → the mode it leaves), and refusals.

    A switch of a live domain happens only where its config opts in (``switch_hosting: true``), never together
    with a change of its policy (one thing at a time: a move changes no byte a sender sees, see docs/deploy.md,
    "Changing modes"), and never into ``dedicated`` for a ``dns: external`` domain. A new ``dns: external``
    domain cannot be dedicated: its ACM validation CNAME would only be known after this deployment, which waits
    on it. Everything else about a switch is declared by :func:`mtasts.resources.program.deploy`.
    """
    before = previous if isinstance(previous, dict) else {}
    moves: dict[str, str] = {}
    problems = []
    for d in plan.domains:
        domain, now, entry = d.domain, d.config.hosting, before.get(d.domain)
        was = previous_hosting(entry)
        if was is not None and now != was:
            old_id = entry.get("policyId") if isinstance(entry, dict) else None
            if not d.config.switch_hosting:
                problems.append(
                    f"domains.{domain}.hosting: {domain} is live on {was} hosting; switching it to {now} needs "
                    f"switch_hosting: true on the domain (the policy URL stops answering for minutes), or keep "
                    f"hosting: {was}; see docs/deploy.md#changing-modes"
                )
            elif d.external and now == "dedicated":
                problems.append(
                    f"domains.{domain}.hosting: a dns: external domain cannot move to dedicated hosting (its ACM "
                    "validation CNAME is only known after the certificate is requested); keep hosting: shared"
                )
            elif isinstance(old_id, str) and old_id != d.policy_id:
                problems.append(
                    f"domains.{domain}.switch_hosting: {domain} moves to {now} hosting and changes its policy (id "
                    f"{old_id} -> {d.policy_id}) in the same deployment; deploy one, then the other"
                )
            else:
                moves[domain] = was
        elif was is None and now == "dedicated" and d.external:
            problems.append(
                f"domains.{domain}.hosting: a new dns: external domain cannot be hosted dedicated (its ACM "
                "validation CNAME is only known after the certificate is requested); use hosting: shared"
            )
    return moves, problems


def live_ids(previous: dict[str, Any] | None) -> dict[str, str]:
    """The id each domain announced after the last deployment (its ``domains`` output), for the rollout's first run.

    Pending domains announced nothing. Domains moving to another distribution or tenant are listed too: the
    rollout verifies them again there (``moving``) and keeps this id as their fallback.
    """
    live = {}
    for domain, entry in (previous or {}).items():
        if isinstance(entry, dict) and not entry.get("pending"):
            policy_id = entry.get("policyId")
            live.update({str(domain): policy_id} if isinstance(policy_id, str) else {})
    return live


def previous_entry(previous: Mapping[str, Any] | None, domain: str) -> dict[str, Any]:
    """``domain``'s entry in the previous ``domains`` output; empty when it has none."""
    entry = (previous or {}).get(domain)
    return entry if isinstance(entry, dict) else {}
