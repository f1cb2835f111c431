"""The least-privilege deploy policy covers every resource type the program creates, and nothing broad."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from pulumi_mocks import Run, build

POLICY = json.loads((Path(__file__).resolve().parents[1] / "iam" / "deploy-policy.json").read_text())

#: What creating, reading, updating and deleting each resource type needs (the provider's CRUD calls).
NEEDS: dict[str, list[str]] = {
    "aws:s3/bucket:Bucket": [
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:ListBucket",
        "s3:GetBucketAcl",
        "s3:GetBucketTagging",
    ],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": [
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
    ],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": [
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketOwnershipControls",
    ],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
        "s3:PutEncryptionConfiguration",
        "s3:GetEncryptionConfiguration",
    ],
    "aws:s3/bucketVersioning:BucketVersioning": ["s3:PutBucketVersioning", "s3:GetBucketVersioning"],
    "aws:s3/bucketPolicy:BucketPolicy": ["s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"],
    "aws:s3/bucketObjectv2:BucketObjectv2": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:GetObjectTagging"],
    "aws:cloudfront/originAccessControl:OriginAccessControl": [
        "cloudfront:CreateOriginAccessControl",
        "cloudfront:GetOriginAccessControl",
        "cloudfront:DeleteOriginAccessControl",
    ],
    "aws:cloudfront/function:Function": [
        "cloudfront:CreateFunction",
        "cloudfront:PublishFunction",
        "cloudfront:DeleteFunction",
    ],
    "aws:cloudfront/distribution:Distribution": [
        "cloudfront:CreateDistribution",
        "cloudfront:GetDistribution",
        "cloudfront:UpdateDistribution",
        "cloudfront:DeleteDistribution",
        "cloudfront:TagResource",
    ],
    "aws:acm/certificate:Certificate": ["acm:RequestCertificate", "acm:DescribeCertificate", "acm:DeleteCertificate"],
    "aws:acm/certificateValidation:CertificateValidation": ["acm:DescribeCertificate"],
    "aws:route53/record:Record": [
        "route53:ChangeResourceRecordSets",
        "route53:ListResourceRecordSets",
        "route53:GetChange",
    ],
    "invalidation": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
    "lookups": ["route53:ListHostedZones", "sts:GetCallerIdentity"],
}


def allowed(action: str) -> bool:
    for statement in POLICY["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
            return True
    return False


@pytest.fixture(scope="module")
def run() -> Run:
    return build({"domains": {"example.com": {"mx": ["m.example.com"], "rua": ["mailto:t@example.com"]}}})


def test_every_created_type_is_covered(run: Run) -> None:
    """Each resource type the program registers has its CRUD actions allowed."""
    types = {t for t in run.mocks.types.values() if t.startswith("aws:")}
    assert types <= NEEDS.keys(), types - NEEDS.keys()
    missing = [a for t in types | {"invalidation", "lookups"} for a in NEEDS[t] if not allowed(a)]
    assert missing == []


def test_no_wildcard_admin_or_iam() -> None:
    """No '*' action, no service-wide wildcard, and no IAM at all."""
    for statement in POLICY["Statement"]:
        for action in statement["Action"]:
            assert action != "*"
            assert not action.endswith(":*"), action
            assert not action.startswith("iam:"), action


def test_s3_is_scoped_to_the_stacks_bucket() -> None:
    """S3 actions apply only to the policy bucket (Pulumi names it policies-bucket-<suffix>) and its objects."""
    for statement in POLICY["Statement"]:
        if any(a.startswith("s3:") for a in statement["Action"]):
            assert statement["Resource"] in ("arn:aws:s3:::policies-bucket-*", "arn:aws:s3:::policies-bucket-*/*")


REPORTS_POLICY = json.loads((Path(__file__).resolve().parents[1] / "iam" / "deploy-policy-reports.json").read_text())
REPORTS_NEEDS: dict[str, list[str]] = {
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["s3:PutLifecycleConfiguration"],
    "aws:iam/role:Role": ["iam:CreateRole", "iam:GetRole", "iam:DeleteRole", "iam:PassRole"],
    "aws:iam/rolePolicy:RolePolicy": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
    "aws:lambda/function:Function": ["lambda:CreateFunction", "lambda:GetFunction", "lambda:DeleteFunction"],
    "aws:lambda/permission:Permission": ["lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"],
    "aws:apigatewayv2/api:Api": ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
    "aws:apigatewayv2/domainName:DomainName": ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
    "aws:apigatewayv2/apiMapping:ApiMapping": ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
    "aws:apigatewayv2/integration:Integration": ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
    "aws:apigatewayv2/route:Route": ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
    "aws:apigatewayv2/stage:Stage": ["apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"],
    "aws:ses/domainIdentity:DomainIdentity": ["ses:VerifyDomainIdentity", "ses:DeleteIdentity"],
    "aws:ses/domainIdentityVerification:DomainIdentityVerification": ["ses:GetIdentityVerificationAttributes"],
    "aws:ses/receiptRuleSet:ReceiptRuleSet": ["ses:CreateReceiptRuleSet", "ses:DeleteReceiptRuleSet"],
    "aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet": ["ses:SetActiveReceiptRuleSet"],
    "aws:ses/receiptRule:ReceiptRule": ["ses:CreateReceiptRule", "ses:DeleteReceiptRule"],
    # The kit's own calls: the active rule set check (mtasts.resources.reports.ActiveRuleSetGuard), the reserved
    # concurrency of the function, the _amazonses record lookup (route53:ListResourceRecordSets, base policy).
    "guard": ["ses:DescribeActiveReceiptRuleSet", "lambda:PutFunctionConcurrency", "route53:ListResourceRecordSets"],
}
#: Actions that support no resource type (AWS service authorization reference): only "Resource": "*" grants them.
NO_RESOURCE_ACTIONS = {"ses:DescribeActiveReceiptRuleSet"}


def test_report_endpoint_types_are_covered_by_the_reports_policy() -> None:
    """With mta-sts:reports, every extra resource type is covered by the base or the reports policy."""
    reports = {"endpoint": "tlsrpt.example.net", "mailbox": "tls@reports.example.net"}
    run = build({"reports": reports, "domains": {"example.com": {"template": "none"}}})
    types = {t for t in run.mocks.types.values() if t.startswith("aws:")}
    assert types <= NEEDS.keys() | REPORTS_NEEDS.keys(), types - NEEDS.keys() - REPORTS_NEEDS.keys()
    both = [*POLICY["Statement"], *REPORTS_POLICY["Statement"]]
    missing = [
        action
        for t in types
        for action in (NEEDS | REPORTS_NEEDS)[t] + (REPORTS_NEEDS["guard"] if t.startswith("aws:ses/") else [])
        if not any(s["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, p) for p in s["Action"]) for s in both)
    ]
    assert missing == []
    for statement in REPORTS_POLICY["Statement"]:
        assert "*" not in statement["Action"]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all(r != "*" for r in resources) or set(statement["Action"]) <= NO_RESOURCE_ACTIONS
