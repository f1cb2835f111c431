"""Stack-level resources: one private bucket for every policy, the CloudFront OAC and path filter."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..policy import POLICY_PATH
from .bucket import private_bucket

__all__ = ["PolicyStore", "PolicyStoreArgs", "bucket_policy_document", "path_filter"]

#: Above this many distributions the bucket policy names the account's distributions by wildcard instead of
#: one ARN each, to stay under S3's 20 KB bucket policy limit (about 70 bytes per ARN).
MAX_LISTED_DISTRIBUTIONS = 200

#: A CloudFront Function (viewer request) in front of every distribution: the policy path goes to S3, any
#: other path is answered 404 at the edge, so S3's XML errors never reach a client and nothing redirects.
PATH_FILTER_CODE = f"""function handler(event) {{
  var request = event.request;
  if (request.uri === "{POLICY_PATH}") {{
    return request;
  }}
  return {{
    statusCode: 404,
    statusDescription: "Not Found",
    headers: {{
      "content-type": {{ value: "text/plain; charset=utf-8" }},
      "cache-control": {{ value: "max-age=300" }}
    }},
    body: {{ encoding: "text", data: "Not found. The MTA-STS policy is at {POLICY_PATH}\\n" }}
  }};
}}
"""


def bucket_policy_document(
    bucket_arn: str, account_id: str, distribution_arns: Sequence[str] | None, tenants: bool = False
) -> str:
    """A bucket policy letting only this stack's CloudFront distributions read the policy objects.

    Each distribution is named by ``AWS:SourceArn``. With ``None`` (past :data:`MAX_LISTED_DISTRIBUTIONS`)
    the condition becomes ``ArnLike arn:aws:cloudfront::<account>:distribution/*`` plus ``AWS:SourceAccount``:
    every distribution of the account, which keeps the policy under S3's size limit.

    With ``tenants`` (shared hosting), a second statement also admits the account's distribution tenants
    (``ArnLike arn:aws:cloudfront::<account>:distribution-tenant/*`` plus ``AWS:SourceAccount``): which source
    ARN origin access control presents for a tenant's origin request is documented nowhere read (the
    multi-tenant distribution's or the tenant's; docs/deploy.md, "Unknowns of shared hosting"), and if it were
    the tenant's, naming only the distribution would answer 403 for every shared domain. The objects are the
    policies senders fetch publicly anyway; the account condition keeps every other account out.
    """
    condition: dict[str, dict[str, object]]
    if distribution_arns is not None:
        condition = {"StringEquals": {"AWS:SourceArn": sorted(set(distribution_arns))}}
    else:
        condition = {
            "ArnLike": {"AWS:SourceArn": f"arn:aws:cloudfront::{account_id}:distribution/*"},
            "StringEquals": {"AWS:SourceAccount": account_id},
        }
    statement = {
        "Sid": "CloudFrontReadsPolicies",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": condition,
    }
    statements = [statement]
    if tenants:
        statements.append(
            {
                **statement,
                "Sid": "CloudFrontTenantsReadPolicies",
                "Condition": {
                    "ArnLike": {"AWS:SourceArn": f"arn:aws:cloudfront::{account_id}:distribution-tenant/*"},
                    "StringEquals": {"AWS:SourceAccount": account_id},
                },
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def path_filter(name: str, opts: pulumi.ResourceOptions) -> aws.cloudfront.Function:
    """The viewer-request function serving only the policy path (:data:`PATH_FILTER_CODE`)."""
    return aws.cloudfront.Function(
        name,
        runtime="cloudfront-js-2.0",
        comment=f"Serve only {POLICY_PATH}; 404 for anything else",
        code=PATH_FILTER_CODE,
        publish=True,
        opts=opts,
    )


@dataclass(frozen=True)
class PolicyStoreArgs:
    """Settings of the stack's policy store."""

    stack: str
    """Stack name, used in resource descriptions."""
    shards: int = 1
    """Origin access controls and CloudFront Functions to make, one of each per shard of dedicated
    distributions (:func:`mtasts.resources.quotas.assign_shards`); 0 when every domain is hosted shared."""


class PolicyStore(pulumi.ComponentResource):
    """The private S3 bucket holding every domain's policy, and what CloudFront needs to read it."""

    bucket: aws.s3.Bucket
    origin_access_controls: list[aws.cloudfront.OriginAccessControl]
    path_filters: list[aws.cloudfront.Function]

    def __init__(self, name: str, args: PolicyStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mtasts:index:PolicyStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        private = private_bucket(name, child)
        self.bucket = private.bucket
        self.public_access_block = private.public_access_block
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        # CloudFront allows 100 distributions per origin access control and per function (both adjustable;
        # "Quotas"): one of each per shard. Shard 0 keeps the names a one-shard stack always had.
        self.origin_access_controls = [
            aws.cloudfront.OriginAccessControl(
                f"{name}-oac" + (f"-{i}" if i else ""),
                description=f"MTA-STS policies of stack {args.stack}" + (f" (shard {i})" if i else ""),
                origin_access_control_origin_type="s3",
                signing_behavior="always",
                signing_protocol="sigv4",
                opts=child,
            )
            for i in range(args.shards)
        ]
        self.path_filters = [
            path_filter(f"{name}-path-filter" + (f"-{i}" if i else ""), child) for i in range(args.shards)
        ]
        self.register_outputs({"bucketName": self.bucket.bucket})

    @property
    def origin_access_control(self) -> aws.cloudfront.OriginAccessControl:
        """Shard 0's origin access control."""
        return self.origin_access_controls[0]

    @property
    def path_filter(self) -> aws.cloudfront.Function:
        """Shard 0's path filter."""
        return self.path_filters[0]

    def grant_read(self, distribution_arns: Sequence[pulumi.Output[str]], tenants: bool = False) -> aws.s3.BucketPolicy:
        """The bucket policy for the stack's distributions; call once, after every domain is declared.

        Past :data:`MAX_LISTED_DISTRIBUTIONS` the policy names the account instead, and then does not depend
        on the distributions at all: every domain's TXT records wait for this policy, and Pulumi's SDK walks
        a dependency's whole dependency graph on each such edge, so a policy depending on N distributions
        would make declaring the stack quadratic in N.
        """
        account = aws.get_caller_identity_output().account_id
        listed = len(distribution_arns) <= MAX_LISTED_DISTRIBUTIONS
        arns = distribution_arns if listed else []
        document = pulumi.Output.all(self.bucket.arn, account, *arns).apply(
            lambda values: bucket_policy_document(values[0], values[1], values[2:] if listed else None, tenants)
        )
        return aws.s3.BucketPolicy(
            f"{self.pulumi_resource_name}-bucket-policy",
            bucket=self.bucket.id,
            policy=document,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
