"""One policy domain with a CloudFront distribution of its own (``dedicated`` hosting).

Its policy object, ACM certificate, distribution and host records (:mod:`.parts`, shared with ``shared``
hosting), then in the second phase its TXT records (:class:`~mtasts.resources.hosted.HostedDomain`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..plan import DomainPlan
from . import parts
from .hosted import HostedDomain
from .parts import DistributionSettings
from .store import PolicyStore

__all__ = ["MtaStsDomain", "MtaStsDomainArgs"]


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
    handover: Callable[[HostedDomain, aws.acm.CertificateValidation], Sequence[pulumi.Resource]] | None = None
    """Moving in from shared hosting (docs/deploy.md, "Changing modes"): called with the component and its
    validated certificate, it declares the release of the domain's tenant under the component and returns what
    the distribution must wait for (mtasts.resources.shared.tenant_handover)."""


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

        self.policy_object = parts.policy_object(name, plan, args.store, child)

        self.certificate, self.validation_record, self.certificate_validation = parts.acm_certificate(
            self, name, args.zone_id, args.us_east_1
        )
        # Moving in from shared: the tenant lets go of the host name only after this domain's certificate is
        # validated (no ACM wait inside the window), and the distribution claims it only after that.
        released = list(args.handover(self, self.certificate_validation)) if args.handover else []
        self.released = released
        self.distribution = parts.policy_distribution(
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
        self.alias_records = parts.alias_records(
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

    @property
    def own_distributions(self) -> list[aws.cloudfront.Distribution]:
        """Its distribution."""
        return [self.distribution]

    def owner_records(self) -> list[pulumi.Output[dict[str, Any]]]:
        """A dedicated external domain from before hosting modes: its owner also keeps ACM's validation CNAME."""
        plan = self.plan
        if not plan.external:
            return []
        validation = self.certificate.domain_validation_options[0]
        return [
            pulumi.Output.all(validation.resource_record_name, validation.resource_record_value).apply(
                lambda v: {"name": v[0].rstrip("."), "type": "CNAME", "value": v[1].rstrip("."), "ttl": plan.config.ttl}
            )
        ]

    def rollout_target(self, shared_distribution_id: pulumi.Input[str] | None = None) -> pulumi.Output[dict[str, Any]]:
        """The domain's entry in the stack's rollout step (its own distribution: the shared one is not used)."""
        ready = [parts.value_only(r.fqdn) for r in self.alias_records]
        return pulumi.Output.all(self.distribution.id, parts.value_only(self.policy_object.etag), *ready).apply(
            lambda v: parts.rollout_entry(self.plan, "distribution", v[0], v[0])
        )

    def component_outputs(self) -> dict[str, Any]:
        """The policy's URL and id, the TXT values and the distribution's CloudFront name."""
        return {
            "policyUrl": self.plan.policy_url,
            "policyId": self.plan.policy_id,
            "txtValues": {r.name: r.value for r in self.plan.records},
            "distributionDomainName": self.distribution.domain_name,
        }
