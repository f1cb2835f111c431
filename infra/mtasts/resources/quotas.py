"""Quotas as code: what a stack needs from AWS, next to AWS's quotas, before anything is declared.

Plain Python (no Pulumi import), so ``mtasts plan`` and the config check can use it offline. Three parts:

* :data:`QUOTAS`, every AWS quota the kit's design runs into, with its default value and the page that
  states it. A stack may raise the values it relies on with ``mta-sts:quotas`` (for an account whose quotas
  were raised), and the program then checks them against the account's *applied* values.
* :func:`stack_needs`, the arithmetic: how many of each a stack's plan uses.
* :func:`assign_shards`, how dedicated distributions share origin access controls and CloudFront Functions
  without any of them passing its per-resource quota, stably across deployments.

Sources (read 2026): CloudFront developer guide "Quotas" (cloudfront-limits.html) and AWS General Reference
"Amazon CloudFront endpoints and quotas" (cf_region.html); ACM user guide "Quotas" (acm-limits.html);
Route 53 developer guide "Quotas" (DNSLimitations.html).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..plan import StackPlan

__all__ = [
    "QUOTAS",
    "Need",
    "Quota",
    "QuotaProblem",
    "applied_quotas",
    "assign_shards",
    "quota_problems",
    "quota_values",
    "shard_capacity",
    "shard_count",
    "stack_needs",
]

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


def assign_shards(domains: Iterable[str], previous: Mapping[str, Any] | None, capacity: int) -> dict[str, int]:
    """Each dedicated domain's shard, keeping the previous deployment's choice wherever it still fits.

    A domain keeps its shard while that shard still exists and holds at most ``capacity`` kept domains, so
    adding or removing domains never moves other distributions to another OAC or function (each move is a
    distribution update, and moves in both directions at once could briefly put one shard over its quota).
    The others (new domains, and those of a shard dropped because the stack shrank) go, in name order, to the
    lowest shard with room. Shards are ``0 .. shard_count - 1``; their total room is at least the number of
    domains, so everyone fits. Moves only ever go *into* a shard, so no shard passes ``capacity`` mid-update.
    """
    names = sorted(set(domains))
    count = shard_count(len(names), capacity)
    kept: dict[str, int] = {}
    fill: Counter[int] = Counter()
    prior = previous if isinstance(previous, Mapping) else {}
    for name in names:
        shard = prior.get(name)
        if isinstance(shard, int) and not isinstance(shard, bool) and 0 <= shard < count and fill[shard] < capacity:
            kept[name] = shard
            fill[shard] += 1
    shard = 0
    for name in names:
        if name in kept:
            continue
        while fill[shard] >= capacity:
            shard += 1
        kept[name] = shard
        fill[shard] += 1
    return kept


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


def stack_needs(plan: StackPlan, moving: Mapping[str, str] | None = None) -> list[Need]:
    """The stack's use of every quota in :data:`QUOTAS`, dedicated and shared domains counted apart.

    Counts what this stack creates; other resources of the same account (another stack, a hand-made
    distribution) use the same account quotas, which is why the program also reads the applied values and
    the account's use is left to AWS's own error.

    ``moving`` maps each domain that switches hosting mode in this deployment to the mode it leaves; such a
    domain is counted on both sides, as the deployment holds both at once (docs/deploy.md, "Changing modes"):
    a domain leaving ``dedicated`` keeps its distribution (and its shard's associations) until the next
    deployment, one leaving ``shared`` keeps its tenant's CloudFront-managed certificate until the tenant is
    deleted. Default: every ``switch_hosting`` domain, which is what ``mtasts plan`` can know offline.
    """
    overrides = plan.config.settings.get("quotas")
    values = quota_values(overrides if isinstance(overrides, Mapping) else None)
    if moving is None:
        moving = {
            d.domain: ("shared" if d.config.hosting == "dedicated" else "dedicated")
            for d in plan.domains
            if d.config.switch_hosting
        }
    dedicated = [d for d in plan.domains if d.config.hosting == "dedicated" or moving.get(d.domain) == "dedicated"]
    shared = [d for d in plan.domains if d.config.hosting != "dedicated" or moving.get(d.domain) == "shared"]
    # A domain moving into dedicated gets an ACM certificate while its tenant's managed one still exists; one
    # moving into shared reuses its ACM certificate (mtasts.resources.shared).
    extra_certificates = sum(1 for d in plan.domains if moving.get(d.domain) == "shared")
    capacity = shard_capacity(values)
    shards = shard_count(len(dedicated), capacity) if dedicated else 0
    per_shard = min(len(dedicated), capacity)
    records: Counter[str] = Counter()
    for d in plan.domains:
        zone, _ = d.location(d.sts_record.name)
        # A and AAAA for mta-sts, the TXT records; dedicated adds ACM's validation CNAME in the domain's zone.
        hosts = 1 if d.external else 2  # a CNAME behind the owner's, else A and AAAA
        acm = d.config.hosting == "dedicated" or d.domain in moving
        records[zone] += hosts + len(d.records) + (1 if acm else 0)
    fullest = max(records.items(), key=lambda kv: (kv[1], kv[0]), default=("", 0))
    counts = {
        "distributions": (len(dedicated), "one per dedicated domain" + (", moving ones counted" if moving else "")),
        "distributionsPerOriginAccessControl": (per_shard, f"{len(dedicated)} distributions in {shards} shard(s)"),
        "distributionsPerFunction": (per_shard, f"{len(dedicated)} distributions in {shards} shard(s)"),
        "originAccessControls": (shards + (1 if shared else 0), "one per shard, one for the shared distribution"),
        "functions": (shards + (1 if shared else 0), "one per shard, one for the shared distribution"),
        "tenants": (len(shared), "one per shared domain" + (", moving ones counted" if moving else "")),
        "certificates": (
            len(plan.domains) + extra_certificates,
            "one per domain" + (f", {extra_certificates} more while moving to dedicated" if extra_certificates else ""),
        ),
        "certificatesPerYear": (len(plan.domains), "one per domain on a first deployment"),
        "recordsPerZone": (fullest[1] + 2 if fullest[0] else 0, f"zone {fullest[0]} (with its SOA and NS)"),
    }
    return [Need(QUOTAS[k], n, values[k], note) for k, (n, note) in counts.items()]


@dataclass(frozen=True)
class QuotaProblem:
    """A quota the stack would exceed."""

    need: Need
    """What the stack uses."""
    applied: int
    """The account's applied value (or the assumed one, offline)."""

    def __str__(self) -> str:
        q = self.need.quota
        code = q.code or "<code: aws service-quotas list-service-quotas --service-code " + q.service + ">"
        raise_it = (
            f"raise it: aws service-quotas request-service-quota-increase --service-code {q.service} "
            f"--quota-code {code} --desired-value {self.need.needed}"
            if q.adjustable
            else "it cannot be raised: split the domains across stacks or accounts"
        )
        return (
            f"mta-sts:quotas.{q.key}: the stack needs {self.need.needed} ({q.what}; {self.need.note}), "
            f"the account allows {self.applied} ({q.service} quota {q.code or q.names[0]}); {raise_it} "
            f"({q.source})"
        )


def quota_problems(needs: Iterable[Need], applied: Mapping[str, int] | None = None) -> list[QuotaProblem]:
    """One problem per quota the stack would exceed.

    ``applied`` are the account's values (from :func:`applied_quotas`); a quota missing there is checked
    against the value the stack assumes. A sharded quota is exceeded when the stack's shard size (the
    ``mta-sts:quotas`` override) is above the account's applied value: the program would put more
    distributions on one OAC or function than AWS allows.
    """
    problems = []
    for need in needs:
        limit = need.limit
        if applied and need.quota.key in applied:
            limit = applied[need.quota.key]
        if need.needed > limit or (need.quota.key in SHARDED and need.needed and need.limit > limit):
            problems.append(QuotaProblem(need, limit))
    return problems


def applied_quotas(client: Any) -> dict[str, int]:
    """The account's applied values of :data:`QUOTAS`, from the Service Quotas API (``ListServiceQuotas``).

    ``client`` is a boto3 ``service-quotas`` client in us-east-1 (CloudFront's and Route 53's quotas are
    global and listed there; the kit's certificates are in us-east-1). Quotas are matched by code, else by
    name; a quota the API does not list (never adjusted, or a renamed one) is left out, and the caller falls
    back to the default.
    """
    wanted: dict[str, list[Quota]] = {}
    for q in QUOTAS.values():
        wanted.setdefault(q.service, []).append(q)
    values: dict[str, int] = {}
    for service, quotas in wanted.items():
        listed = _listed(client.list_service_quotas, service)
        for q in quotas:
            for item in listed:
                name = str(item.get("QuotaName", "")).strip().lower()
                if (q.code and item.get("QuotaCode") == q.code) or name in q.names:
                    values[q.key] = int(float(item["Value"]))
                    break
    return values


def _listed(call: Callable[..., Any], service: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(50):  # bounded: a service lists a few hundred quotas at most
        page = call(ServiceCode=service, **({"NextToken": token} if token else {}))
        items.extend(page.get("Quotas", []))
        token = page.get("NextToken")
        if not token:
            break
    return items
