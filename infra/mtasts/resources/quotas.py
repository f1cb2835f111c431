"""Quotas at deployment: the account's applied values, the stack's problems with them, and the shards.

The quota table and the arithmetic live one layer down, in :mod:`mtasts.quotas` (the config check and the plan
use them offline); what a stack needs of each quota is :func:`mtasts.plan.stack_needs`. This module holds what
only the Pulumi program does with them (plain Python still, no Pulumi import):

* :func:`applied_quotas` and :func:`quota_problems`: the account's applied values (Service Quotas API) and
  the quotas the stack would exceed, each with the command that raises it.
* :func:`assign_shards`, how dedicated distributions share origin access controls and CloudFront Functions
  without any of them passing its per-resource quota, stably across deployments.

The names of :mod:`mtasts.quotas` and :func:`~mtasts.plan.stack_needs` are re-exported here for the modules
and tests that import them from this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..plan import stack_needs
from ..quotas import QUOTAS, SHARDED, Need, Quota, quota_values, shard_capacity, shard_count

__all__ = [
    "QUOTAS",
    "Need",
    "Quota",
    "QuotaProblem",
    "applied_quotas",
    "assign_shards",
    "quota_problems",
    "quota_values",
    "shard_capacity",
    "shard_count",
    "stack_needs",
]


def assign_shards(domains: Iterable[str], previous: Mapping[str, Any] | None, capacity: int) -> dict[str, int]:
    """Each dedicated domain's shard, keeping the previous deployment's choice wherever it still fits.

    A domain keeps its shard while that shard still exists and holds at most ``capacity`` kept domains, so
    adding or removing domains never moves other distributions to another OAC or function (each move is a
    distribution update, and moves in both directions at once could briefly put one shard over its quota).
    The others (new domains, and those of a shard dropped because the stack shrank) go, in name order, to the
    lowest shard with room. Shards are ``0 .. shard_count - 1``; their total room is at least the number of
    domains, so everyone fits. Moves only ever go *into* a shard, so no shard passes ``capacity`` mid-update.
    """
    names = sorted(set(domains))
    count = shard_count(len(names), capacity)
    kept: dict[str, int] = {}
    fill: Counter[int] = Counter()
    prior = previous if isinstance(previous, Mapping) else {}
    for name in names:
        shard = prior.get(name)
        if isinstance(shard, int) and not isinstance(shard, bool) and 0 <= shard < count and fill[shard] < capacity:
            kept[name] = shard
            fill[shard] += 1
    shard = 0
    for name in names:
        if name in kept:
            continue
        while fill[shard] >= capacity:
            shard += 1
        kept[name] = shard
        fill[shard] += 1
    return kept


@dataclass(frozen=True)
class QuotaProblem:
    """A quota the stack would exceed."""

    need: Need
    """What the stack uses."""
    applied: int
    """The account's applied value (or the assumed one, offline)."""

    def __str__(self) -> str:
        q = self.need.quota
        code = q.code or "<code: aws service-quotas list-service-quotas --service-code " + q.service + ">"
        raise_it = (
            f"raise it: aws service-quotas request-service-quota-increase --service-code {q.service} "
            f"--quota-code {code} --desired-value {self.need.needed}"
            if q.adjustable
            else "it cannot be raised: split the domains across stacks or accounts"
        )
        return (
            f"mta-sts:quotas.{q.key}: the stack needs {self.need.needed} ({q.what}; {self.need.note}), "
            f"the account allows {self.applied} ({q.service} quota {q.code or q.names[0]}); {raise_it} "
            f"({q.source})"
        )


def quota_problems(needs: Iterable[Need], applied: Mapping[str, int] | None = None) -> list[QuotaProblem]:
    """One problem per quota the stack would exceed.

    ``applied`` are the account's values (from :func:`applied_quotas`); a quota missing there is checked
    against the value the stack assumes. A sharded quota is exceeded when the stack's shard size (the
    ``mta-sts:quotas`` override) is above the account's applied value: the program would put more
    distributions on one OAC or function than AWS allows.
    """
    problems = []
    for need in needs:
        limit = need.limit
        if applied and need.quota.key in applied:
            limit = applied[need.quota.key]
        if need.needed > limit or (need.quota.key in SHARDED and need.needed and need.limit > limit):
            problems.append(QuotaProblem(need, limit))
    return problems


def applied_quotas(client: Any) -> dict[str, int]:
    """The account's applied values of :data:`QUOTAS`, from the Service Quotas API (``ListServiceQuotas``).

    ``client`` is a boto3 ``service-quotas`` client in us-east-1 (CloudFront's and Route 53's quotas are
    global and listed there; the kit's certificates are in us-east-1). Quotas are matched by code, else by
    name; a quota the API does not list (never adjusted, or a renamed one) is left out, and the caller falls
    back to the default.
    """
    wanted: dict[str, list[Quota]] = {}
    for q in QUOTAS.values():
        wanted.setdefault(q.service, []).append(q)
    values: dict[str, int] = {}
    for service, quotas in wanted.items():
        listed = _listed(client.list_service_quotas, service)
        for q in quotas:
            for item in listed:
                name = str(item.get("QuotaName", "")).strip().lower()
                if (q.code and item.get("QuotaCode") == q.code) or name in q.names:
                    values[q.key] = int(float(item["Value"]))
                    break
    return values


def _listed(call: Callable[..., Any], service: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(50):  # bounded: a service lists a few hundred quotas at most
        page = call(ServiceCode=service, **({"NextToken": token} if token else {}))
        items.extend(page.get("Quotas", []))
        token = page.get("NextToken")
        if not token:
            break
    return items
