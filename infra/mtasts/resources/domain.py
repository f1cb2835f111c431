"""One policy domain on AWS: its policy object, certificate, distribution and DNS records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..plan import DnsRecord, DomainPlan
from ..policy import POLICY_PATH
from ..records import split_txt_strings, sts_held_back_value, sts_record_value
from .store import PolicyStore

__all__ = [
    "CACHING_OPTIMIZED_POLICY_ID",
    "MtaStsDomain",
    "MtaStsDomainArgs",
    "alias_records",
    "policy_object",
    "publish_txt",
    "route53_txt_value",
    "value_only",
]

#: AWS's managed cache policy "CachingOptimized": no cookies, headers or query strings in the cache key.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
#: Browsers and CDNs may keep the policy body this long; the invalidation makes CloudFront drop it at once.
POLICY_CACHE_CONTROL = "max-age=300"
POLICY_CONTENT_TYPE = "text/plain; charset=utf-8"


def route53_txt_value(value: str) -> str:
    """A TXT value as the Route53 record resource takes it: strings over 255 octets split with ``""``."""
    return '""'.join(split_txt_strings(value))


@dataclass(frozen=True)
class MtaStsDomainArgs:
    """Inputs of one domain's component."""

    plan: DomainPlan
    """What to publish: policy bytes, id, records (from :func:`mtasts.plan.plan_domain`)."""
    store: PolicyStore
    """The stack's bucket, origin access control and path filter."""
    zone_id: pulumi.Input[str]
    """Route53 zone id where the domain's records go (the hosting zone for ``dns: external``)."""
    us_east_1: aws.Provider
    """Provider in us-east-1, where CloudFront requires its certificates."""
    price_class: str = "PriceClass_100"
    """CloudFront price class."""
    origin_access_control_id: pulumi.Input[str] | None = None
    """The origin access control of the domain's shard (default: the store's first)."""
    path_filter_arn: pulumi.Input[str] | None = None
    """The CloudFront Function of the domain's shard (default: the store's first)."""


class MtaStsDomain(pulumi.ComponentResource):
    """Publishes one domain's MTA-STS policy and records, in the order RFC 8461 §8.1 needs.

    Two phases, because the stack's bucket policy needs every distribution's ARN and the TXT records need the
    bucket policy and the stack's rollout step: the constructor declares what serves the policy (object,
    certificate, distribution, alias records); :meth:`publish` then declares the TXT records, whose ``id`` is
    the one the rollout step verified live (mtasts.resources.rollout).
    """

    hosting = "dedicated"

    def __init__(self, name: str, args: MtaStsDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mtasts:index:MtaStsDomain", name, None, opts)
        plan = args.plan
        c = plan.config
        self.plan = plan
        self._zone_id = args.zone_id
        child = pulumi.ResourceOptions(parent=self)
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=args.us_east_1)
        host = plan.mta_sts_host

        self.policy_object = policy_object(name, plan, args.store, child)

        self.certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=host,
            validation_method="DNS",
            opts=in_us_east_1,
        )
        validation = self.certificate.domain_validation_options[0]
        zone_id = args.zone_id
        validation_fqdns: list[pulumi.Input[str]]
        if plan.external:
            # Only a domain deployed so before (the program refuses a new one): its owner published ACM's
            # validation CNAME, listed in the ``delegation`` output; nothing to write here.
            validation_fqdns = [validation.resource_record_name]
            self.validation_record = None
        else:
            self.validation_record = aws.route53.Record(
                f"{name}-certificate-validation-record",
                zone_id=zone_id,
                name=validation.resource_record_name,
                type=validation.resource_record_type,
                records=[validation.resource_record_value],
                ttl=300,
                allow_overwrite=True,  # ACM's validation name is unique to this certificate
                opts=child,
            )
            validation_fqdns = [self.validation_record.fqdn]
        self.certificate_validation = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=validation_fqdns,
            opts=in_us_east_1,
        )

        self.distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            comment=f"MTA-STS policy of {c.domain}",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            aliases=[host],
            origins=[
                {
                    "origin_id": "policy-bucket",
                    "domain_name": args.store.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": args.origin_access_control_id or args.store.origin_access_control.id,
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
                "function_associations": [
                    {"event_type": "viewer-request", "function_arn": args.path_filter_arn or args.store.path_filter.arn}
                ],
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={
                "acm_certificate_arn": self.certificate_validation.certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            },
            opts=child,
        )
        self.alias_records = alias_records(
            self, name, zone_id, self.distribution.domain_name, self.distribution.hosted_zone_id
        )

        self.policy_url = plan.policy_url
        self.policy_id = plan.policy_id
        self.txt_records: list[aws.route53.Record] = []
        self._published = False

    @property
    def serving(self) -> list[pulumi.Resource]:
        """What a sender needs before the id changes: object, host records, validated certificate, distribution."""
        return [self.policy_object, *self.alias_records, self.certificate_validation, self.distribution]

    @property
    def endpoint(self) -> pulumi.Output[str]:
        """The CloudFront name the ``mta-sts`` host resolves to."""
        return self.distribution.domain_name

    def rollout_target(self) -> pulumi.Output[dict[str, Any]]:
        """The domain's entry in the stack's rollout step."""
        ready = [value_only(r.fqdn) for r in self.alias_records]
        return pulumi.Output.all(self.distribution.id, value_only(self.policy_object.etag), *ready).apply(
            lambda v: {
                "policyId": self.plan.policy_id,
                "kind": "distribution",
                "targetId": v[0],
                "distributionId": v[0],
                "paths": [POLICY_PATH],
            }
        )

    def publish(
        self,
        published: pulumi.Input[str | None],
        readable: Sequence[pulumi.Resource] = (),
        rollout: pulumi.Resource | None = None,
    ) -> None:
        """Second phase: the TXT records, carrying the id the rollout step verified (RFC 8461 §8.1).

        ``published`` is the id the rollout step verified live for this domain; ``readable`` are the resources that
        let CloudFront read the object (the stack's bucket policy). Each TXT record depends on everything a
        sender needs (:attr:`serving`, ``readable``) and, when given, on ``rollout`` itself (the program passes
        it for stacks small enough that this edge stays cheap; otherwise the value carries the order).
        Registers the component's outputs; call exactly once.
        """
        publish_txt(self, published, readable, rollout)
        self.register_outputs(
            {
                "policyUrl": self.plan.policy_url,
                "policyId": self.plan.policy_id,
                "txtValues": {r.name: r.value for r in self.plan.records},
                "distributionDomainName": self.distribution.domain_name,
            }
        )

    def _adopt(self, opts: pulumi.ResourceOptions, label: str, name: str, kind: str) -> pulumi.ResourceOptions:
        return adopt_options(self.plan, opts, label, name, kind)


def value_only(output: pulumi.Output[Any]) -> pulumi.Output[Any]:
    """``output``'s value, waited for, without recording a dependency on its resources (see rollout_target)."""
    return pulumi.Output(set(), output.future(), output.is_known(), output.is_secret())


def adopt_options(
    plan: DomainPlan, opts: pulumi.ResourceOptions, label: str, name: str, kind: str
) -> pulumi.ResourceOptions:
    """Import an existing record listed under the domain's ``adopt`` setting (``pulumi import`` by config)."""
    c = plan.config
    if label not in c.adopt or c.adopt_zone_id is None:
        return opts
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(import_=f"{c.adopt_zone_id}_{name}_{kind}"))


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
    component: pulumi.ComponentResource,
    name: str,
    zone_id: pulumi.Input[str],
    target: pulumi.Input[str],
    target_zone_id: pulumi.Input[str] = CLOUDFRONT_ZONE_ID,
) -> list[aws.route53.Record]:
    """A and AAAA alias records for ``mta-sts.<domain>`` to a CloudFront name.

    Both hosting modes use these same two records (same names), so switching a domain's mode changes only the
    alias target, in place: Route 53 swaps it atomically and the host never stops resolving.
    """
    plan: DomainPlan = component.plan  # type: ignore[attr-defined]
    _, host_record_name = plan.location(plan.mta_sts_host)
    child = pulumi.ResourceOptions(parent=component)
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


def publish_txt(
    component: Any,
    published: pulumi.Input[str | None],
    readable: Sequence[pulumi.Resource],
    rollout: pulumi.Resource | None,
) -> None:
    """Declare ``component``'s TXT records; ``published`` is the id the rollout step verified for its domain."""
    if component._published:
        raise RuntimeError(f"{component._name}: publish() called twice")
    component._published = True
    plan: DomainPlan = component.plan
    verified = pulumi.Output.from_input(published)
    depends = [*component.serving, *readable, *([rollout] if rollout is not None else [])]
    opts = pulumi.ResourceOptions(parent=component, depends_on=depends)
    component.txt_records = [
        _txt(component, r, verified if r.name.startswith("_mta-sts.") else None, opts) for r in plan.records
    ]


def _txt(
    component: Any, record: DnsRecord, verified: pulumi.Output[str | None] | None, opts: pulumi.ResourceOptions
) -> aws.route53.Record:
    """One TXT record; ``_mta-sts`` carries ``verified`` (the planned id once live, else the previous one)."""
    plan: DomainPlan = component.plan
    label = "_mta-sts" if record.name.startswith("_mta-sts.") else "_smtp._tls"
    _, record_name = plan.location(record.name)
    value: pulumi.Input[str] = route53_txt_value(record.value)
    if verified is not None:
        # The id the rollout step verified live: the planned one, or the previous one if the new policy failed
        # (the TXT keeps announcing what is served, RFC 8461 §8.1). A new domain that failed has no previous id:
        # its record announces no policy at all until a later deployment verifies it.
        planned, held_back = record.value, sts_held_back_value(plan.policy_id)
        value = verified.apply(
            lambda vid: route53_txt_value(
                planned if vid == plan.policy_id else sts_record_value(vid) if vid else held_back
            )
        )
    return aws.route53.Record(
        f"{component._name}-{'sts' if label == '_mta-sts' else 'tlsrpt'}-txt",
        zone_id=component._zone_id,
        name=record_name,
        type="TXT",
        ttl=record.ttl,
        records=[value],
        allow_overwrite=plan.config.allow_overwrite,
        opts=adopt_options(plan, opts, label, record_name, "TXT"),
    )
