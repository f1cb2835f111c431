"""One policy domain on AWS: its policy object, certificate, distribution and DNS records.

Why over 400 lines: the base class of both hosting modes (:class:`HostedDomain`) and the resource helpers
they both call (certificate, distribution, alias records, policy object) sit with the dedicated component.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws

from ..plan import DnsRecord, DomainPlan
from ..policy import POLICY_PATH
from ..records import split_txt_strings, sts_held_back_value, sts_record_value
from .sdk import output_from
from .store import PolicyStore

__all__ = [
    "CACHING_OPTIMIZED_POLICY_ID",
    "DistributionSettings",
    "HostedDomain",
    "MtaStsDomain",
    "MtaStsDomainArgs",
    "acm_certificate",
    "alias_records",
    "policy_distribution",
    "policy_object",
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
    handover: Callable[[pulumi.ComponentResource, pulumi.Resource], Sequence[pulumi.Resource]] | None = None
    """Moving in from shared hosting (docs/deploy.md, "Changing modes"): called with the component and its
    validated certificate, it declares the release of the domain's tenant under the component and returns what
    the distribution must wait for (mtasts.resources.shared.tenant_handover)."""


class HostedDomain(pulumi.ComponentResource):
    """One domain's MTA-STS, whichever way CloudFront hosts it: the plan, the TXT records, the outputs.

    :class:`MtaStsDomain` (``dedicated``, a distribution of its own) and
    :class:`~mtasts.resources.shared.SharedDomain` (``shared``, a tenant) declare what serves the policy in their
    constructors and say what a sender needs before the id changes (:attr:`serving`); :meth:`_publish_txt`
    declares the TXT records in the second phase, with the id the rollout step verified (RFC 8461 §8.1).
    """

    hosting: ClassVar[str]
    """``dedicated`` or ``shared``."""

    def __init__(
        self, name: str, plan: DomainPlan, zone_id: pulumi.Input[str], opts: pulumi.ResourceOptions | None
    ) -> None:
        super().__init__("mtasts:index:MtaStsDomain", name, None, opts)
        self.plan = plan
        self._zone_id = zone_id
        self._published = False
        self.policy_url = plan.policy_url
        self.policy_id = plan.policy_id
        self.txt_records: list[aws.route53.Record] = []
        #: A ``dns: external`` domain whose owner has not published the CNAMEs yet: nothing is served.
        self.pending = False
        #: The domain's own ACM certificate, validated; ``None`` where CloudFront manages the certificate.
        self.certificate_validation: pulumi.Resource | None = None

    @property
    def serving(self) -> list[pulumi.Resource]:
        """What a sender needs before the id changes."""
        raise NotImplementedError

    @property
    def distribution_domain_name(self) -> pulumi.Output[str] | None:
        """The CloudFront name of the domain's own distribution; ``None`` when it has none."""
        return None

    def rollout_target(self, shared_distribution_id: pulumi.Input[str] | None) -> pulumi.Output[dict[str, Any]] | None:
        """The domain's entry in the stack's rollout step; ``None`` while nothing is served."""
        raise NotImplementedError

    @property
    def serves_policy(self) -> bool:
        """Whether anything serves the policy in this deployment (not while a ``dns: external`` domain waits)."""
        return True

    def component_outputs(self) -> dict[str, Any]:
        """What the component registers as its outputs once published."""
        return {"policyUrl": self.plan.policy_url, "policyId": self.plan.policy_id}

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
        it for stacks small enough that this edge stays cheap; otherwise the value carries the order). A domain
        that serves nothing yet (:attr:`serves_policy`) gets no TXT records. Registers the component's outputs
        (:meth:`component_outputs`); call exactly once.
        """
        if self.serves_policy:
            self._publish_txt(published, readable, rollout)
        else:
            self._published = True
        self.register_outputs(self.component_outputs())

    def _publish_txt(
        self,
        published: pulumi.Input[str | None],
        readable: Sequence[pulumi.Resource],
        rollout: pulumi.Resource | None,
    ) -> None:
        """Declare the TXT records; ``published`` is the id the rollout step verified for the domain."""
        if self._published:
            raise RuntimeError(f"{self.pulumi_resource_name}: publish() called twice")
        self._published = True
        verified = pulumi.Output.from_input(published)
        depends = [*self.serving, *readable, *([rollout] if rollout is not None else [])]
        opts = pulumi.ResourceOptions(parent=self, depends_on=depends)
        self.txt_records = [
            self._txt(r, verified if r.name.startswith("_mta-sts.") else None, opts) for r in self.plan.records
        ]

    def _txt(
        self, record: DnsRecord, verified: pulumi.Output[str | None] | None, opts: pulumi.ResourceOptions
    ) -> aws.route53.Record:
        """One TXT record; ``_mta-sts`` carries ``verified`` (the planned id once live, else the previous one)."""
        plan = self.plan
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
            f"{self.pulumi_resource_name}-{'sts' if label == '_mta-sts' else 'tlsrpt'}-txt",
            zone_id=self._zone_id,
            name=record_name,
            type="TXT",
            ttl=record.ttl,
            records=[value],
            allow_overwrite=plan.config.allow_overwrite,
            opts=adopt_options(plan, opts, label, record_name, "TXT"),
        )


class MtaStsDomain(HostedDomain):
    """Publishes one domain's MTA-STS policy and records, in the order RFC 8461 §8.1 needs.

    Two phases, because the stack's bucket policy needs every distribution's ARN and the TXT records need the
    bucket policy and the stack's rollout step: the constructor declares what serves the policy (object,
    certificate, distribution, alias records); :meth:`publish` then declares the TXT records, whose ``id`` is
    the one the rollout step verified live (mtasts.resources.rollout).
    """

    hosting = "dedicated"
    certificate_validation: aws.acm.CertificateValidation  # always its own certificate

    def __init__(self, name: str, args: MtaStsDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, args.plan, args.zone_id, opts)
        plan = args.plan
        child = pulumi.ResourceOptions(parent=self)

        self.policy_object = policy_object(name, plan, args.store, child)

        self.certificate, self.validation_record, self.certificate_validation = acm_certificate(
            self, name, args.zone_id, args.us_east_1
        )
        # Moving in from shared: the tenant lets go of the host name only after this domain's certificate is
        # validated (no ACM wait inside the window), and the distribution claims it only after that.
        released = list(args.handover(self, self.certificate_validation)) if args.handover else []
        self.released = released
        self.distribution = policy_distribution(
            self,
            name,
            DistributionSettings(
                store=args.store,
                price_class=args.price_class,
                origin_access_control_id=args.origin_access_control_id,
                path_filter_arn=args.path_filter_arn,
            ),
            certificate_arn=self.certificate_validation.certificate_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=released),
        )
        zone_id = args.zone_id
        # Moving in: the host records follow the distribution once it holds the name (explicit, for the record).
        self.alias_records = alias_records(
            self,
            name,
            zone_id,
            self.distribution.domain_name,
            self.distribution.hosted_zone_id,
            depends_on=[self.distribution] if released else (),
        )

    @property
    def serving(self) -> list[pulumi.Resource]:
        """What a sender needs before the id changes: object, host records, validated certificate, distribution."""
        return [self.policy_object, *self.alias_records, self.certificate_validation, self.distribution]

    @property
    def endpoint(self) -> pulumi.Output[str]:
        """The CloudFront name the ``mta-sts`` host resolves to."""
        return self.distribution.domain_name

    @property
    def distribution_domain_name(self) -> pulumi.Output[str] | None:
        """The CloudFront name of the domain's own distribution."""
        return self.distribution.domain_name

    def rollout_target(self, shared_distribution_id: pulumi.Input[str] | None = None) -> pulumi.Output[dict[str, Any]]:
        """The domain's entry in the stack's rollout step (its own distribution: the shared one is not used)."""
        ready = [value_only(r.fqdn) for r in self.alias_records]
        return pulumi.Output.all(self.distribution.id, value_only(self.policy_object.etag), *ready).apply(
            lambda v: rollout_entry(self.plan, "distribution", v[0], v[0])
        )

    def component_outputs(self) -> dict[str, Any]:
        """The policy's URL and id, the TXT values and the distribution's CloudFront name."""
        return {
            "policyUrl": self.plan.policy_url,
            "policyId": self.plan.policy_id,
            "txtValues": {r.name: r.value for r in self.plan.records},
            "distributionDomainName": self.distribution.domain_name,
        }


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
    component: pulumi.ComponentResource, name: str, zone_id: pulumi.Input[str], us_east_1: aws.Provider
) -> tuple[aws.acm.Certificate, aws.route53.Record | None, aws.acm.CertificateValidation]:
    """The domain's ACM certificate for ``mta-sts.<domain>`` (us-east-1), its DNS validation record and the wait.

    Dedicated distributions present it; a tenant that moved in from dedicated hosting keeps presenting it
    (mtasts.resources.shared), so the names are the same under both components and a move changes nothing here.
    """
    plan: DomainPlan = component.plan  # type: ignore[attr-defined]
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
    component: pulumi.ComponentResource,
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
    plan: DomainPlan = component.plan  # type: ignore[attr-defined]
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
    depends_on: Sequence[pulumi.Resource] = (),
) -> list[aws.route53.Record]:
    """A and AAAA alias records for ``mta-sts.<domain>`` to a CloudFront name.

    Both hosting modes use these same two records (same names), so switching a domain's mode changes only the
    alias target, in place: Route 53 swaps it atomically and the host never stops resolving.
    """
    plan: DomainPlan = component.plan  # type: ignore[attr-defined]
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
