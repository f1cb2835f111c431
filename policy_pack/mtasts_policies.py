"""The guardrails, as plain validate functions so the tests can call them without starting a policy server.

Each rule restates, independently of the program, a property the kit promises: if a change to the program
(or a hand edit, or another program in the same stack) breaks it, `pulumi preview` fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

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


def cloudfront_uses_oac_not_oai(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """CloudFront reads S3 through an origin access control, never a legacy origin access identity."""
    if args.resource_type == "aws:cloudfront/originAccessIdentity:OriginAccessIdentity":
        report("origin access identities are legacy; use an origin access control (sigv4)")
    signs_properly = args.props.get("signingBehavior") == "always" and args.props.get("signingProtocol") == "sigv4"
    if args.resource_type == "aws:cloudfront/originAccessControl:OriginAccessControl" and not signs_properly:
        report("the origin access control must sign always with sigv4")
    if args.resource_type == "aws:cloudfront/distribution:Distribution":
        for origin in args.props.get("origins", []):
            oai = (origin.get("s3OriginConfig") or {}).get("originAccessIdentity")
            if oai or not origin.get("originAccessControlId"):
                report(f"origin {origin.get('originId')} must use an origin access control and no identity")


def viewer_tls_is_modern_and_https_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """SNI, TLSv1.2_2021 at least, HTTPS only: a 3xx on the policy URL would make senders ignore it (RFC 8461 §3.3)."""
    if args.resource_type != "aws:cloudfront/distribution:Distribution":
        return
    certificate = args.props.get("viewerCertificate") or {}
    if certificate.get("minimumProtocolVersion") != "TLSv1.2_2021":
        report(f"minimum protocol version is {certificate.get('minimumProtocolVersion')!r}, not TLSv1.2_2021")
    if certificate.get("sslSupportMethod") != "sni-only":
        report("viewer certificates must be served with SNI only")
    behaviors = [args.props.get("defaultCacheBehavior") or {}, *(args.props.get("orderedCacheBehaviors") or [])]
    for behavior in behaviors:
        if behavior.get("viewerProtocolPolicy") != "https-only":
            report(f"viewer protocol policy is {behavior.get('viewerProtocolPolicy')!r}, not https-only")


def certificates_are_in_us_east_1(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """CloudFront only takes ACM certificates from us-east-1."""
    if args.resource_type not in (
        "aws:acm/certificate:Certificate",
        "aws:acm/certificateValidation:CertificateValidation",
    ):
        return
    props: Mapping[str, Any] = args.provider.props if args.provider is not None else {}
    region = props.get("region")
    if region != "us-east-1":
        report(f"{args.name} is created in {region or 'the default region'}, not us-east-1")


POLICIES = [
    ResourceValidationPolicy(name=fn.__name__.replace("_", "-"), description=str(fn.__doc__), validate=fn)
    for fn in (
        policy_objects_are_text_plain,
        bucket_is_not_public,
        cloudfront_uses_oac_not_oai,
        viewer_tls_is_modern_and_https_only,
        certificates_are_in_us_east_1,
    )
]
