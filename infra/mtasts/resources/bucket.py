"""A private S3 bucket as every bucket of the kit is made: no public access, owner-enforced, encrypted."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

__all__ = ["PrivateBucket", "private_bucket"]


@dataclass(frozen=True)
class PrivateBucket:
    """The bucket and the resources that make it private."""

    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock


def private_bucket(name: str, opts: pulumi.ResourceOptions) -> PrivateBucket:
    """``<name>-bucket`` with all four public-access blocks, BucketOwnerEnforced and SSE-S3 default encryption."""
    bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=False, opts=opts)
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=opts,
    )
    return PrivateBucket(bucket, public_access_block)
