"""What both hosting modes share: one domain's plan, its TXT records and its outputs (:class:`HostedDomain`).

:class:`~mtasts.resources.domain.MtaStsDomain` (``dedicated``) and :class:`~mtasts.resources.shared.SharedDomain`
(``shared``) declare what serves the policy; this base declares the TXT records in the second phase, with the id
the rollout step verified live (RFC 8461 §8.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws

from ..plan import DnsRecord, DomainPlan
from ..records import split_txt_strings, sts_held_back_value, sts_record_value

__all__ = ["HostedDomain", "adopt_options", "route53_txt_value"]


def route53_txt_value(value: str) -> str:
    """A TXT value as the Route53 record resource takes it: strings over 255 octets split with ``""``."""
    return '""'.join(split_txt_strings(value))


def adopt_options(
    plan: DomainPlan, opts: pulumi.ResourceOptions, label: str, name: str, kind: str
) -> pulumi.ResourceOptions:
    """Import an existing record listed under the domain's ``adopt`` setting (``pulumi import`` by config)."""
    c = plan.config
    if label not in c.adopt or c.adopt_zone_id is None:
        return opts
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(import_=f"{c.adopt_zone_id}_{name}_{kind}"))


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

    @property
    def own_distributions(self) -> list[aws.cloudfront.Distribution]:
        """The distributions of this domain alone that read the bucket (the stack's bucket policy names them)."""
        return []

    def owner_records(self) -> list[pulumi.Output[dict[str, Any]]]:
        """Records the owner of a ``dns: external`` domain keeps beside the delegation CNAMEs (none by default)."""
        return []

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
