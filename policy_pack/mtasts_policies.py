"""The guardrails, as plain validate functions so the tests can call them without starting a policy server.

Each rule restates, independently of the program, a property the kit promises: if a change to the program
(or a hand edit, or another program in the same stack) breaks it, `pulumi preview` fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

ReportViolation = Callable[..., None]
POLICY_PATH_SUFFIX = "/.well-known/mta-sts.txt"


def policy_objects_are_text_plain(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A policy object must be served as text/plain (RFC 8461 §3.2); senders check the media type."""
    if args.resource_type != "aws:s3/bucketObjectv2:BucketObjectv2":
        return
    if str(args.props.get("key", "")).endswith(POLICY_PATH_SUFFIX):
        content_type = str(args.props.get("contentType", ""))
        if content_type.split(";")[0].strip().lower() != "text/plain":
            report(f"policy object {args.props.get('key')} has content type {content_type!r}, not text/plain")


def bucket_is_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """All four public-access blocks stay on, and no bucket policy grants to everyone."""
    if args.resource_type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            if args.props.get(key) is not True:
                report(f"public access block setting {key} must be true")
    if args.resource_type == "aws:s3/bucketPolicy:BucketPolicy":
        import json

        policy = args.props.get("policy")
        document = json.loads(policy) if isinstance(policy, str) else policy
        for statement in (document or {}).get("Statement", []):
            principal = statement.get("Principal")
            if statement.get("Effect") == "Allow" and principal in ("*", {"AWS": "*"}):
                report("the bucket policy allows everyone")


MULTITENANT = "aws:cloudfront/multitenantDistribution:MultitenantDistribution"
#: Both kinds of distribution the kit declares: dedicated hosting's and shared hosting's multi-tenant one.
DISTRIBUTION_TYPES = ("aws:cloudfront/distribution:Distribution", MULTITENANT)


def cloudfront_uses_oac_not_oai(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """CloudFront reads S3 through an origin access control, never a legacy origin access identity."""
    if args.resource_type == "aws:cloudfront/originAccessIdentity:OriginAccessIdentity":
        report("origin access identities are legacy; use an origin access control (sigv4)")
    signs_properly = args.props.get("signingBehavior") == "always" and args.props.get("signingProtocol") == "sigv4"
    if args.resource_type == "aws:cloudfront/originAccessControl:OriginAccessControl" and not signs_properly:
        report("the origin access control must sign always with sigv4")
    if args.resource_type in DISTRIBUTION_TYPES:
        for origin in args.props.get("origins", []):
            oai = (origin.get("s3OriginConfig") or {}).get("originAccessIdentity")
            if oai or not origin.get("originAccessControlId"):
                report(f"origin {origin.get('originId')} must use an origin access control and no identity")


def viewer_tls_is_modern_and_https_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """SNI, TLSv1.2_2021 at least, HTTPS only: a 3xx on the policy URL would make senders ignore it (RFC 8461 §3.3)."""
    if args.resource_type not in DISTRIBUTION_TYPES:
        return
    certificate = args.props.get("viewerCertificate") or {}
    # A multi-tenant distribution serves each tenant's own certificate (CloudFront-managed, on the tenant); its
    # own viewer certificate is CloudFront's default and has no protocol settings to check.
    if not (args.resource_type == MULTITENANT and certificate.get("cloudfrontDefaultCertificate")):
        if certificate.get("minimumProtocolVersion") != "TLSv1.2_2021":
            report(f"minimum protocol version is {certificate.get('minimumProtocolVersion')!r}, not TLSv1.2_2021")
        if certificate.get("sslSupportMethod") != "sni-only":
            report("viewer certificates must be served with SNI only")
    behaviors = [
        args.props.get("defaultCacheBehavior") or {},
        *(args.props.get("orderedCacheBehaviors") or []),  # Distribution
        *(args.props.get("cacheBehaviors") or []),  # MultitenantDistribution
    ]
    for behavior in behaviors:
        if behavior.get("viewerProtocolPolicy") != "https-only":
            report(f"viewer protocol policy is {behavior.get('viewerProtocolPolicy')!r}, not https-only")


#: CloudFront resource types and the property holding the ACM certificate each one serves.
CLOUDFRONT_CERTIFICATE_PROPERTIES: Mapping[str, str] = {
    "aws:cloudfront/distribution:Distribution": "viewerCertificate",
    "aws:cloudfront/multitenantDistribution:MultitenantDistribution": "viewerCertificate",
    "aws:cloudfront/distributionTenant:DistributionTenant": "customizations",
}
ACM_TYPES = ("aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation")


def _certificate_arns(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The ACM certificate ARNs a CloudFront resource's props name (unknown values in a preview are left out)."""
    if resource_type == "aws:cloudfront/distributionTenant:DistributionTenant":
        certificate = ((props.get("customizations") or {}).get("certificate")) or {}
        arn = certificate.get("arn")
    else:
        arn = (props.get(CLOUDFRONT_CERTIFICATE_PROPERTIES.get(resource_type, ""), None) or {}).get("acmCertificateArn")
    return [arn] if isinstance(arn, str) and arn.startswith("arn:") else []


def cloudfront_certificates_are_in_us_east_1(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A certificate CloudFront serves must be an ACM certificate in us-east-1 (its ARN names the region).

    CloudFront Developer Guide, "Requirements for using SSL/TLS certificates with CloudFront": to use an ACM
    certificate, request or import it in US East (N. Virginia). Certificates of other services (the TLS-RPT
    receiver's regional API Gateway domain) are not concerned.
    """
    if args.resource_type not in CLOUDFRONT_CERTIFICATE_PROPERTIES:
        return
    for arn in _certificate_arns(args.resource_type, args.props):
        region = arn.split(":")[3] if arn.count(":") >= 5 else ""
        if region != "us-east-1":
            report(f"{args.name} serves certificate {arn} from {region or 'no region'}, not us-east-1")


def _region(provider: Any) -> str | None:
    props: Mapping[str, Any] = provider.props if provider is not None else {}
    region = props.get("region")
    return region if isinstance(region, str) else None


def cloudfront_certificates_are_created_in_us_east_1(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every ACM certificate a CloudFront resource uses is created by a us-east-1 provider.

    Follows the property dependencies of each distribution's (or tenant's) certificate setting through
    ``CertificateValidation`` to the ``Certificate``, so it decides in a preview already, while the ARN is still
    unknown. Only those certificates are checked: a stack may hold regional certificates for other services
    (with ``mta-sts:reports``, the receiver's API Gateway domain in the stack's region).
    """
    used: dict[str, Any] = {}
    pending = [
        dependency
        for resource in args.resources
        if resource.resource_type in CLOUDFRONT_CERTIFICATE_PROPERTIES
        for dependency in resource.property_dependencies.get(
            CLOUDFRONT_CERTIFICATE_PROPERTIES[resource.resource_type], []
        )
    ]
    while pending:
        resource = pending.pop()
        if resource.resource_type not in ACM_TYPES or resource.urn in used:
            continue
        used[resource.urn] = resource
        pending.extend(resource.property_dependencies.get("certificateArn", []))
    for resource in used.values():
        region = _region(resource.provider)
        if region != "us-east-1":
            report(
                f"{resource.name} is used by CloudFront but created in {region or 'the default region'}, not us-east-1",
                resource.urn,
            )


def _name(rule: Callable[..., None]) -> str:
    return rule.__name__.replace("_", "-")


def _summary(rule: Callable[..., None]) -> str:
    return str(rule.__doc__).split("\n", 1)[0]


RESOURCE_RULES = (
    policy_objects_are_text_plain,
    bucket_is_not_public,
    cloudfront_uses_oac_not_oai,
    viewer_tls_is_modern_and_https_only,
    cloudfront_certificates_are_in_us_east_1,
)
STACK_RULES = (cloudfront_certificates_are_created_in_us_east_1,)

POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    *(ResourceValidationPolicy(name=_name(fn), description=_summary(fn), validate=fn) for fn in RESOURCE_RULES),
    *(StackValidationPolicy(name=_name(fn), description=_summary(fn), validate=fn) for fn in STACK_RULES),
]
