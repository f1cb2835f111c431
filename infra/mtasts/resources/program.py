"""The Pulumi program: stack config → the same plan as `mtasts plan` → AWS resources.

``infra/__main__.py`` calls :func:`main`; tests call :func:`deploy` under Pulumi's mock runtime. The table of
contents of a deployment, in order:

1. :func:`main`: the stack's ``mta-sts:*`` settings (:func:`read_settings`) → :func:`mtasts.plan.plan_stack`,
   the enforce preflight, the account's quotas, the previous deployment's outputs, the tenants a failed
   deployment left (:func:`tenant_orphans`); nothing declared yet.
2. :func:`deploy`: refusals first (:func:`mtasts.resources.hosting.mode_moves`), then the hosting plan
   (:func:`mtasts.resources.hosting.hosting_plan`: who is dedicated, shared, moving, carried, pending), pure data;
3. the bucket and its shards (:mod:`.store`), the shared distribution (:mod:`.shared`), one component per domain
   (:class:`~mtasts.resources.domain.MtaStsDomain` or :class:`~mtasts.resources.shared.SharedDomain`), the
   bucket policy;
4. the rollout step (:mod:`.rollout`), then each domain's TXT records with the id it verified;
5. the TLS-RPT endpoint (:mod:`.reports`), the retirement guard (:mod:`.guard`), and the stack outputs that the
   next deployment reads back.

Why over 400 lines: :func:`deploy` is the one place where the order of a deployment is written down, and the
helpers around it (output fan-out, stack outputs) exist only for it.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from ..alerts.settings import alerts_from_settings
from ..config import NAMESPACE, STACK_KEYS, TemplateStore, parse_stack_settings
from ..errors import MtastsError
from ..lifecycle.retirement import OUTPUT_NAME, from_output, removal_problems
from ..plan import StackPlan, plan_stack
from ..tlsrpt.metrics import namespace_for
from .alerts import Alerts, AlertsArgs, watched_domains
from .credentials import AwsSettings, aws_settings
from .credentials import boto3_session as settings_session
from .credentials import provider as explicit_provider
from .domain import DistributionSettings, HostedDomain, MtaStsDomain, MtaStsDomainArgs
from .guard import RetirementGuard
from .hosting import hosting_plan, live_ids, mode_moves, previous_hosting
from .orphans import find_orphans
from .query import ReportsQuery, ReportsQueryArgs, glue_name
from .quotas import applied_quotas, assign_shards, quota_problems, quota_values, shard_capacity, shard_count
from .reports import TlsRptReceiver, TlsRptReceiverArgs
from .rollout import PolicyRollout
from .sdk import output_from, stack_config_keys, wait
from .shared import (
    SharedDomain,
    SharedDomainArgs,
    SharedHosting,
    SharedHostingArgs,
    published_delegations,
    tenant_handover,
    tenant_name,
)
from .store import PolicyStore, PolicyStoreArgs

__all__ = [
    "boto3_session",
    "deploy",
    "main",
    "mode_moves",
    "read_settings",
    "tenant_orphans",
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


def boto3_session(settings: AwsSettings, region: str = "us-east-1") -> Any:
    """The boto3 session of the program's own calls (the Service Quotas read), as the stack's ``aws:*`` settings say."""
    return settings_session(settings, region)


#: Up to this many domains each TXT record also names the rollout step in ``depends_on``. Beyond it the order is
#: carried by the record's value alone (it is the rollout's output), because Pulumi's SDK walks a dependency's
#: whole graph on each edge (``resource_cycle_breaker``), and the rollout's graph is the whole stack.
MAX_EXPLICIT_ROLLOUT_EDGES = 200


def _fan_out(output: pulumi.Output[Any], keys: list[str], keep_dependency: bool) -> dict[str, pulumi.Output[Any]]:
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
    price_class = str(plan.config.settings.get("priceClass", "PriceClass_100"))
    overrides = plan.config.settings.get("quotas")
    capacity = shard_capacity(quota_values(overrides if isinstance(overrides, dict) else None))
    before = previous_domains if isinstance(previous_domains, dict) else None
    moves: dict[str, str] = {}
    if before is not None:
        moves, problems = mode_moves(before, plan)
        if problems:  # before anything is declared: nothing half-deployed
            raise pulumi.RunError("\n".join(f"error: {p}" for p in problems))
    hosting = hosting_plan(plan, before, moves, delegated)
    carried, dedicated_names = hosting.carried, list(hosting.dedicated)
    shards = shard_count(len(dedicated_names), capacity) if dedicated_names else 0
    us_east_1 = us_east_1_provider(settings) if dedicated_names or carried else None
    store = PolicyStore("policies", PolicyStoreArgs(stack=stack, shards=shards))
    assignment = pulumi.Output.from_input(previous_shards).apply(
        lambda prev: assign_shards(dedicated_names, prev if isinstance(prev, dict) else None, capacity)
    )
    shard_of = _fan_out(assignment, dedicated_names, keep_dependency=True)
    shared = SharedHosting("shared", SharedHostingArgs(stack=stack, store=store)) if hosting.shared else None
    domains: dict[str, HostedDomain] = {}
    oac_ids = [o.id for o in store.origin_access_controls]
    filter_arns = [f.arn for f in store.path_filters]
    for d in plan.domains:
        zone, _ = d.location(d.sts_record.name)
        if d.config.hosting == "dedicated" and us_east_1 is not None:
            handover = None
            if moves.get(d.domain) == "shared" and shared is not None:
                handover = tenant_handover(shared, settings, carried_acm=d.domain in hosting.acm_before)
            domains[d.domain] = MtaStsDomain(
                d.domain,
                MtaStsDomainArgs(
                    plan=d,
                    store=store,
                    zone_id=zone_id(zone),
                    us_east_1=us_east_1,
                    price_class=price_class,
                    origin_access_control_id=_pick(shard_of[d.domain], oac_ids),
                    path_filter_arn=_pick(shard_of[d.domain], filter_arns),
                    handover=handover,
                ),
            )
        elif shared is not None:
            release = None
            if moves.get(d.domain) == "dedicated":
                release = DistributionSettings(
                    store=store,
                    price_class=price_class,
                    origin_access_control_id=_pick(shard_of[d.domain], oac_ids),
                    path_filter_arn=_pick(shard_of[d.domain], filter_arns),
                )
            domains[d.domain] = SharedDomain(
                d.domain,
                SharedDomainArgs(
                    plan=d,
                    store=store,
                    hosting=shared,
                    zone_id=zone_id(zone),
                    pending=d.domain in hosting.pending,
                    us_east_1=us_east_1 if d.domain in carried else None,
                    release=release,
                    orphan=(orphans or {}).get(d.domain),
                    aws_settings=settings,
                ),
            )
    arns = [c.distribution.arn for c in domains.values() if isinstance(c, MtaStsDomain)]
    arns += [
        c.released_distribution.arn
        for c in domains.values()
        if isinstance(c, SharedDomain) and c.released_distribution is not None
    ]
    if shared is not None:
        arns.append(shared.distribution.arn)
    bucket_policy = store.grant_read(arns, tenants=shared is not None)
    targets: dict[str, pulumi.Output[dict[str, Any]]] = {}
    for name, c in domains.items():
        target = c.rollout_target(shared.distribution.id if shared is not None else None)
        if target is not None:
            targets[name] = target
    # One step for the whole deployment (mtasts.resources.rollout). Its targets wait for each distribution or
    # tenant (a dependency the engine records) and for each object and host record (by value only: thousands of
    # recorded edges into one resource cost Pulumi's SDK quadratic time, see MAX_EXPLICIT_ROLLOUT_EDGES).
    rollout = PolicyRollout(
        "policy-rollout",
        pulumi.Output.all(**targets) if targets else {},
        aws_settings=settings,
        opts=pulumi.ResourceOptions(depends_on=[bucket_policy]),
        live=live_ids(before),
        moving=sorted(moves),
    )
    explicit = len(domains) <= MAX_EXPLICIT_ROLLOUT_EDGES
    published = _fan_out(rollout.published, list(domains), keep_dependency=explicit)
    for name, component in domains.items():
        component.publish(published[name], readable=[bucket_policy], rollout=rollout if explicit else None)
    rollout.failures.apply(_report_failures)
    reports = plan.config.settings.get("reports")
    receiver = None
    query: ReportsQuery | None = None
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
                aws_settings=settings,
                metrics_namespace=namespace_for(pulumi.get_project(), pulumi.get_stack()),
                per_domain_metrics=alerts_from_settings(plan.config.settings).per_domain_metrics,
            ),
        )
        if reports.get("query") == "athena":
            query = ReportsQuery(
                "tlsrpt-query",
                ReportsQueryArgs(
                    bucket=receiver.bucket.bucket,
                    database=glue_name(pulumi.get_stack()),
                    scan_limit_bytes=int(reports["query_scan_limit_mib"]) * 1024 * 1024,
                    results_days=int(reports["query_results_days"]),
                ),
            )
        alert_settings = alerts_from_settings(plan.config.settings)
        if alert_settings.alarms:
            enforce = [d.domain for d in plan.domains if d.config.mode == "enforce" and not d.config.retire]
            Alerts(
                "mtasts-alerts",
                AlertsArgs(
                    namespace=namespace_for(pulumi.get_project(), pulumi.get_stack()),
                    email=alert_settings.email,
                    https=alert_settings.https,
                    fleet_failure_rate=alert_settings.fleet_failure_rate,
                    min_sessions=alert_settings.min_sessions,
                    baseline_domains=watched_domains(
                        enforce, alert_settings.per_domain_metrics, alert_settings.baseline_domains
                    ),
                ),
            )

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
        "domains": {name: _domain_outputs(c, moves.get(name)) for name, c in domains.items()},
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


#: Stack output holding each dedicated domain's shard.
SHARDS_OUTPUT = "hostingShards"


def _pick(shard: pulumi.Output[int], values: list[pulumi.Output[str]]) -> Any:
    """The value of the domain's ``shard`` among ``values`` (one per shard)."""
    return pulumi.Output.all(shard, *values).apply(lambda v: v[1 + v[0]])


def _report_failures(failures: object) -> None:
    """Log each domain the rollout held back as an error: ``pulumi up`` then fails, after all else is done."""
    if isinstance(failures, dict):
        for domain, why in sorted(failures.items()):
            pulumi.log.error(f"domains.{domain}: policy not verified live, its _mta-sts TXT keeps the old id: {why}")


def _domain_outputs(c: HostedDomain, moved_from: str | None = None) -> dict[str, Any]:
    """A domain's entry in the ``domains`` output, read back by the next deployment (:func:`mode_moves`).

    ``certificate`` says whether the domain presents its ACM certificate (``acm``: dedicated, or a tenant that
    came from dedicated) or a CloudFront-managed one; ``switchedFrom`` names the mode this deployment moved it
    out of, whose leftovers the next deployment deletes.
    """
    plan = c.plan
    delegation: list[Any] = [r.to_dict() for r in plan.delegation]
    if isinstance(c, MtaStsDomain) and plan.external:
        # A dedicated external domain from before hosting modes: its owner also keeps ACM's validation CNAME.
        validation = c.certificate.domain_validation_options[0]
        delegation.append(
            pulumi.Output.all(validation.resource_record_name, validation.resource_record_value).apply(
                lambda v: {"name": v[0].rstrip("."), "type": "CNAME", "value": v[1].rstrip("."), "ttl": plan.config.ttl}
            )
        )
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
    settings = aws_settings()
    if plan.config.settings.get("preflight", True):
        # Every switch_hosting domain counted on both sides (the offline view of mtasts plan; see stack_needs).
        _check_quotas(plan, settings)
    own = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    reference = pulumi.StackReference(own)
    # Read now, not as an output: which resources a hosting switch declares depends on it (mode_moves).
    previous_domains = _previous_output(reference, "domains")
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
        orphans=tenant_orphans(plan, before, delegated, settings),
    )
    for name, value in outputs.items():
        pulumi.export(name, value)


def tenant_orphans(
    plan: StackPlan, previous: dict[str, Any], delegated: set[str] | None, settings: AwsSettings, client: Any = None
) -> dict[str, str]:
    """Tenants a failed deployment left under the names of domains whose tenant this deployment creates.

    Those domains are the shared ones not live on shared hosting in the last ``domains`` output (and not pending):
    a tenant the stack holds belongs to a live domain, so it is never taken for an orphan. Each orphan found is
    logged with what CloudFront says about it (mtasts.resources.orphans) and released before its domain's
    tenant is created; one whose host CloudFront finds not pointing at the connection group fails the program
    before anything is declared. When the tenants cannot be listed, a warning says so and nothing is released.
    """
    wanted = {
        tenant_name(d.domain): d.domain
        for d in plan.domains
        if d.config.hosting == "shared"
        and previous_hosting(previous.get(d.domain)) != "shared"
        and not (d.external and delegated is not None and d.domain not in delegated)
    }
    if not wanted:
        return {}
    try:
        client = client or boto3_session(settings).client("cloudfront", region_name="us-east-1")
        found = find_orphans(client, wanted)
    except Exception as exc:  # a failed lookup proves nothing: the create reports a real orphan itself
        pulumi.log.warn(f"could not list the account's distribution tenants ({exc}); orphans left by a failed "
                        "deployment are not looked for")  # fmt: skip
        return {}
    wrong = [o.message() for o in found.values() if o.dns_wrong]
    if wrong:
        raise pulumi.RunError("\n".join(f"error: {m}" for m in wrong))
    for orphan in found.values():
        pulumi.log.warn(orphan.message())
    return {domain: o.tenant_id for domain, o in found.items()}


def _previous_output(reference: pulumi.StackReference, name: str) -> object:
    """The stack's own output ``name`` from its last deployment, read synchronously (``None`` if it has none).

    Stack references are resolved in preview too, so the value is always known; Pulumi's SDK waits the same way
    for its synchronous invokes (:func:`mtasts.resources.sdk.wait`).
    """
    output = reference.get_output(name)
    if not isinstance(output, pulumi.Output):
        return None
    return wait(output)


def _check_quotas(plan: StackPlan, settings: AwsSettings, client: Any = None) -> None:
    """Refuse, before declaring anything, a stack that would pass one of the account's applied quotas.

    Reads the applied values with the Service Quotas API (``ListServiceQuotas``, us-east-1) and fails with one
    line per quota exceeded, naming its code and the command that raises it (mtasts.resources.quotas).
    """
    if client is None:
        client = boto3_session(settings).client("service-quotas", region_name="us-east-1")
    try:
        applied = applied_quotas(client)
    except Exception as exc:  # without the API, the stack's assumed values are checked
        pulumi.log.warn(f"could not read the account's quotas ({exc}); checking against mta-sts:quotas / defaults")
        applied = {}
    problems = quota_problems(plan.quota_needs(), applied)
    if problems:
        raise pulumi.RunError("quotas exceeded:\n" + "\n".join(f"error: {p}" for p in problems))


def _preflight(plan: StackPlan) -> None:
    """Refuse to deploy enforce-mode domains whose live MX hosts the policy does not cover (RFC 8461 §4.1)."""
    from ..checker import preflight as gate  # looked up at call time, so tests can stand in for live DNS

    problems = gate.preflight(plan)
    if problems:
        raise pulumi.RunError("preflight failed:\n" + "\n".join(f"error: {p}" for p in problems))
