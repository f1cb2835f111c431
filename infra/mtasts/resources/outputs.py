"""Outputs in the program: one per domain out of a mapping, and the stack outputs the next deployment reads back.

:func:`fan_out` splits the rollout's report and the shard assignment per domain in one pass (Pulumi's SDK would
otherwise inspect the whole mapping once per domain); :func:`domain_outputs` is a domain's entry in the
``domains`` stack output that :func:`mtasts.resources.hosting.mode_moves` reads on the next deployment.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi

from .hosted import HostedDomain
from .sdk import output_from

__all__ = [
    "MAX_EXPLICIT_ROLLOUT_EDGES",
    "SHARDS_OUTPUT",
    "domain_outputs",
    "fan_out",
    "pick",
    "report_failures",
]

#: Up to this many domains each TXT record also names the rollout step in ``depends_on``. Beyond it the order is
#: carried by the record's value alone (it is the rollout's output), because Pulumi's SDK walks a dependency's
#: whole graph on each edge (``resource_cycle_breaker``), and the rollout's graph is the whole stack.
MAX_EXPLICIT_ROLLOUT_EDGES = 200


def fan_out(output: pulumi.Output[Any], keys: list[str], keep_dependency: bool) -> dict[str, pulumi.Output[Any]]:
    """One output per key of ``output``'s mapping, all resolved by a single pass over it.

    ``output.apply(lambda m: m[key])`` once per domain would make Pulumi's SDK inspect the whole mapping (for
    unknowns) once per domain: quadratic in the stack. With ``keep_dependency`` false the outputs carry the
    value but not ``output``'s resources, see :data:`MAX_EXPLICIT_ROLLOUT_EDGES`.
    """
    loop = asyncio.get_event_loop()
    futures: dict[str, asyncio.Future[Any]] = {k: loop.create_future() for k in keys}

    async def spread() -> None:
        try:
            value = await output.future(with_unknowns=True)
        except Exception as exc:  # every waiting output fails the same way
            for f in futures.values():
                f.set_exception(exc)
            return
        for k, f in futures.items():
            f.set_result(value.get(k) if isinstance(value, dict) else None)

    spreading = asyncio.ensure_future(spread())
    known = asyncio.ensure_future(output.is_known())
    secret = asyncio.ensure_future(output.is_secret())
    resources: Any = output.resources() if keep_dependency else set()
    if keep_dependency:
        resources = asyncio.ensure_future(resources)

    async def value_of(key: str) -> Any:
        await spreading
        return await futures[key]

    return {k: output_from(resources, value_of(k), known, secret) for k in keys}


#: Stack output holding each dedicated domain's shard.
SHARDS_OUTPUT = "hostingShards"


def pick(shard: pulumi.Output[int], values: list[pulumi.Output[str]]) -> Any:
    """The value of the domain's ``shard`` among ``values`` (one per shard)."""
    return pulumi.Output.all(shard, *values).apply(lambda v: v[1 + v[0]])


def report_failures(failures: object) -> None:
    """Log each domain the rollout held back as an error: ``pulumi up`` then fails, after all else is done."""
    if isinstance(failures, dict):
        for domain, why in sorted(failures.items()):
            pulumi.log.error(f"domains.{domain}: policy not verified live, its _mta-sts TXT keeps the old id: {why}")


def domain_outputs(c: HostedDomain, moved_from: str | None = None) -> dict[str, Any]:
    """A domain's entry in the ``domains`` output, read back by the next deployment (:func:`mode_moves`).

    ``certificate`` says whether the domain presents its ACM certificate (``acm``: dedicated, or a tenant that
    came from dedicated) or a CloudFront-managed one; ``switchedFrom`` names the mode this deployment moved it
    out of, whose leftovers the next deployment deletes.
    """
    plan = c.plan
    delegation: list[Any] = [r.to_dict() for r in plan.delegation] + c.owner_records()
    return {
        "policyUrl": c.policy_url,
        "policyId": c.policy_id,
        "txtValues": {r.name: r.value for r in plan.records},
        "hosting": c.hosting,
        "distributionDomainName": c.distribution_domain_name,
        "delegation": delegation,
        "pending": c.pending,
        "certificate": "acm" if c.certificate_validation is not None else "cloudfront",
        "switchedFrom": moved_from,
    }
