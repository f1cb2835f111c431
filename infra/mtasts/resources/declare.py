"""The functions that declare the components of a deployment, as :mod:`.program` orders them.

:func:`declare_domains` places each domain as the pure hosting plan (:class:`~mtasts.resources.hosting.HostingPlan`)
says; :func:`declare_reports` declares the TLS-RPT endpoint with its query and alarms. No decisions here beyond
which component's arguments come from which setting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pulumi
import pulumi_aws as aws

from ..alerts.settings import alerts_from_settings
from ..plan import StackPlan
from ..tlsrpt.metrics import namespace_for
from .alerts import Alerts, AlertsArgs, watched_domains
from .credentials import AwsSettings
from .domain import MtaStsDomain, MtaStsDomainArgs
from .hosted import HostedDomain
from .hosting import HostingPlan
from .outputs import pick
from .parts import DistributionSettings
from .query import ReportsQuery, ReportsQueryArgs, glue_name
from .reports import TlsRptReceiver, TlsRptReceiverArgs
from .shared import SharedDomain, SharedDomainArgs, SharedHosting, tenant_handover
from .store import PolicyStore

__all__ = ["declare_domains", "declare_reports"]


def declare_domains(
    plan: StackPlan,
    hosting: HostingPlan,
    store: PolicyStore,
    shared: SharedHosting | None,
    shard_of: Mapping[str, pulumi.Output[int]],
    *,
    zone_id: Callable[[str], pulumi.Input[str]],
    settings: AwsSettings,
    orphans: Mapping[str, str],
    us_east_1: aws.Provider | None,
) -> dict[str, HostedDomain]:
    """One component per domain of ``plan``, as ``hosting`` places it: its own distribution, or a shared tenant.

    A domain moving to ``shared`` keeps its distribution for this deployment and hands its host over to its tenant
    (:func:`~mtasts.resources.shared.tenant_handover`); one moving to ``dedicated`` keeps its tenant and releases
    the distribution it will move to (:class:`~mtasts.resources.parts.DistributionSettings`). ``us_east_1`` is
    the provider of the ACM certificates (None when no domain presents one).
    """
    price_class = str(plan.config.settings.get("priceClass", "PriceClass_100"))
    oac_ids = [o.id for o in store.origin_access_controls]
    filter_arns = [f.arn for f in store.path_filters]
    domains: dict[str, HostedDomain] = {}
    for d in plan.domains:
        zone, _ = d.location(d.sts_record.name)
        move = hosting.moves.get(d.domain)
        if d.config.hosting == "dedicated" and us_east_1 is not None:
            handover = None
            if move == "shared" and shared is not None:
                handover = tenant_handover(shared, settings, carried_acm=d.domain in hosting.acm_before)
            domains[d.domain] = MtaStsDomain(
                d.domain,
                MtaStsDomainArgs(
                    plan=d,
                    store=store,
                    zone_id=zone_id(zone),
                    us_east_1=us_east_1,
                    price_class=price_class,
                    origin_access_control_id=pick(shard_of[d.domain], oac_ids),
                    path_filter_arn=pick(shard_of[d.domain], filter_arns),
                    handover=handover,
                ),
            )
        elif shared is not None:
            release = None
            if move == "dedicated":
                release = DistributionSettings(
                    store=store,
                    price_class=price_class,
                    origin_access_control_id=pick(shard_of[d.domain], oac_ids),
                    path_filter_arn=pick(shard_of[d.domain], filter_arns),
                )
            domains[d.domain] = SharedDomain(
                d.domain,
                SharedDomainArgs(
                    plan=d,
                    store=store,
                    hosting=shared,
                    zone_id=zone_id(zone),
                    pending=d.domain in hosting.pending,
                    us_east_1=us_east_1 if d.domain in hosting.carried else None,
                    release=release,
                    orphan=orphans.get(d.domain),
                    aws_settings=settings,
                ),
            )
    return domains


def declare_reports(
    plan: StackPlan, zone_id: Callable[[str], pulumi.Input[str]], settings: AwsSettings
) -> tuple[TlsRptReceiver | None, ReportsQuery | None]:
    """The TLS-RPT endpoint of ``mta-sts:reports``, its Athena query and alarms; (None, None) without that key."""
    reports = plan.config.settings.get("reports")
    if not isinstance(reports, dict):
        return None, None
    query: ReportsQuery | None = None
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
    return receiver, query
