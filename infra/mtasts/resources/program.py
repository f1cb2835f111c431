"""The Pulumi program: stack config → the same plan as `mtasts plan` → AWS resources.

``infra/__main__.py`` calls :func:`main`; tests call :func:`deploy` under
Pulumi's mock runtime.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

from ..config import NAMESPACE, STACK_KEYS, TemplateStore, parse_stack_settings
from ..errors import MtastsError
from ..lifecycle.retirement import OUTPUT_NAME, from_output, removal_problems
from ..plan import StackPlan, plan_stack
from .domain import MtaStsDomain, MtaStsDomainArgs
from .guard import RetirementGuard
from .reports import TlsRptReceiver, TlsRptReceiverArgs
from .store import PolicyStore, PolicyStoreArgs

__all__ = ["deploy", "main", "read_settings", "tune_garbage_collector"]


def read_settings() -> dict[str, object]:
    """Every ``mta-sts:*`` key of the running stack, parsed from JSON, namespace stripped."""
    prefix = f"{NAMESPACE}:"
    keys = {k for k in (*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.config.get_config_env()) if k}
    names = {k[len(prefix) :] for k in keys if k.startswith(prefix)} | {"domains", *STACK_KEYS}
    config = pulumi.Config(NAMESPACE)
    settings: dict[str, object] = {}
    for name in sorted(names):
        try:
            value = config.get_object(name)
        except Exception:  # a value that is not JSON is kept as the string it is
            value = config.get(name)
        if value is not None:
            settings[name] = value
    return settings


def _zone_ids() -> Callable[[str], pulumi.Output[str]]:
    cache: dict[str, pulumi.Output[str]] = {}

    def lookup(zone: str) -> pulumi.Output[str]:
        if zone not in cache:
            cache[zone] = aws.route53.get_zone_output(name=zone, private_zone=False).zone_id
        return cache[zone]

    return lookup


def _refuse_unsafe_removals(previous: object, planned: list[str], now: float) -> dict[str, Any]:
    problems = removal_problems(from_output(previous), planned, now)
    if problems:
        raise pulumi.RunError("\n".join(f"error: {p}" for p in problems))
    return {}


def deploy(
    plan: StackPlan,
    *,
    stack: str,
    aws_profile: str | None = None,
    previous_retirement: pulumi.Input[object] | None = None,
    now: float | None = None,
    zone_id: Callable[[str], pulumi.Input[str]] | None = None,
) -> dict[str, Any]:
    """Declare every resource of ``plan`` and return the stack outputs.

    ``previous_retirement`` is the ``retirement`` output of the stack's last deployment; a domain it lists
    that the plan drops before that is safe (RFC 8461 §8.3) fails the program, in preview already.
    """
    now = time.time() if now is None else now
    zone_id = zone_id or _zone_ids()
    price_class = str(plan.config.settings.get("priceClass", "PriceClass_100"))
    us_east_1 = aws.Provider("aws-us-east-1", region="us-east-1", profile=aws_profile)
    store = PolicyStore("policies", PolicyStoreArgs(stack=stack))
    domains: dict[str, MtaStsDomain] = {}
    for d in plan.domains:
        zone, _ = d.location(d.sts_record.name)
        domains[d.domain] = MtaStsDomain(
            d.domain,
            MtaStsDomainArgs(
                plan=d,
                store=store,
                zone_id=zone_id(zone),
                us_east_1=us_east_1,
                price_class=price_class,
                aws_profile=aws_profile,
            ),
        )
    bucket_policy = store.grant_read([c.distribution.arn for c in domains.values()])
    for component in domains.values():
        component.publish(readable=[bucket_policy])
    reports = plan.config.settings.get("reports")
    receiver = None
    if isinstance(reports, dict):
        receiver = TlsRptReceiver(
            "tlsrpt-receiver",
            TlsRptReceiverArgs(
                endpoint=str(reports["endpoint"]),
                zone_id=zone_id(str(reports["zone"])),
                retention_days=int(reports["retention_days"]),
                mailbox=str(reports["mail_uri"]).removeprefix("mailto:") if reports.get("mail_uri") else None,
                region=aws.get_region_output().region,
                domains=tuple(d.domain for d in plan.domains),
                rate_limit=int(reports["rate_limit"]),
                burst_limit=int(reports["burst_limit"]),
                reserved_concurrency=reports["reserved_concurrency"],
                max_body_bytes=int(reports["max_body_kib"]) * 1024,
                replace_active_rule_set=bool(reports["replace_active_rule_set"]),
                aws_profile=aws_profile,
            ),
        )

    # After every domain (it depends on all of them): see mtasts.resources.guard.
    guard = RetirementGuard(
        "retirement-guard", list(plan.domains), pulumi.ResourceOptions(depends_on=list(domains.values()))
    )
    planned = sorted(domains)
    guard_check = pulumi.Output.from_input(previous_retirement).apply(
        lambda prev: _refuse_unsafe_removals(prev, planned, now)
    )
    return {
        "bucketName": store.bucket.bucket,
        "domains": {
            name: {
                "policyUrl": c.policy_url,
                "policyId": c.policy_id,
                "txtValues": {r.name: r.value for r in c.plan.records},
                "distributionDomainName": c.distribution.domain_name,
                "delegation": _delegation(c),
            }
            for name, c in domains.items()
        },
        "reportsEndpoint": receiver.uri if receiver else None,
        "reportsBucket": receiver.bucket.bucket if receiver else None,
        # Read back by the next deployment to refuse unsafe removals; see docs/gitops.md.
        OUTPUT_NAME: pulumi.Output.all(guard_check, guard.record).apply(lambda v: v[1]),
    }


def _delegation(component: MtaStsDomain) -> list[Any]:
    """CNAMEs the owner of a ``dns: external`` domain publishes, ACM validation included."""
    plan = component.plan
    if not plan.external:
        return []
    validation = component.certificate.domain_validation_options[0]
    records: list[Any] = [r.to_dict() for r in plan.delegation]
    records.append(
        pulumi.Output.all(validation.resource_record_name, validation.resource_record_value).apply(
            lambda v: {"name": v[0].rstrip("."), "type": "CNAME", "value": v[1].rstrip("."), "ttl": plan.config.ttl}
        )
    )
    return records


def tune_garbage_collector() -> None:
    """Turn off CPython's cyclic collector for a Pulumi program process; call once, before :func:`main`.

    Pulumi's SDK makes thousands of objects per resource (futures, tasks, outputs), keeps them until the
    program ends, and leaves hundreds of small reference cycles per domain (a recursive closure in
    ``pulumi.runtime.rpc.contains_unknowns``). The collector keeps traversing all of that: with CPython's
    defaults declaring a stack costs about 53 ms per added domain up to 500 domains, growing faster than
    linearly, 34 ms of it collecting; raising the thresholds only brought it to about 30 ms, as every object
    is still traversed. Without the collector it is about 20 ms and linear (bench/bench_program.py, docs/deploy.md).
    The price is the cycles' memory, which reference counting cannot free: peak 371 instead of 352 MiB at 500
    domains, returned when the short-lived program process exits. What the imports made is frozen first, after
    one collection.

    Only the program's process calls this (``infra/__main__.py``): it changes the interpreter's global
    state, which a test process should not inherit.
    """
    gc.collect()
    gc.freeze()
    gc.disable()


def main(templates: TemplateStore | None = None) -> None:
    """Entry point of ``infra/__main__.py``: validate, plan, check, declare, export."""
    try:
        plan = plan_stack(parse_stack_settings(read_settings(), templates, f"stack {pulumi.get_stack()}"))
    except MtastsError as exc:
        raise pulumi.RunError("invalid stack config:\n" + "\n".join(f"error: {line}" for line in exc.lines())) from None
    if plan.config.settings.get("preflight", True):
        _preflight(plan)
    own = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    previous = pulumi.StackReference(own).get_output(OUTPUT_NAME)
    outputs = deploy(
        plan,
        stack=pulumi.get_stack(),
        aws_profile=pulumi.Config("aws").get("profile"),
        previous_retirement=previous,
    )
    for name, value in outputs.items():
        pulumi.export(name, value)


def _preflight(plan: StackPlan) -> None:
    """Refuse to deploy enforce-mode domains whose live MX hosts the policy does not cover (RFC 8461 §4.1)."""
    from ..checker import preflight as gate  # looked up at call time, so tests can stand in for live DNS

    problems = gate.preflight(plan)
    if problems:
        raise pulumi.RunError("preflight failed:\n" + "\n".join(f"error: {p}" for p in problems))
