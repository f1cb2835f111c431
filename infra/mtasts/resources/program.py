"""The Pulumi program: stack config → the same plan as `mtasts plan` → AWS resources.

``infra/__main__.py`` calls :func:`main`; tests call :func:`deploy` under Pulumi's mock runtime. This module is
the table of contents of a deployment, in order:

1. :func:`main`: the stack's ``mta-sts:*`` settings (:func:`read_settings`) → :func:`mtasts.plan.plan_stack`,
   then the checks and reads of :mod:`.gates` (enforce preflight, the account's quotas, the previous
   deployment's outputs, the tenants a failed deployment left); nothing declared yet.
2. :func:`deploy`: refusals first (:func:`mtasts.resources.hosting.mode_moves`), then the hosting plan
   (:func:`mtasts.resources.hosting.hosting_plan`: who is dedicated, shared, moving, carried, pending), pure data;
3. the bucket and its shards (:mod:`.store`), the shared distribution (:mod:`.shared`), one component per domain
   (:func:`~mtasts.resources.declare.declare_domains`: :class:`~mtasts.resources.domain.MtaStsDomain` or
   :class:`~mtasts.resources.shared.SharedDomain`), the bucket policy;
4. the rollout step (:mod:`.rollout`), then each domain's TXT records with the id it verified;
5. the TLS-RPT endpoint (:func:`~mtasts.resources.declare.declare_reports`: :mod:`.reports`, :mod:`.query`,
   :mod:`.alerts`), the retirement guard (:mod:`.guard`), and the stack outputs that the next deployment reads
   back (:mod:`.outputs`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from ..config import NAMESPACE, STACK_KEYS, TemplateStore, parse_stack_settings
from ..errors import MtastsError
from ..lifecycle.retirement import OUTPUT_NAME, from_output, removal_problems
from ..plan import StackPlan, plan_stack
from . import gates
from .credentials import AwsSettings, aws_settings
from .credentials import provider as explicit_provider
from .declare import declare_domains, declare_reports
from .guard import RetirementGuard
from .hosting import hosting_plan, live_ids, mode_moves
from .outputs import MAX_EXPLICIT_ROLLOUT_EDGES, SHARDS_OUTPUT, domain_outputs, fan_out, report_failures
from .quotas import assign_shards, quota_values, shard_capacity, shard_count
from .rollout import PolicyRollout
from .sdk import stack_config_keys
from .shared import SharedHosting, SharedHostingArgs
from .store import PolicyStore, PolicyStoreArgs
from .tenants import published_delegations

__all__ = [
    "deploy",
    "main",
    "read_settings",
    "tune_garbage_collector",
    "us_east_1_provider",
]


def read_settings() -> dict[str, object]:
    """Every ``mta-sts:*`` key of the running stack, parsed from JSON, namespace stripped."""
    prefix = f"{NAMESPACE}:"
    keys = stack_config_keys()
    present = {k[len(prefix) :] for k in keys if k.startswith(prefix)}
    config = pulumi.Config(NAMESPACE)
    settings: dict[str, object] = {}
    for name in sorted(present | {"domains", *STACK_KEYS}):
        try:
            value = config.get_object(name)
        except Exception:  # a value that is not JSON is kept as the string it is
            value = config.get(name)
        if value is not None:
            settings[name] = value
        elif name == "domains" and name in present:
            settings[name] = None  # present but empty: "is empty", as `mtasts plan` says, not "is missing"
    return settings


def _zone_ids() -> Callable[[str], pulumi.Output[str]]:
    cache: dict[str, pulumi.Output[str]] = {}

    def lookup(zone: str) -> pulumi.Output[str]:
        if zone not in cache:
            cache[zone] = aws.route53.get_zone_output(name=zone, private_zone=False).zone_id
        return cache[zone]

    return lookup


def _refuse_mode_switches(previous: object, plan: StackPlan) -> dict[str, Any]:
    """Fail the program (in preview already) on any refusal of :func:`mode_moves`."""
    _, problems = mode_moves(previous, plan)
    if problems:
        raise pulumi.RunError("\n".join(f"error: {p}" for p in problems))
    return {}


def _refuse_unsafe_removals(previous: object, planned: list[str], now: float) -> dict[str, Any]:
    problems = removal_problems(from_output(previous), planned, now)
    if problems:
        raise pulumi.RunError("\n".join(f"error: {p}" for p in problems))
    return {}


def us_east_1_provider(settings: AwsSettings) -> aws.Provider:
    """The explicit provider for CloudFront's certificates (us-east-1), with every ``aws:*`` setting of the stack.

    Explicit providers do not inherit the stack's ``aws:*`` settings (profile, assumed roles, allowed accounts,
    default tags, …), so mtasts.resources.credentials passes them on. The name stays ``aws-us-east-1``: another
    name would replace the provider and every certificate it manages.
    """
    return explicit_provider("aws-us-east-1", "us-east-1", settings)


def deploy(
    plan: StackPlan,
    *,
    stack: str,
    aws_settings: AwsSettings | None = None,
    previous_retirement: pulumi.Input[object] | None = None,
    now: float | None = None,
    zone_id: Callable[[str], pulumi.Input[str]] | None = None,
    previous_shards: pulumi.Input[object] | None = None,
    previous_domains: pulumi.Input[object] | None = None,
    delegated: set[str] | None = None,
    orphans: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Declare every resource of ``plan`` and return the stack outputs.

    ``previous_retirement`` is the ``retirement`` output of the stack's last deployment; a domain it lists
    that the plan drops before that is safe (RFC 8461 §8.3) fails the program, in preview already.
    ``previous_shards`` is its ``hostingShards`` output, so dedicated distributions keep their origin access
    control and function (mtasts.resources.quotas.assign_shards). ``previous_domains`` is its ``domains``
    output, read before anything is declared when it is a plain mapping (as :func:`main` passes it): a live
    domain whose hosting mode changed is moved if it opts in and refused otherwise (:func:`mode_moves`), and a
    domain that came from dedicated hosting keeps its ACM certificate in shared hosting.
    ``delegated`` are the ``dns: external`` domains whose owner published the CNAMEs (``None``: all); the
    others are pending (mtasts.resources.shared). ``aws_settings`` are the stack's ``aws:*`` settings, which the
    us-east-1 provider and every dynamic provider's AWS calls use (mtasts.resources.credentials). ``orphans``
    maps a domain to the tenant a failed deployment left under its name (mtasts.resources.orphans), released
    before its tenant is created again.
    """
    settings = aws_settings or AwsSettings()
    now = time.time() if now is None else now
    zone_id = zone_id or _zone_ids()
    # The hosting plan, pure data; its refusals before anything is declared: nothing half-deployed.
    before = previous_domains if isinstance(previous_domains, dict) else None
    moves: dict[str, str] = {}
    if before is not None:
        moves, problems = mode_moves(before, plan)
        if problems:
            raise pulumi.RunError("\n".join(f"error: {p}" for p in problems))
    hosting = hosting_plan(plan, before, moves, delegated)
    # The bucket and its shards, the shared distribution, one component per domain, the bucket policy.
    overrides = plan.config.settings.get("quotas")
    capacity = shard_capacity(quota_values(overrides if isinstance(overrides, dict) else None))
    dedicated_names = list(hosting.dedicated)
    shards = shard_count(len(dedicated_names), capacity) if dedicated_names else 0
    store = PolicyStore("policies", PolicyStoreArgs(stack=stack, shards=shards))
    assignment = pulumi.Output.from_input(previous_shards).apply(
        lambda prev: assign_shards(dedicated_names, prev if isinstance(prev, dict) else None, capacity)
    )
    shared = SharedHosting("shared", SharedHostingArgs(stack=stack, store=store)) if hosting.shared else None
    domains = declare_domains(
        plan,
        hosting,
        store,
        shared,
        fan_out(assignment, dedicated_names, keep_dependency=True),
        zone_id=zone_id,
        settings=settings,
        orphans=orphans or {},
        us_east_1=us_east_1_provider(settings) if hosting.dedicated or hosting.carried else None,
    )
    arns = [distribution.arn for c in domains.values() for distribution in c.own_distributions]
    if shared is not None:
        arns.append(shared.distribution.arn)
    bucket_policy = store.grant_read(arns, tenants=shared is not None)
    # One rollout step for the whole deployment (mtasts.resources.rollout), then each domain's TXT records. Its
    # targets wait for each distribution or tenant (a dependency the engine records) and for each object and host
    # record (by value only: thousands of recorded edges into one resource cost Pulumi's SDK quadratic time, see
    # MAX_EXPLICIT_ROLLOUT_EDGES).
    targets: dict[str, pulumi.Output[dict[str, Any]]] = {}
    for name, c in domains.items():
        target = c.rollout_target(shared.distribution.id if shared is not None else None)
        if target is not None:
            targets[name] = target
    rollout = PolicyRollout(
        "policy-rollout",
        pulumi.Output.all(**targets) if targets else {},
        aws_settings=settings,
        opts=pulumi.ResourceOptions(depends_on=[bucket_policy]),
        live=live_ids(before),
        moving=sorted(moves),
    )
    explicit = len(domains) <= MAX_EXPLICIT_ROLLOUT_EDGES
    published = fan_out(rollout.published, list(domains), keep_dependency=explicit)
    for name, component in domains.items():
        component.publish(published[name], readable=[bucket_policy], rollout=rollout if explicit else None)
    rollout.failures.apply(report_failures)
    receiver, query = declare_reports(plan, zone_id, settings)
    # After every domain: see mtasts.resources.guard. Its TXT records are each domain's last resources (they
    # depend on all the others); naming only them, not every child, keeps this one resource's edges few
    # (Pulumi's SDK copies a resource's dependency set on every edge it adds). A pending domain has none yet.
    last = [r for c in domains.values() for r in (c.txt_records or c.serving)]
    guard = RetirementGuard("retirement-guard", list(plan.domains), pulumi.ResourceOptions(depends_on=last))
    planned = sorted(domains)
    switch_check: Any = {}
    if before is None:  # an output: checked once it is known (preview still fails, but after declaring)
        switch_check = pulumi.Output.from_input(previous_domains).apply(lambda prev: _refuse_mode_switches(prev, plan))
    guard_check = pulumi.Output.from_input(previous_retirement).apply(
        lambda prev: _refuse_unsafe_removals(prev, planned, now)
    )
    return {
        "bucketName": store.bucket.bucket,
        "domains": {name: domain_outputs(c, moves.get(name)) for name, c in domains.items()},
        "reportsEndpoint": receiver.uri if receiver else None,
        "reportsBucket": receiver.bucket.bucket if receiver else None,
        # `mtasts reports summarize --engine athena --athena-workgroup … --athena-database …` (docs/reports.md)
        "reportsAthena": {"workgroup": query.workgroup.name, "database": query.database.name, "table": query.table.name}
        if query
        else None,
        # Read back by the next deployment to refuse unsafe removals; see docs/gitops.md.
        OUTPUT_NAME: pulumi.Output.all(guard_check, switch_check, guard.record).apply(lambda v: v[2]),
        # Read back by the next deployment so no distribution changes shard needlessly.
        SHARDS_OUTPUT: assignment,
        "sharedRoutingEndpoint": shared.connection_group.routing_endpoint if shared else None,
    }


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
        gates.preflight(plan)
    settings = aws_settings()
    if plan.config.settings.get("preflight", True):
        # Every switch_hosting domain counted on both sides (the offline view of mtasts plan; see stack_needs).
        gates.check_quotas(plan, settings)
    own = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    reference = pulumi.StackReference(own)
    # Read now, not as an output: which resources a hosting switch declares depends on it (mode_moves).
    previous_domains = gates.previous_output(reference, "domains")
    before = previous_domains if isinstance(previous_domains, dict) else {}
    delegated = published_delegations(plan.domains)
    outputs = deploy(
        plan,
        stack=pulumi.get_stack(),
        aws_settings=settings,
        previous_retirement=reference.get_output(OUTPUT_NAME),
        previous_shards=reference.get_output(SHARDS_OUTPUT),
        previous_domains=before,
        delegated=delegated,
        orphans=gates.tenant_orphans(plan, before, delegated, settings),
    )
    for name, value in outputs.items():
        pulumi.export(name, value)
