"""Terminal rendering (rich) of what the commands found. Formatting only, no logic."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from .names import to_unicode
from .plan import StackPlan


def console() -> Console:
    """A stdout console; wide when not a terminal, so logs do not wrap record values."""
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False, soft_wrap=False)


def _duration(seconds: int) -> str:
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600)):
        if seconds and seconds % size == 0:
            return f"{seconds} ({seconds // size}{unit})"
    return str(seconds)


def print_plan(plan: StackPlan) -> None:
    """One summary table of domains, then every DNS record to publish."""
    out = console()
    if not plan.domains:
        out.print("No domains in the stack config.")
        return
    domains = Table(title="Policies", title_justify="left")
    for column in ("Domain", "Mode", "max_age", "MX patterns", "Policy id", "Policy URL"):
        domains.add_column(column, overflow="fold")
    for d in plan.domains:
        name = d.domain if to_unicode(d.domain) == d.domain else f"{d.domain}\n({to_unicode(d.domain)})"
        domains.add_row(
            name, d.config.mode, _duration(d.config.max_age), "\n".join(d.config.mx) or "-", d.policy_id, d.policy_url
        )
    out.print(domains)
    records = Table(title="DNS records", title_justify="left")
    for column in ("Name", "Type", "TTL", "Value"):
        records.add_column(column, overflow="fold")
    for d in plan.domains:
        for r in d.records:
            _, name = d.location(r.name)
            records.add_row(name if name == r.name else f"{name}\n(seen as {r.name})", r.type, str(r.ttl), r.value)
    out.print(records)
    delegated = [d for d in plan.domains if d.delegation]
    if delegated:
        owner = Table(title="CNAMEs each domain owner publishes once (dns: external)", title_justify="left")
        for column in ("Name", "Type", "Value"):
            owner.add_column(column, overflow="fold")
        for d in delegated:
            for r in d.delegation:
                owner.add_row(r.name, r.type, r.value)
        out.print(owner)
    print_quotas(plan)


def print_quotas(plan: StackPlan) -> None:
    """What the stack needs of each AWS quota next to the value it assumes (mtasts.resources.quotas)."""
    quotas = Table(title="AWS quotas (needed / assumed limit; pulumi up checks the account's applied values)")
    for column in ("Quota", "Needed", "Limit", "AWS default", "Counts"):
        quotas.add_column(column, overflow="fold")
    for need in plan.quota_needs():
        q = need.quota
        flag = "" if need.ok else "  EXCEEDED"
        quotas.add_row(q.key, f"{need.needed}{flag}", str(need.limit), str(q.default), need.note)
    console().print(quotas)
