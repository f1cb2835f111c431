"""Shared hosting: one CloudFront multi-tenant distribution for the stack, one distribution tenant per domain.

CloudFront SaaS Manager (pulumi-aws 7: ``aws.cloudfront.MultitenantDistribution``, ``ConnectionGroup``,
``DistributionTenant``). Why and when: docs/deploy.md, "Choosing a hosting mode". What keeps tenants apart:

* the distribution's only origin is the policy bucket with origin path ``/{{policyDomain}}``, a required tenant
  parameter; each tenant sets it to its own domain, so a tenant's origin requests can only reach
  ``<its domain>/.well-known/mta-sts.txt`` (and the path filter answers 404 for any other path at the edge);
* a tenant serves only its own ``mta-sts.<domain>``, with its own CloudFront-managed certificate (HTTP
  validation: CloudFront answers the validation request itself once the name resolves to it, so nobody
  publishes a validation record);
* CloudFront keeps each tenant's cache apart (invalidations are per tenant:
  ``CreateInvalidationForDistributionTenant``), and the rollout step invalidates and verifies each changed
  tenant by its own host name (mtasts.resources.providers.rollout).

A ``dns: external`` domain's tenant can only be created once ``mta-sts.<domain>`` points at CloudFront
(CloudFront checks it: "Could not verify Domain Name ownership", aws/aws-sdk-php issue 3129), that is once its
owner published the delegation CNAMEs. Until then the domain is *pending*: the kit writes its targets in the
hosting zone but declares no tenant and no TXT record, so the rest of the stack deploys; ``mtasts check``
names the missing CNAMEs.

A live domain moves between the modes only with ``switch_hosting: true`` (mtasts.resources.hosting.mode_moves;
docs/deploy.md, "Changing modes"). Moving in, its dedicated distribution is kept but released (no alias) and
the tenant presents the domain's validated ACM certificate, then the host records follow; moving out,
:func:`tenant_handover` releases the tenant (:class:`TenantRelease`) before the distribution claims the name.

A tenant's name and the delegation check are :mod:`.tenants`; releasing a tenant is
:mod:`mtasts.resources.providers.tenant_release`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..plan import DomainPlan
from .credentials import AwsSettings
from .hosted import HostedDomain
from .parts import (
    CACHING_OPTIMIZED_POLICY_ID,
    DistributionSettings,
    acm_certificate,
    alias_records,
    policy_distribution,
    policy_object,
    rollout_entry,
    value_only,
)
from .providers.tenant_release import TenantReleaseProvider as TenantReleaseProvider  # its name in older states
from .store import PolicyStore, path_filter
from .tenant_release import TenantRelease
from .tenants import tenant_name

__all__ = [
    "MANAGED_IGNORED",
    "TENANT_PARAMETER",
    "SharedDomain",
    "SharedDomainArgs",
    "SharedHosting",
    "SharedHostingArgs",
    "TenantReleaseProvider",
    "tenant_handover",
]

#: The tenant parameter naming the domain whose objects a tenant reads (the origin path's only variable).
TENANT_PARAMETER = "policyDomain"
#: What a tenant with a CloudFront-managed certificate leaves to the provider (see :func:`_tenant`).
MANAGED_IGNORED = ("customizations",)


@dataclass(frozen=True)
class SharedHostingArgs:
    """Inputs of the stack's shared hosting."""

    stack: str
    """Stack name, for descriptions."""
    store: PolicyStore
    """The stack's bucket."""


class SharedHosting(pulumi.ComponentResource):
    """The multi-tenant distribution, its connection group, origin access control and path filter."""

    def __init__(self, name: str, args: SharedHostingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mtasts:index:SharedHosting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.origin_access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            description=f"MTA-STS policies of stack {args.stack} (shared hosting)",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        self.path_filter = path_filter(f"{name}-path-filter", child)
        self.connection_group = aws.cloudfront.ConnectionGroup(
            f"{name}-connection-group", enabled=True, ipv6_enabled=True, opts=child
        )
        self.distribution = aws.cloudfront.MultitenantDistribution(
            f"{name}-distribution",
            comment=f"MTA-STS policies of stack {args.stack} (one tenant per domain)",
            enabled=True,
            http_version="http2and3",
            origins=[
                {
                    "id": "policy-bucket",
                    "domain_name": args.store.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": self.origin_access_control.id,
                    # Each tenant reads only under its own domain's prefix (see the module docstring).
                    "origin_path": "/{{" + TENANT_PARAMETER + "}}",
                }
            ],
            default_cache_behavior={
                "target_origin_id": "policy-bucket",
                # https-only: never a 3xx on the policy URL (RFC 8461 §3.3)
                "viewer_protocol_policy": "https-only",
                "allowed_methods": {"items": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"]},
                "cache_policy_id": CACHING_OPTIMIZED_POLICY_ID,
                "compress": True,
                "function_associations": [{"event_type": "viewer-request", "function_arn": self.path_filter.arn}],
            },
            tenant_config={
                "parameter_definitions": [
                    {
                        "name": TENANT_PARAMETER,
                        "definitions": [
                            {
                                "string_schemas": [
                                    {"required": True, "comment": "policy domain; objects under <domain>/"}
                                ]
                            }
                        ],
                    }
                ]
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            # Tenants bring their own certificates; the distribution's is never presented to a sender.
            viewer_certificate={"cloudfront_default_certificate": True},
            opts=child,
        )
        self.register_outputs({"routingEndpoint": self.connection_group.routing_endpoint})


@dataclass(frozen=True)
class SharedDomainArgs:
    """Inputs of one shared domain."""

    plan: DomainPlan
    """What to publish."""
    store: PolicyStore
    """The stack's bucket."""
    hosting: SharedHosting
    """The multi-tenant distribution and connection group."""
    zone_id: pulumi.Input[str]
    """Route53 zone of the domain's records (the hosting zone for ``dns: external``)."""
    pending: bool = False
    """The owner has not published the delegation CNAMEs yet: no tenant, no TXT (module docstring)."""
    us_east_1: aws.Provider | None = None
    """Set for a domain that came from (or is now coming from) dedicated hosting: its tenant keeps presenting the
    domain's validated ACM certificate (same resources as under dedicated), so a move waits on no validation."""
    release: DistributionSettings | None = None
    """Moving in from dedicated hosting in this deployment: the domain's distribution, declared released (no
    alias) so the tenant can claim the host name; the next deployment deletes it (docs/deploy.md)."""
    orphan: str | None = None
    """The id of a tenant with this domain's name that a failed deployment left in the account
    (mtasts.resources.orphans): released (disabled and deleted) before the tenant is created again."""
    aws_settings: AwsSettings | None = None
    """The stack's ``aws:*`` settings, for the release of :attr:`orphan`."""


class SharedDomain(HostedDomain):
    """One domain as a tenant of the shared distribution: object, host records, tenant, then TXT records."""

    hosting = "shared"

    def __init__(self, name: str, args: SharedDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, args.plan, args.zone_id, opts)
        plan = args.plan
        self.pending = args.pending
        child = pulumi.ResourceOptions(parent=self)
        self.policy_object = policy_object(name, plan, args.store, child)
        routing = args.hosting.connection_group.routing_endpoint
        self.released_distribution: aws.cloudfront.Distribution | None = None
        self.tenant: aws.cloudfront.DistributionTenant | None = None
        if args.us_east_1 is not None:
            self._carried_acm(name, args, routing)
        else:
            self._managed(name, args, routing)

    def _managed(self, name: str, args: SharedDomainArgs, routing: pulumi.Output[str]) -> None:
        """A tenant with a CloudFront-managed certificate: host records first (CloudFront checks them), then it."""
        plan = self.plan
        child = pulumi.ResourceOptions(parent=self)
        if plan.external:
            # Behind the owner's CNAME: one CNAME more to the connection group.
            _, host_name = plan.location(plan.mta_sts_host)
            self.alias_records = [
                aws.route53.Record(
                    f"{name}-cname",
                    zone_id=args.zone_id,
                    name=host_name,
                    type="CNAME",
                    ttl=300,
                    records=[routing],
                    allow_overwrite=plan.config.allow_overwrite,
                    opts=child,
                )
            ]
        else:
            # Same record names as dedicated hosting: a mode switch updates the alias target in place.
            self.alias_records = alias_records(self, name, args.zone_id, routing)
        if not args.pending:
            self.tenant = _tenant(
                self,
                name,
                args.hosting,
                None,
                pulumi.ResourceOptions(parent=self, depends_on=[*self.alias_records, *self._orphan(name, args)]),
            )

    def _carried_acm(self, name: str, args: SharedDomainArgs, routing: pulumi.Output[str]) -> None:
        """A tenant presenting the domain's ACM certificate: old side released, tenant, *then* host records.

        The certificate covers the host name, so CloudFront accepts the tenant before the name resolves to it;
        the A/AAAA records (the same two as under dedicated hosting, also for a ``dns: external`` domain, whose
        records are in the hosting zone) move to the connection group only once the tenant exists.
        """
        if args.us_east_1 is None:
            raise ValueError(f"{name}: a tenant presenting its ACM certificate needs the us-east-1 provider")
        self.certificate, self.validation_record, validated = acm_certificate(self, name, args.zone_id, args.us_east_1)
        self.certificate_validation = validated
        released: list[pulumi.Resource] = []
        if args.release is not None:
            # Released as late as possible: after the multi-tenant distribution and connection group exist.
            self.released_distribution = policy_distribution(
                self,
                name,
                args.release,
                certificate_arn=validated.certificate_arn,
                released=True,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[args.hosting.distribution, args.hosting.connection_group]
                ),
            )
            released = [self.released_distribution]
        self.tenant = _tenant(
            self,
            name,
            args.hosting,
            validated.certificate_arn,
            pulumi.ResourceOptions(parent=self, depends_on=[*released, validated, *self._orphan(name, args)]),
        )
        self.alias_records = alias_records(self, name, args.zone_id, routing, depends_on=[self.tenant])

    def _orphan(self, name: str, args: SharedDomainArgs) -> list[pulumi.Resource]:
        """The release of the tenant a failed deployment left under this domain's name, if there is one."""
        if args.orphan is None:
            return []
        release = TenantRelease(
            f"{name}-orphan-release",
            args.orphan,
            args.aws_settings or AwsSettings(),
            pulumi.ResourceOptions(parent=self),
        )
        return [release]

    @property
    def own_distributions(self) -> list[aws.cloudfront.Distribution]:
        """The dedicated distribution it keeps, released, for the deployment that moves it in (else none)."""
        return [] if self.released_distribution is None else [self.released_distribution]

    @property
    def serving(self) -> list[pulumi.Resource]:
        """What a sender needs before the id changes: object, host records, the tenant (and its certificate)."""
        extra = [r for r in (self.tenant, self.certificate_validation) if r is not None]
        return [self.policy_object, *self.alias_records, *extra]

    def rollout_target(self, shared_distribution_id: pulumi.Input[str] | None) -> pulumi.Output[dict[str, Any]] | None:
        """The domain's entry in the rollout step (its tenant, of the shared distribution); ``None`` while pending."""
        if self.tenant is None:
            return None
        if shared_distribution_id is None:
            raise ValueError(f"{self.pulumi_resource_name}: a tenant's rollout target needs the shared distribution")
        distribution_id = shared_distribution_id
        # Waits for the object and the host records by value, as the dedicated target does: a domain moving in
        # from dedicated hosting updates its A/AAAA only after its tenant exists (see _carried_acm).
        ready = [value_only(r.fqdn) for r in self.alias_records]
        return pulumi.Output.all(self.tenant.id, distribution_id, value_only(self.policy_object.etag), *ready).apply(
            lambda v: rollout_entry(self.plan, "tenant", v[0], v[1])
        )

    @property
    def serves_policy(self) -> bool:
        """A tenant serves the policy; a pending domain has none yet (and so no TXT records)."""
        return self.tenant is not None


def _tenant(
    component: HostedDomain,
    name: str,
    hosting: SharedHosting,
    certificate_arn: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
) -> aws.cloudfront.DistributionTenant:
    """The domain's tenant: its host name, its parameter, and a CloudFront-managed or its own ACM certificate.

    A tenant with a CloudFront-managed certificate ignores changes to ``customizations``: once the certificate is
    issued the provider writes ``customizations.certificate.arn`` into the state itself (``distribution_tenant.go``,
    Create: ``updateDistributionTenantWithManagedCertificate``), and a program declaring no ``customizations``
    would then diff ("block count changed from 0 to 1", Terraform AWS provider issues #45987 and #48354) and
    redeploy every tenant on every ``pulumi up``. The ARN is CloudFront's to choose, so it cannot be declared;
    the bridge applies ``ignoreChanges`` from the prior state in Diff and Update (pulumi-terraform-bridge,
    ``pkg/pf/tfbridge/provider_diff.go``, ``unstable/propertyvalue/ignore_changes.go``), which keeps the ARN.
    The whole top-level key is named: a nested path (``customizations.certificate``) is skipped when the
    program's inputs have no ``customizations`` object at all.
    """
    plan = component.plan
    certificate: dict[str, Any] = (
        {"customizations": {"certificate": {"arn": certificate_arn}}}
        if certificate_arn is not None
        else {
            "managed_certificate_request": {
                "primary_domain_name": plan.mta_sts_host,
                # CloudFront serves the HTTP validation token itself: no record for anyone to publish.
                "validation_token_host": "cloudfront",
                "certificate_transparency_logging_preference": "enabled",
            }
        }
    )
    # A host name is on one tenant at a time, so a replacement can only delete first; the name cannot be
    # updated ("can't be updated after you create", CreateDistributionTenant), so a new one replaces.
    opts = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(delete_before_replace=True, replace_on_changes=["name"])
    )
    if certificate_arn is None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=list(MANAGED_IGNORED)))
    return aws.cloudfront.DistributionTenant(
        f"{name}-tenant",
        name=tenant_name(plan.domain),
        distribution_id=hosting.distribution.id,
        connection_group_id=hosting.connection_group.id,
        domains=[{"domain": plan.mta_sts_host}],
        parameters=[{"name": TENANT_PARAMETER, "value": plan.domain}],
        enabled=True,
        opts=opts,
        **certificate,
    )


def tenant_handover(
    hosting: SharedHosting, aws_settings: AwsSettings, carried_acm: bool
) -> Callable[[HostedDomain, aws.acm.CertificateValidation], list[pulumi.Resource]]:
    """For a domain moving from shared to dedicated hosting in this deployment: release its tenant first.

    Returns the ``handover`` of mtasts.resources.domain.MtaStsDomainArgs. It declares, under the domain's
    component, the tenant as it was (unchanged, so no update; ``retain_on_delete``, so the next deployment,
    which no longer declares it, only forgets it) and a :class:`TenantRelease` that disables and deletes it once
    the domain's new ACM certificate is validated. The distribution claiming the host name depends on that
    release: a host name is on one distribution or tenant at a time (``CNAMEAlreadyExists``), and a tenant lets
    go of it only when deleted, or disabled and moved (``UpdateDomainAssociation``, CloudFront API reference).
    ``carried_acm``: the tenant presented the domain's ACM certificate (it came from dedicated hosting before).
    """

    def handover(component: HostedDomain, validated: aws.acm.CertificateValidation) -> list[pulumi.Resource]:
        name = component.pulumi_resource_name
        arn = validated.certificate_arn if carried_acm else None
        old = _tenant(component, name, hosting, arn, pulumi.ResourceOptions(parent=component, retain_on_delete=True))
        release = TenantRelease(
            f"{name}-tenant-release",
            old.id,
            aws_settings,
            opts=pulumi.ResourceOptions(parent=component, depends_on=[old, validated]),
        )
        return [release]

    return handover
