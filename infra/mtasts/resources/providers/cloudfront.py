"""The CloudFront client of the dynamic providers: the stack's ``aws:*`` settings, adaptive retries by default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..credentials import AwsSettings

__all__ = ["ADAPTIVE_RETRIES", "cloudfront_client"]


#: botocore's retries for the dynamic providers' CloudFront calls unless the stack sets ``aws:retryMode``:
#: adaptive mode adds client-side rate limiting to the standard retries, so thousands of calls slow down
#: instead of failing when CloudFront throttles ("Retries", boto3 documentation).
ADAPTIVE_RETRIES = {"mode": "adaptive", "total_max_attempts": 10}


def cloudfront_client(props: Mapping[str, Any]) -> Any:
    """The dynamic providers' CloudFront client: the stack's ``aws:*`` settings (us-east-1: CloudFront is global).

    Retries are :data:`ADAPTIVE_RETRIES` unless the stack's ``aws:retryMode`` / ``aws:maxRetries`` say otherwise.
    """
    from botocore.config import Config

    from ..credentials import boto3_session

    settings = AwsSettings.from_props(props.get("aws") or {})
    session = boto3_session(settings, "us-east-1")
    if settings.retry_mode or settings.max_retries is not None:
        return session.client("cloudfront")
    return session.client("cloudfront", config=Config(retries=dict(ADAPTIVE_RETRIES)))
