"""AWS's quotas as data: every quota the kit's design runs into, its default and the page that states it.

The lowest layer that knows about quotas (plain Python, no Pulumi or boto3 import), so that the config check
(``mta-sts:quotas`` names), the plan (:func:`mtasts.plan.stack_needs`, what a stack needs of each) and the
program (:mod:`mtasts.resources.quotas`, the account's applied values and the shards) share one table.

* :data:`QUOTAS`, every AWS quota the kit's design runs into, with its default value and the page that
  states it. A stack may raise the values it relies on with ``mta-sts:quotas`` (for an account whose quotas
  were raised), and the program then checks them against the account's *applied* values.
* :class:`Need`, how much of one quota a stack uses (computed by :func:`mtasts.plan.stack_needs`).
* :func:`quota_values`, :func:`shard_capacity`, :func:`shard_count`: the arithmetic the plan and the program share.

Sources (read 2026): CloudFront developer guide "Quotas" (cloudfront-limits.html) and AWS General Reference
"Amazon CloudFront endpoints and quotas" (cf_region.html); ACM user guide "Quotas" (acm-limits.html);
Route 53 developer guide "Quotas" (DNSLimitations.html).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["QUOTAS", "SHARDED", "Need", "Quota", "quota_values", "shard_capacity", "shard_count"]

CLOUDFRONT_QUOTAS = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html"
CLOUDFRONT_GENERAL = "https://docs.aws.amazon.com/general/latest/gr/cf_region.html"
ACM_QUOTAS = "https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html"
ROUTE53_QUOTAS = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html"


@dataclass(frozen=True)
class Quota:
    """One AWS quota the kit's resources count against."""

    key: str
    """Name in ``mta-sts:quotas`` and in ``mtasts plan``."""
    service: str
    """Service Quotas service code (``cloudfront``, ``acm``, ``route53``)."""
    code: str | None
    """Service Quotas quota code where it is known; else the quota is matched by :attr:`names`."""
    names: tuple[str, ...]
    """The quota's name(s) in the Service Quotas API, lower case (AWS has renamed some)."""
    default: int
    """AWS's default value."""
    adjustable: bool
    """Whether AWS raises it on request."""
    what: str
    """What it counts, for people."""
    source: str
    """The page stating the default."""


#: CloudFront: at most this many file paths in invalidations in progress per distribution, not adjustable
#: ("Quotas on invalidations"); every tenant of the shared distribution counts against its distribution.
INVALIDATION_PATHS_IN_PROGRESS = 3_000


QUOTAS: dict[str, Quota] = {
    q.key: q
    for q in (
        Quota(
            "distributions",
            "cloudfront",
            "L-24B04930",
            ("distributions per aws account", "web distributions per aws account"),
            500,
            True,
            "standard distributions per account (one per dedicated domain)",
            CLOUDFRONT_QUOTAS,
        ),
        Quota(
            "distributionsPerOriginAccessControl",
            "cloudfront",
            None,
            ("distributions associated with the same origin access control", "distributions per origin access control"),
            100,
            True,
            "distributions associated with one origin access control (error "
            "TooManyDistributionsAssociatedToOriginAccessControl)",
            CLOUDFRONT_QUOTAS,
        ),
        Quota(
            "distributionsPerFunction",
            "cloudfront",
            None,
            (
                "cloudfront functions: maximum number of distributions associated with a single function",
                "distributions associated with a single function",
            ),
            100,
            True,
            "distributions associated with one CloudFront Function",
            CLOUDFRONT_GENERAL,
        ),
        Quota(
            "originAccessControls",
            "cloudfront",
            None,
            ("origin access controls per aws account",),
            100,
            True,
            "origin access controls per account",
            CLOUDFRONT_QUOTAS,
        ),
        Quota(
            "functions",
            "cloudfront",
            None,
            ("cloudfront functions: maximum number of functions per aws account", "functions per aws account"),
            100,
            True,
            "CloudFront Functions per account",
            CLOUDFRONT_QUOTAS,
        ),
        Quota(
            "tenants",
            "cloudfront",
            None,
            ("maximum number of distribution tenants per aws account", "distribution tenants per aws account"),
            10_000,
            True,
            "distribution tenants per account (one per shared domain)",
            CLOUDFRONT_QUOTAS,
        ),
        Quota(
            "certificates",
            "acm",
            "L-F141DD1D",
            ("acm certificates",),
            2_500,
            True,
            "ACM certificates in us-east-1 at once (dedicated: the kit's; shared: CloudFront-managed)",
            ACM_QUOTAS,
        ),
        Quota(
            "certificatesPerYear",
            "acm",
            None,
            ("acm certificates created in last 365 days",),
            5_000,
            True,
            "ACM certificates issued in 365 days (a first deployment issues one per domain)",
            ACM_QUOTAS,
        ),
        Quota(
            "recordsPerZone",
            "route53",
            "L-E209CC9F",
            ("records per hosted zone",),
            10_000,
            True,
            "records in the fullest hosted zone the stack writes to",
            ROUTE53_QUOTAS,
        ),
    )
}

#: Per-resource quotas the program shards against instead of needing them raised.
SHARDED = ("distributionsPerOriginAccessControl", "distributionsPerFunction")


def quota_values(overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Every quota's value as the stack assumes it: AWS's default unless ``mta-sts:quotas`` raises it."""
    values = {k: q.default for k, q in QUOTAS.items()}
    values.update(overrides or {})
    return values


def shard_capacity(values: Mapping[str, int]) -> int:
    """Distributions per shard: at most the per-OAC and the per-function quota (each shard has one of each)."""
    return min(values["distributionsPerOriginAccessControl"], values["distributionsPerFunction"])


def shard_count(distributions: int, capacity: int) -> int:
    """Shards (one OAC and one function each) for ``distributions`` dedicated distributions; at least 1."""
    return max(1, math.ceil(distributions / capacity))


@dataclass(frozen=True)
class Need:
    """How much of one quota a stack uses."""

    quota: Quota
    """The quota."""
    needed: int
    """The stack's use (for a sharded quota: the fullest shard)."""
    limit: int
    """The value the stack assumes (AWS's default or the ``mta-sts:quotas`` override)."""
    note: str = ""
    """How the number comes about."""

    @property
    def ok(self) -> bool:
        """Whether the stack fits the assumed value."""
        return self.needed <= self.limit

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``mtasts plan --json``."""
        q = self.quota
        return {
            "quota": q.key,
            "service": q.service,
            "code": q.code,
            "needed": self.needed,
            "limit": self.limit,
            "default": q.default,
            "adjustable": q.adjustable,
            "ok": self.ok,
            "note": self.note,
            "source": q.source,
        }
