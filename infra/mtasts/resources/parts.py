"""The resources both hosting modes declare for a domain: certificate, distribution, policy object, host records.

Each takes the component it declares under, so a domain moving between modes keeps the same resource names
(and Pulumi updates them in place, docs/deploy.md "Changing modes").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..plan import DomainPlan
from ..policy import POLICY_PATH
from .hosted import HostedDomain, adopt_options
from .sdk import output_from
from .store import PolicyStore

__all__ = [
    "CACHING_OPTIMIZED_POLICY_ID",
    "CLOUDFRONT_ZONE_ID",
    "DistributionSettings",
    "acm_certificate",
    "alias_records",
    "policy_distribution",
    "policy_object",
    "rollout_entry",
    "value_only",
]

#: AWS's managed cache policy "CachingOptimized": no cookies, headers or query strings in the cache key.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
#: Browsers and CDNs may keep the policy body this long; the invalidation makes CloudFront drop it at once.
POLICY_CACHE_CONTROL = "max-age=300"
POLICY_CONTENT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class DistributionSettings:
    """What a domain's dedicated distribution reads from, and how CloudFront prices it."""

    store: PolicyStore
    """The stack's bucket."""
    price_class: str = "PriceClass_100"
    """CloudFront price class."""
    origin_access_control_id: pulumi.Input[str] | None = None
    """The origin access control of the domain's shard (default: the store's first)."""
    path_filter_arn: pulumi.Input[str] | None = None
    """The CloudFront Function of the domain's shard (default: the store's first)."""


def acm_certificate(
    component: HostedDomain, name: str, zone_id: pulumi.Input[str], us_east_1: aws.Provider
) -> tuple[aws.acm.Certificate, aws.route53.Record | None, aws.acm.CertificateValidation]:
    """The domain's ACM certificate for ``mta-sts.<domain>`` (us-east-1), its DNS validation record and the wait.

    Dedicated distributions present it; a tenant that moved in from dedicated hosting keeps presenting it
    (mtasts.resources.shared), so the names are the same under both components and a move changes nothing here.
    """
    plan = component.plan
    in_us_east_1 = pulumi.ResourceOptions(parent=component, provider=us_east_1)
    certificate = aws.acm.Certificate(
        f"{name}-certificate", domain_name=plan.mta_sts_host, validation_method="DNS", opts=in_us_east_1
    )
    validation = certificate.domain_validation_options[0]
    validation_fqdns: list[pulumi.Input[str]]
    record = None
    if plan.external:
        # Only a domain deployed so before (the program refuses a new one): its owner published ACM's
        # validation CNAME, listed in the ``delegation`` output; nothing to write here.
        validation_fqdns = [validation.resource_record_name]
    else:
        record = aws.route53.Record(
            f"{name}-certificate-validation-record",
            zone_id=zone_id,
            name=validation.resource_record_name,
            type=validation.resource_record_type,
            records=[validation.resource_record_value],
            ttl=300,
            allow_overwrite=True,  # ACM's validation name is unique to this certificate
            opts=pulumi.ResourceOptions(parent=component),
        )
        validation_fqdns = [record.fqdn]
    checked = aws.acm.CertificateValidation(
        f"{name}-certificate-validation",
        certificate_arn=certificate.arn,
        validation_record_fqdns=validation_fqdns,
        opts=in_us_east_1,
    )
    return certificate, record, checked


def policy_distribution(
    component: HostedDomain,
    name: str,
    settings: DistributionSettings,
    *,
    certificate_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    released: bool = False,
) -> aws.cloudfront.Distribution:
    """The domain's dedicated distribution, serving ``<domain>/`` of the bucket on ``mta-sts.<domain>``.

    ``released``: the transitional form while the domain moves to shared hosting (docs/deploy.md, "Changing
    modes"): no alias, so CloudFront lets the tenant claim the host name (``CNAMEAlreadyExists`` otherwise,
    "Move an alternate domain name", CloudFront developer guide). Only the alias changes: CloudFront accepts a
    certificate on a distribution without alternate domain names (its move procedure sets a target up that way;
    aws/aws-cdk issue 29960), so the TLS settings the policy pack checks stay. Same resource, updated in place,
    so Pulumi orders the tenant after it; the next deployment deletes it.
    """
    plan = component.plan
    c = plan.config
    oac_id: Any = settings.origin_access_control_id or settings.store.origin_access_control.id
    function_arn: Any = settings.path_filter_arn or settings.store.path_filter.arn
    viewer: Any = {
        "acm_certificate_arn": certificate_arn,
        "ssl_support_method": "sni-only",
        "minimum_protocol_version": "TLSv1.2_2021",
    }
    return aws.cloudfront.Distribution(
        f"{name}-distribution",
        comment=f"MTA-STS policy of {c.domain}" + (" (released: moving to shared hosting)" if released else ""),
        enabled=True,
        is_ipv6_enabled=True,
        http_version="http2and3",
        price_class=settings.price_class,
        aliases=[] if released else [plan.mta_sts_host],
        origins=[
            {
                "origin_id": "policy-bucket",
                "domain_name": settings.store.bucket.bucket_regional_domain_name,
                "origin_access_control_id": oac_id,
                # The bucket keeps each domain's policy under <domain>/ (see the object's key).
                "origin_path": f"/{c.domain}",
            }
        ],
        default_cache_behavior={
            "target_origin_id": "policy-bucket",
            # https-only: a 3xx must never be served on the policy URL (RFC 8461 §3.3: senders do not follow it)
            "viewer_protocol_policy": "https-only",
            "allowed_methods": ["GET", "HEAD"],
            "cached_methods": ["GET", "HEAD"],
            "cache_policy_id": CACHING_OPTIMIZED_POLICY_ID,
            "compress": True,
            "function_associations": [{"event_type": "viewer-request", "function_arn": function_arn}],
        },
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate=viewer,
        opts=opts,
    )


def value_only(output: pulumi.Output[Any]) -> pulumi.Output[Any]:
    """``output``'s value, waited for, without recording a dependency on its resources (see rollout_target)."""
    return output_from(set(), output.future(), output.is_known(), output.is_secret())


def policy_object(
    name: str, plan: DomainPlan, store: PolicyStore, opts: pulumi.ResourceOptions
) -> aws.s3.BucketObjectv2:
    """``<domain>/.well-known/mta-sts.txt`` in the stack's bucket: the exact bytes ``mtasts render`` prints."""
    return aws.s3.BucketObjectv2(
        f"{name}-policy",
        bucket=store.bucket.id,
        key=f"{plan.domain}{POLICY_PATH}",
        content=plan.policy_text,
        content_type=POLICY_CONTENT_TYPE,
        cache_control=POLICY_CACHE_CONTROL,
        opts=opts,
    )


#: Route53's hosted zone id for every alias to CloudFront (AWS General Reference, "Amazon CloudFront endpoints").
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"


def alias_records(
    component: HostedDomain,
    name: str,
    zone_id: pulumi.Input[str],
    target: pulumi.Input[str],
    target_zone_id: pulumi.Input[str] = CLOUDFRONT_ZONE_ID,
    depends_on: Sequence[pulumi.Resource] = (),
) -> list[aws.route53.Record]:
    """A and AAAA alias records for ``mta-sts.<domain>`` to a CloudFront name.

    Both hosting modes use these same two records (same names), so switching a domain's mode changes only the
    alias target, in place: Route 53 swaps it atomically and the host never stops resolving.
    """
    plan = component.plan
    _, host_record_name = plan.location(plan.mta_sts_host)
    child = pulumi.ResourceOptions(parent=component, depends_on=list(depends_on))
    return [
        aws.route53.Record(
            f"{name}-{kind.lower()}",
            zone_id=zone_id,
            name=host_record_name,
            type=kind,
            aliases=[{"name": target, "zone_id": target_zone_id, "evaluate_target_health": False}],
            allow_overwrite=plan.config.allow_overwrite,
            opts=adopt_options(plan, child, "mta-sts", host_record_name, kind),
        )
        for kind in ("A", "AAAA")
    ]


def rollout_entry(plan: DomainPlan, kind: str, target_id: str, distribution_id: str) -> dict[str, Any]:
    """A domain's entry in the rollout step's targets: what to invalidate and which id to verify there.

    ``kind`` is ``distribution`` (dedicated: ``target_id`` is the distribution) or ``tenant`` (shared:
    ``target_id`` is the tenant, ``distribution_id`` its multi-tenant distribution); see
    mtasts.resources.providers.rollout.
    """
    return {
        "policyId": plan.policy_id,
        "kind": kind,
        "targetId": target_id,
        "distributionId": distribution_id,
        "paths": [POLICY_PATH],
    }
