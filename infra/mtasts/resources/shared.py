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
  tenant by its own host name (mtasts.resources.rollout).

A ``dns: external`` domain's tenant can only be created once ``mta-sts.<domain>`` points at CloudFront
(CloudFront checks it: "Could not verify Domain Name ownership", aws/aws-sdk-php issue 3129), that is once its
owner published the delegation CNAMEs. Until then the domain is *pending*: the kit writes its targets in the
hosting zone but declares no tenant and no TXT record, so the rest of the stack deploys; ``mtasts check``
names the missing CNAMEs.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..plan import DomainPlan
from ..policy import POLICY_PATH
from .domain import CACHING_OPTIMIZED_POLICY_ID, alias_records, policy_object, publish_txt, value_only
from .store import PolicyStore, path_filter

__all__ = [
    "TENANT_PARAMETER",
    "SharedDomain",
    "SharedDomainArgs",
    "SharedHosting",
    "SharedHostingArgs",
    "published_delegations",
]

#: The tenant parameter naming the domain whose objects a tenant reads (the origin path's only variable).
TENANT_PARAMETER = "policyDomain"


@dataclass(frozen=True)
class SharedHostingArgs:
    """Inputs of the stack's shared hosting."""

    stack: str
    """Stack name, for descriptions."""
    store: PolicyStore
    """The stack's bucket."""
    price_class: str = "PriceClass_100"
    """Unused by CloudFront for multi-tenant distributions (price class is not supported there); kept for docs."""


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


class SharedDomain(pulumi.ComponentResource):
    """One domain as a tenant of the shared distribution: object, host records, tenant, then TXT records."""

    hosting = "shared"

    def __init__(self, name: str, args: SharedDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mtasts:index:MtaStsDomain", name, None, opts)
        plan = args.plan
        self.plan = plan
        self.pending = args.pending
        self._zone_id = args.zone_id
        self._published = False
        child = pulumi.ResourceOptions(parent=self)
        self.policy_object = policy_object(name, plan, args.store, child)
        routing = args.hosting.connection_group.routing_endpoint
        if plan.external:
            # Behind the owner's CNAME: one CNAME more to the connection group. An external domain is always
            # shared, so it never switches to the A/AAAA records of dedicated hosting.
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
        self.tenant: aws.cloudfront.DistributionTenant | None = None
        if not args.pending:
            self.tenant = aws.cloudfront.DistributionTenant(
                f"{name}-tenant",
                name=_tenant_name(plan.domain),
                distribution_id=args.hosting.distribution.id,
                connection_group_id=args.hosting.connection_group.id,
                domains=[{"domain": plan.mta_sts_host}],
                parameters=[{"name": TENANT_PARAMETER, "value": plan.domain}],
                managed_certificate_request={
                    "primary_domain_name": plan.mta_sts_host,
                    # CloudFront serves the HTTP validation token itself: no record for anyone to publish.
                    "validation_token_host": "cloudfront",
                    "certificate_transparency_logging_preference": "enabled",
                },
                enabled=True,
                # CloudFront checks that the name already resolves to it, so the host records come first.
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.alias_records)),
            )
        self.policy_url = plan.policy_url
        self.policy_id = plan.policy_id
        self.txt_records: list[aws.route53.Record] = []

    @property
    def serving(self) -> list[pulumi.Resource]:
        """What a sender needs before the id changes: object, host records, the tenant (and its certificate)."""
        return [self.policy_object, *self.alias_records, *([self.tenant] if self.tenant else [])]

    def rollout_target(self, distribution_id: pulumi.Input[str]) -> pulumi.Output[dict[str, Any]] | None:
        """The domain's entry in the rollout step; ``None`` while pending."""
        if self.tenant is None:
            return None
        return pulumi.Output.all(self.tenant.id, distribution_id, value_only(self.policy_object.etag)).apply(
            lambda v: {
                "policyId": self.plan.policy_id,
                "kind": "tenant",
                "targetId": v[0],
                "distributionId": v[1],
                "paths": [POLICY_PATH],
            }
        )

    def publish(
        self,
        published: pulumi.Input[str | None],
        readable: Sequence[pulumi.Resource] = (),
        rollout: pulumi.Resource | None = None,
    ) -> None:
        """The TXT records (none while pending), then the component's outputs; call exactly once."""
        if self.tenant is not None:
            publish_txt(self, published, readable, rollout)
        else:
            self._published = True
        self.register_outputs({"policyUrl": self.plan.policy_url, "policyId": self.plan.policy_id})


def _tenant_name(domain: str) -> str:
    """A tenant name CloudFront accepts (letters, digits, ``-``, ``.``; at most 128), unique per domain."""
    return f"mtasts-{domain}"[:128]


def published_delegations(
    plans: Iterable[DomainPlan],
    lookup: Callable[[str], Sequence[str]] | None = None,
    workers: int = 32,
) -> set[str]:
    """The ``dns: external`` domains whose ``mta-sts`` CNAME points at the kit's target, or may do.

    ``lookup(name)`` returns the CNAME targets of ``name`` (empty when the name has none or does not exist);
    default: dnspython, 5 s per lookup. A lookup that fails (timeout, SERVFAIL) counts as published: pending
    would drop a live domain's tenant and TXT records, and a transient DNS failure must never do that; for a
    domain that is really not delegated yet CloudFront then refuses the tenant, with its own error. Lookups run
    ``workers`` at a time, so 10,000 domains take seconds.
    """
    external = [p for p in plans if p.external and p.delegation]
    resolve = lookup or _cname_targets

    def check(plan: DomainPlan) -> tuple[str, bool]:
        wanted = plan.delegation[0]
        try:
            targets = {t.rstrip(".").lower() for t in resolve(wanted.name)}
        except Exception as exc:  # transient: keep the domain as it is
            pulumi.log.warn(f"domains.{plan.domain}: could not look up {wanted.name} ({exc}); treated as delegated")
            return plan.domain, True
        return plan.domain, wanted.value.lower() in targets

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return {domain for domain, ok in pool.map(check, external) if ok}


def _cname_targets(name: str) -> list[str]:
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "CNAME", lifetime=5.0, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    return [str(r.target) for r in answer] if answer.rrset is not None else []
