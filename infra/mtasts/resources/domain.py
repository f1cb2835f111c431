"""One policy domain on AWS: its policy object, certificate, distribution and DNS records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..plan import DnsRecord, DomainPlan
from ..policy import POLICY_PATH
from ..records import split_txt_strings
from .invalidation import PolicyInvalidation
from .store import PolicyStore

__all__ = ["CACHING_OPTIMIZED_POLICY_ID", "MtaStsDomain", "MtaStsDomainArgs", "route53_txt_value"]

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
    aws_profile: str | None = None
    """AWS profile for the boto3 calls of the invalidation (the default credential chain when unset)."""


class MtaStsDomain(pulumi.ComponentResource):
    """Publishes one domain's MTA-STS policy and records, in the order RFC 8461 §8.1 needs.

    Two phases, because the stack's bucket policy needs every distribution's ARN and the TXT records need the
    bucket policy: the constructor declares what serves the policy (object, certificate, distribution, alias
    records); :meth:`publish` then declares the invalidation and the TXT records that depend on it.
    """

    def __init__(self, name: str, args: MtaStsDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mtasts:index:MtaStsDomain", name, None, opts)
        plan = args.plan
        c = plan.config
        self.plan = plan
        self._zone_id = args.zone_id
        self._aws_profile = args.aws_profile
        child = pulumi.ResourceOptions(parent=self)
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=args.us_east_1)
        host = plan.mta_sts_host
        _, host_record_name = plan.location(host)

        self.policy_object = aws.s3.BucketObjectv2(
            f"{name}-policy",
            bucket=args.store.bucket.id,
            key=f"{c.domain}{POLICY_PATH}",
            content=plan.policy_text,
            content_type=POLICY_CONTENT_TYPE,
            cache_control=POLICY_CACHE_CONTROL,
            opts=child,
        )

        self.certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=host,
            validation_method="DNS",
            opts=in_us_east_1,
        )
        validation = self.certificate.domain_validation_options[0]
        zone_id = args.zone_id
        if plan.external:
            # The domain owner publishes the validation CNAME once (stack output); nothing to write here.
            validation_fqdns: list[pulumi.Input[str]] = [validation.resource_record_name]
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
                    "origin_access_control_id": args.store.origin_access_control.id,
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
                "function_associations": [{"event_type": "viewer-request", "function_arn": args.store.path_filter.arn}],
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={
                "acm_certificate_arn": self.certificate_validation.certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            },
            opts=child,
        )
        self.alias_records = [
            aws.route53.Record(
                f"{name}-{kind.lower()}",
                zone_id=zone_id,
                name=host_record_name,
                type=kind,
                aliases=[
                    {
                        "name": self.distribution.domain_name,
                        "zone_id": self.distribution.hosted_zone_id,
                        "evaluate_target_health": False,
                    }
                ],
                allow_overwrite=c.allow_overwrite,
                opts=self._adopt(child, "mta-sts", host_record_name, kind),
            )
            for kind in ("A", "AAAA")
        ]

        self.policy_url = plan.policy_url
        self.policy_id = plan.policy_id
        self.invalidation: PolicyInvalidation | None = None
        self.txt_records: list[aws.route53.Record] = []

    def publish(self, readable: Sequence[pulumi.Resource] = ()) -> None:
        """Second phase: invalidate the policy path, then publish the TXT records (RFC 8461 §8.1).

        ``readable`` are the resources that let CloudFront read the object (the stack's bucket policy, which
        can only be written once every distribution exists): the invalidation, and so the TXT records, wait
        for them too, so a new domain's id is never published while its policy URL still answers 403.
        Registers the component's outputs; call exactly once.
        """
        if self.invalidation is not None:
            raise RuntimeError(f"{self._name}: publish() called twice")
        plan = self.plan
        # RFC 8461 §8.1: the new body must be what CloudFront serves before the id changes.
        self.invalidation = PolicyInvalidation(
            f"{self._name}-invalidation",
            distribution_id=self.distribution.id,
            paths=[POLICY_PATH],
            trigger=plan.policy_id,
            profile=self._aws_profile,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy_object, self.distribution, *readable]),
        )
        after_invalidation = pulumi.ResourceOptions(parent=self, depends_on=[self.invalidation])
        self.txt_records = [self._txt(self._name, r, after_invalidation) for r in plan.records]
        self.register_outputs(
            {
                "policyUrl": plan.policy_url,
                "policyId": plan.policy_id,
                "txtValues": {r.name: r.value for r in plan.records},
                "distributionDomainName": self.distribution.domain_name,
            }
        )

    def _adopt(self, opts: pulumi.ResourceOptions, label: str, name: str, kind: str) -> pulumi.ResourceOptions:
        """Import an existing record listed under the domain's ``adopt`` setting (``pulumi import`` by config)."""
        c = self.plan.config
        if label not in c.adopt or c.adopt_zone_id is None:
            return opts
        return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(import_=f"{c.adopt_zone_id}_{name}_{kind}"))

    def _txt(self, name: str, record: DnsRecord, opts: pulumi.ResourceOptions) -> aws.route53.Record:
        label = "_mta-sts" if record.name.startswith("_mta-sts.") else "_smtp._tls"
        _, record_name = self.plan.location(record.name)
        return aws.route53.Record(
            f"{name}-{'sts' if label == '_mta-sts' else 'tlsrpt'}-txt",
            zone_id=self._zone_id,
            name=record_name,
            type="TXT",
            ttl=record.ttl,
            records=[route53_txt_value(record.value)],
            allow_overwrite=self.plan.config.allow_overwrite,
            opts=self._adopt(opts, label, record_name, "TXT"),
        )
