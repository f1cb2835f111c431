"""The plan: for each domain, the policy bytes, their id and the DNS records to publish.

config → **policy → records**. Pure and offline: ``mtasts plan``,
``mtasts render`` and the Pulumi program all build this same object, so
what the CLI prints is what ``pulumi up`` deploys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .config import DomainConfig, StackConfig, TemplateStore, load_stack_file
from .errors import ConfigError, Problem, brief
from .names import HostnameError, normalize_hostname, to_unicode
from .policy import MAX_POLICY_BYTES, Policy, policy_url
from .quotas import INVALIDATION_PATHS_IN_PROGRESS, QUOTAS, Need, quota_values, shard_capacity, shard_count
from .records import (
    ROUTE53_VALUE_LIMIT,
    route53_value_length,
    sts_record_name,
    sts_record_value,
    tlsrpt_record_name,
    tlsrpt_record_value,
)

__all__ = [
    "DnsRecord",
    "DomainPlan",
    "StackPlan",
    "adopt_warnings",
    "plan_domain",
    "plan_stack",
    "plan_stack_file",
    "stack_file_path",
    "stack_needs",
]


@dataclass(frozen=True)
class DnsRecord:
    """One DNS record the kit publishes."""

    name: str
    """Fully qualified, lower case, no trailing dot."""
    type: str
    """Record type, e.g. ``TXT``."""
    value: str
    """The record's value as one string (TXT: the strings joined)."""
    ttl: int
    """Time to live in seconds."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "type": self.type, "value": self.value, "ttl": self.ttl}


@dataclass(frozen=True)
class DomainPlan:
    """Everything published for one policy domain."""

    config: DomainConfig
    """The validated settings it was built from."""
    policy: Policy
    """The policy model."""
    policy_bytes: bytes
    """The exact bytes served at :attr:`policy_url`."""
    policy_id: str
    """Content hash of :attr:`policy_bytes`, announced in the ``_mta-sts`` record."""
    records: tuple[DnsRecord, ...]
    """TXT records as senders resolve them: ``_mta-sts`` and, with rua, ``_smtp._tls``."""
    hosting_zone: str | None = None
    """With ``dns: external``, the stack's zone where the kit writes this domain's records."""
    delegation: tuple[DnsRecord, ...] = ()
    """With ``dns: external``, the three CNAMEs the domain owner publishes once (``mta-sts``, ``_mta-sts``,
    ``_smtp._tls``), each to the same name under the hosting zone; such a domain is hosted ``shared``, whose
    CloudFront-managed certificate is validated over HTTP, so there is no validation record to publish."""

    @property
    def external(self) -> bool:
        """Whether the domain's own DNS is outside this kit's control (``dns: external``)."""
        return self.hosting_zone is not None

    @property
    def mta_sts_host(self) -> str:
        """``mta-sts.<domain>``, the policy host senders connect to."""
        return f"mta-sts.{self.domain}"

    def location(self, name: str) -> tuple[str, str]:
        """(zone, record name) where the kit writes the record that senders resolve as ``name``.

        The domain's own zone normally; with ``dns: external``, ``<name>.<hosting zone>`` in the hosting zone.
        """
        if self.hosting_zone is None:
            return self.config.zone, name
        return self.hosting_zone, f"{name}.{self.hosting_zone}"

    @property
    def domain(self) -> str:
        """Policy domain, A-label form."""
        return self.config.domain

    @property
    def policy_text(self) -> str:
        """:attr:`policy_bytes` as text."""
        return self.policy_bytes.decode("utf-8")

    @property
    def policy_url(self) -> str:
        """``https://mta-sts.<domain>/.well-known/mta-sts.txt``."""
        return policy_url(self.domain)

    @property
    def sts_record(self) -> DnsRecord:
        """The ``_mta-sts`` TXT record."""
        return self.records[0]

    @property
    def tlsrpt_record(self) -> DnsRecord | None:
        """The ``_smtp._tls`` TXT record, if rua is configured."""
        return self.records[1] if len(self.records) > 1 else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``mtasts plan --json`` for one domain."""
        c = self.config
        return {
            "domain": c.domain,
            "display_name": to_unicode(c.domain),
            "template": c.template,
            "mode": c.mode,
            "max_age": c.max_age,
            "mx": list(c.mx),
            "rua": list(c.rua),
            "zone": c.zone,
            "policy_id": self.policy_id,
            "policy_url": self.policy_url,
            "policy_text": self.policy_text,
            "records": [r.to_dict() for r in self.records],
            "dns": c.dns,
            "delegation": [r.to_dict() for r in self.delegation],
            "hosting": c.hosting,
            "switch_hosting": c.switch_hosting,
            "retire": c.retire,
            "warnings": [str(w) for w in c.warnings],
        }


@dataclass(frozen=True)
class StackPlan:
    """The plan of a whole stack."""

    config: StackConfig
    """Validated stack settings."""
    domains: tuple[DomainPlan, ...]
    """One plan per domain, sorted by name."""

    def get(self, domain: str) -> DomainPlan:
        """The plan of ``domain`` (any case, Unicode or A-label); :class:`ConfigError` if absent."""
        try:
            wanted = normalize_hostname(domain)
        except HostnameError as exc:
            raise ConfigError(Problem(domain, str(exc))) from None
        for plan in self.domains:
            if plan.domain == wanted:
                return plan
        raise ConfigError(Problem(f"domains.{domain}", f"is not in {self.config.source or 'the stack config'}"))

    @property
    def warnings(self) -> list[Problem]:
        """Every domain's warnings."""
        return [w for d in self.domains for w in d.config.warnings]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``mtasts plan --json``."""
        return {"domains": [d.to_dict() for d in self.domains], "quotas": [n.to_dict() for n in self.quota_needs()]}

    def quota_needs(self, moving: Mapping[str, str] | None = None) -> list[Need]:
        """What the stack needs of each AWS quota, next to the value it assumes (see :func:`stack_needs`).

        ``moving`` maps each domain switching hosting mode in this deployment to the mode it leaves (default:
        every ``switch_hosting`` domain, counted on both sides).
        """
        return stack_needs(self, moving)


def plan_domain(config: DomainConfig, hosting_zone: str | None = None) -> DomainPlan:
    """Render the policy of one domain and derive its id and records.

    ``hosting_zone`` is the stack's ``mta-sts:hostingZone``, used by domains with ``dns: external``.
    """
    policy = Policy(mode=config.mode, max_age=config.max_age, mx=config.mx)
    body = policy.to_bytes()
    pid = policy.id
    records = [DnsRecord(sts_record_name(config.domain), "TXT", sts_record_value(pid), config.ttl)]
    if config.rua:
        records.append(DnsRecord(tlsrpt_record_name(config.domain), "TXT", tlsrpt_record_value(config.rua), config.ttl))
    _check_sizes(config, body, records)
    if config.adopt:
        probe = DomainPlan(config, policy, body, pid, tuple(records))
        config = replace(config, warnings=(*config.warnings, *adopt_warnings(probe)))
    if config.dns != "external":
        return DomainPlan(config, policy, body, pid, tuple(records))
    if hosting_zone is None:
        raise ConfigError(Problem(f"domains.{config.key}.dns", "external DNS needs mta-sts:hostingZone"))
    # Always the same three, whatever the policy, rua, hosting mode or distribution: the owner publishes them
    # once. A target the kit has nothing to put under yet (no rua) simply does not exist until it does.
    names = [f"mta-sts.{config.domain}", sts_record_name(config.domain), tlsrpt_record_name(config.domain)]
    delegation = tuple(DnsRecord(n, "CNAME", f"{n}.{hosting_zone}", config.ttl) for n in names)
    return DomainPlan(config, policy, body, pid, tuple(records), hosting_zone, delegation)


def planned_txt(plan: DomainPlan, label: str) -> str | None:
    """The value the plan gives the TXT record ``label`` (``_mta-sts``, ``_smtp._tls``) of its domain, if any."""
    for record in plan.records:
        if record.name == f"{label}.{plan.domain}":
            return record.value
    return None


def adopt_warnings(plan: DomainPlan) -> list[Problem]:
    """Offline: what each adopted record must already look like for the import to succeed.

    Pulumi imports a resource only when the desired inputs equal what exists (see :mod:`mtasts.lifecycle.adopt`,
    which compares the live values), so each warning names the exact value and TTL the record must have.
    """
    where = f"domains.{plan.config.key}.adopt"
    warnings: list[Problem] = []
    for label in plan.config.adopt:
        name = f"{label}.{plan.domain}"
        if label == "mta-sts":
            warnings.append(
                Problem(
                    where,
                    f"{name} A/AAAA can be imported only if they already alias this stack's CloudFront distribution, "
                    "which does not exist before its first deployment: pulumi up would fail. Use allow_overwrite: "
                    "true to replace them, or deploy first without adopting mta-sts",
                )
            )
            continue
        value = planned_txt(plan, label)
        if value is None:
            warnings.append(
                Problem(where, f"{name}: the plan publishes no such record (no rua?), so there is nothing to import")
            )
            continue
        warnings.append(
            Problem(
                where,
                f"{name} is imported only if the live record already equals the plan exactly (value "
                f"{brief(value, 100)}, TTL {plan.config.ttl}); on any difference pulumi up fails. "
                "`mtasts plan --preflight` compares the live value",
            )
        )
    return warnings


def _check_sizes(config: DomainConfig, body: bytes, records: list[DnsRecord]) -> None:
    """Refuse what senders or Route 53 would refuse: a policy over 64 KiB, a TXT value over 4,000 characters."""
    problems = []
    if len(body) > MAX_POLICY_BYTES:
        problems.append(
            Problem(
                f"domains.{config.key}.mx",
                f"the policy would be {len(body):,} bytes; senders read at most {MAX_POLICY_BYTES:,} (RFC 8461 §3.3)",
            )
        )
    for record in records:
        length = route53_value_length(record.value)
        if length > ROUTE53_VALUE_LIMIT:
            field = "rua" if record.name.startswith("_smtp._tls.") else "mx"
            problems.append(
                Problem(
                    f"domains.{config.key}.{field}",
                    f"the {record.name} TXT value would be {length:,} characters; "
                    f"Route 53 takes at most {ROUTE53_VALUE_LIMIT:,} per value",
                )
            )
    if problems:
        raise ConfigError(problems)


def plan_stack(config: StackConfig) -> StackPlan:
    """Plan every domain of a validated stack.

    With ``mta-sts:reports``, the stack's own report endpoints (HTTPS, and the mailbox if set) are added to every
    domain's rua.
    """
    hosting_zone = config.settings.get("hostingZone")
    zone = hosting_zone if isinstance(hosting_zone, str) else None
    reports = config.settings.get("reports")
    endpoints = [str(reports[k]) for k in ("uri", "mail_uri") if reports[k]] if isinstance(reports, dict) else []
    domains = []
    problems: list[Problem] = []
    for d in config.domains:
        added = tuple(uri for uri in endpoints if uri not in d.rua)
        if added:
            d = replace(d, rua=(*d.rua, *added))
        try:
            domains.append(plan_domain(d, zone))
        except ConfigError as exc:  # every domain's problems at once, as for the config itself
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return StackPlan(config, tuple(domains))


def stack_file_path(stack: str, project_dir: Path) -> Path:
    """``<project_dir>/Pulumi.<stack>.yaml``."""
    return project_dir / f"Pulumi.{stack}.yaml"


def plan_stack_file(path: Path, templates: TemplateStore | None = None) -> StackPlan:
    """Read, validate and plan a stack file in one step."""
    return plan_stack(load_stack_file(path, templates))


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
    # The rollout keeps at most INVALIDATION_PATHS_IN_PROGRESS paths in flight on the shared distribution, one
    # per changed domain: each batch gets its own deadline (mtasts.resources.providers.rollout).
    batches = -(-len(shared) // INVALIDATION_PATHS_IN_PROGRESS)
    counts = {
        "distributions": (len(dedicated), "one per dedicated domain" + (", moving ones counted" if moving else "")),
        "distributionsPerOriginAccessControl": (per_shard, f"{len(dedicated)} distributions in {shards} shard(s)"),
        "distributionsPerFunction": (per_shard, f"{len(dedicated)} distributions in {shards} shard(s)"),
        "originAccessControls": (shards + (1 if shared else 0), "one per shard, one for the shared distribution"),
        "functions": (shards + (1 if shared else 0), "one per shard, one for the shared distribution"),
        "tenants": (
            len(shared),
            "one per shared domain"
            + (", moving ones counted" if moving else "")
            + (f"; a change of every policy is invalidated in {batches} batches of 3,000 paths" if batches > 1 else ""),
        ),
        "certificates": (
            len(plan.domains) + extra_certificates,
            "one per domain" + (f", {extra_certificates} more while moving to dedicated" if extra_certificates else ""),
        ),
        "certificatesPerYear": (len(plan.domains), "one per domain on a first deployment"),
        "recordsPerZone": (fullest[1] + 2 if fullest[0] else 0, f"zone {fullest[0]} (with its SOA and NS)"),
    }
    return [Need(QUOTAS[k], n, values[k], note) for k, (n, note) in counts.items()]
