"""What the program decides about tenants before declaring any: a tenant's name, and which hosts are delegated.

:func:`tenant_name` is the one name of a domain's distribution tenant (unique per account, never updated), which
the orphan search (:mod:`.gates`) and the tenants themselves (:mod:`.shared`) use; :func:`published_delegations`
says which ``dns: external`` domains' owners published the CNAMEs their tenants need.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence

import pulumi

from ..plan import DomainPlan

__all__ = ["TENANT_NAME_HASH", "TENANT_NAME_PATTERN", "published_delegations", "tenant_name"]


#: ``CreateDistributionTenant.Name`` (botocore's CloudFront model); unique per account, never updated.
TENANT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-.]{1,126}[a-zA-Z0-9]")
#: Hex digits of the domain's SHA-256 that end a name cut to fit (40 bits: no collision among 10,000 domains
#: short of about one in 10^5 for a fleet of that many long names sharing a 117-character prefix).
TENANT_NAME_HASH = 10


def tenant_name(domain: str) -> str:
    """The tenant's name: ``mtasts-<domain>``, or, where that does not fit the pattern, a cut with a hash suffix.

    A host name (LDH, at most 253 characters) gives ``mtasts-<domain>`` unchanged up to 128 characters. A
    longer one is cut to leave room for ``-`` and :data:`TENANT_NAME_HASH` hex digits of its SHA-256, without a
    trailing ``-`` or ``.`` (the pattern must end on a letter or digit), so two long domains sharing their first
    117 characters still get two names.
    """
    name = f"mtasts-{domain}"
    if TENANT_NAME_PATTERN.fullmatch(name):
        return name
    digest = hashlib.sha256(domain.encode()).hexdigest()[:TENANT_NAME_HASH]
    head = re.sub(r"[^a-zA-Z0-9.-]", "-", name)[: 128 - 1 - TENANT_NAME_HASH].rstrip("-.")
    return f"{head}-{digest}"


def published_delegations(
    plans: Iterable[DomainPlan],
    lookup: Callable[[str], Sequence[str]] | None = None,
    workers: int = 32,
) -> set[str]:
    """The ``dns: external`` domains whose ``mta-sts`` CNAME points at the kit's target, or may do.

    ``lookup(name)`` returns the CNAME targets of ``name`` (empty when the name has none or does not exist);
    default: dnspython, 5 s per lookup. A lookup that fails (timeout, SERVFAIL) counts as published: pending
    would drop a live domain's tenant and TXT records, and a transient DNS failure must never do that; for a
    domain that is really not delegated yet CloudFront then refuses the tenant, with its own error. Lookups run
    ``workers`` at a time, so 10,000 domains take seconds.
    """
    external = [p for p in plans if p.external and p.delegation]
    resolve = lookup or _cname_targets

    def check(plan: DomainPlan) -> tuple[str, bool]:
        wanted = plan.delegation[0]
        try:
            targets = {t.rstrip(".").lower() for t in resolve(wanted.name)}
        except Exception as exc:  # transient: keep the domain as it is
            pulumi.log.warn(f"domains.{plan.domain}: could not look up {wanted.name} ({exc}); treated as delegated")
            return plan.domain, True
        return plan.domain, wanted.value.lower() in targets

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return {domain for domain, ok in pool.map(check, external) if ok}


def _cname_targets(name: str) -> list[str]:
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "CNAME", lifetime=5.0, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    return [str(r.target) for r in answer] if answer.rrset is not None else []
