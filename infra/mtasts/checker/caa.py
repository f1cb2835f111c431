"""Whether CAA (RFC 8659) lets Amazon issue the certificate for ``mta-sts.<domain>``.

Both hosting modes present a certificate Amazon issues: ACM's (dedicated, and tenants that carry it) or a
CloudFront-managed one (shared), which ACM issues too. A CAA record set that names other CAs only makes issuance
fail, and in shared mode a failed managed certificate leaves a tenant the stack does not know about (Terraform
AWS provider #48353; mtasts.resources.orphans). So ``mtasts plan --preflight`` checks it first.

The rules read (RFC 8659):

- §3: the *relevant* record set for a name is its own CAA RRset if not empty, else its parent's, climbing
  label by label, the root excluded. Aliases are followed by ordinary resolution (a CNAME at a name yields the
  target's CAA RRset as that name's). NXDOMAIN counts as empty.
- §4.2 and §4.3 (``issue``): with no ``issue`` property in the relevant set, any CA may issue (for a
  non-wildcard name ``issuewild`` does not apply); with some, only the issuer domain names they list may, and
  ``issue ";"`` lists none.
- §4.1: a *critical* property (flag 128) with a tag the CA does not know forbids issuance.

Amazon's issuer domain names: ``amazon.com``, ``amazontrust.com``, ``awstrust.com``, ``amazonaws.com`` (ACM user
guide, "Certification Authority Authorization (CAA) problems"). A lookup that failed proves nothing: it is
reported as unknown, never as a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dns.rdtypes.ANY.CAA
import dns.resolver

from ..errors import Problem
from ..plan import DomainPlan
from .net import NXDOMAIN, Network, ResolverError

__all__ = ["AMAZON_ISSUERS", "CaaVerdict", "amazon_may_issue", "caa_names", "caa_problems", "check_caa"]

#: The issuer domain names whose presence in an ``issue`` property lets Amazon issue.
AMAZON_ISSUERS = frozenset({"amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"})
#: Property tags a CA knows (RFC 8659 §4 and the IANA "Certification Authority Restriction Properties").
KNOWN_TAGS = frozenset({"issue", "issuewild", "iodef", "contactemail", "contactphone", "issuevmc", "issuemail"})
#: Domains checked at once.
PARALLEL = 32


@dataclass(frozen=True)
class CaaVerdict:
    """What CAA says about Amazon issuing for one host name."""

    host: str
    allowed: bool | None
    """``True`` or ``False``; ``None`` when a lookup failed (unknown)."""
    where: str | None
    """The name whose RRset was relevant (``None``: no CAA anywhere up the tree, or unknown)."""
    reason: str


def caa_names(host: str) -> list[str]:
    """``host`` and each parent, the root excluded, in climbing order (RFC 8659 §3)."""
    labels = host.rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def amazon_may_issue(records: Iterable[tuple[int, str, str]]) -> tuple[bool, str]:
    """Whether a relevant RRset of (flags, tag, value) lets Amazon issue for a non-wildcard name, and why."""
    records = list(records)
    for flags, tag, _ in records:
        if flags & 128 and tag.lower() not in KNOWN_TAGS:
            return False, f"critical property {tag!r} that no CA is required to know forbids issuance (RFC 8659 §4.1)"
    issuers = [value.split(";", 1)[0].strip().lower() for _, tag, value in records if tag.lower() == "issue"]
    if not issuers:
        return True, "no issue property: any CA may issue (RFC 8659 §4.2)"
    named = sorted({i for i in issuers if i})
    if AMAZON_ISSUERS & set(named):
        return True, f"issue names {', '.join(sorted(AMAZON_ISSUERS & set(named)))}"
    allowed = ", ".join(named) if named else "no CA at all"
    return False, f"issue allows {allowed}, not Amazon (RFC 8659 §4.2)"


def _records(answer: object) -> list[tuple[int, str, str]]:
    if not isinstance(answer, dns.resolver.Answer) or answer.rrset is None:
        return []
    out = []
    for rdata in answer.rrset:
        if isinstance(rdata, dns.rdtypes.ANY.CAA.CAA):
            tag = rdata.tag.decode("ascii", "replace")
            value = rdata.value.decode("utf-8", "replace")
            out.append((int(rdata.flags), tag, value))
    return out


def check_caa(host: str, net: Network) -> CaaVerdict:
    """The relevant CAA RRset of ``host`` (all names of the climb asked at once) and its verdict."""
    names = caa_names(host)
    answers: Sequence[object] = net.resolve_many([(n, "CAA") for n in names], net.deadline())
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, ResolverError):
            return CaaVerdict(host, None, None, f"CAA lookup of {name} failed ({answer}); unknown")
        records = [] if answer is NXDOMAIN else _records(answer)
        if records:
            allowed, reason = amazon_may_issue(records)
            return CaaVerdict(host, allowed, name, reason)
    return CaaVerdict(host, True, None, "no CAA record up the tree: any CA may issue (RFC 8659 §3)")


def caa_problems(domains: Sequence[DomainPlan], net: Network) -> tuple[list[Problem], list[CaaVerdict]]:
    """A problem per domain whose CAA records keep Amazon from issuing its certificate; every verdict."""

    def one(d: DomainPlan) -> CaaVerdict:
        return check_caa(d.mta_sts_host, net)

    if not domains:
        return [], []
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(domains))) as pool:
        verdicts = list(pool.map(one, domains))
    problems = [
        Problem(
            f"domains.{d.config.key}",
            f"CAA records at {v.where} keep Amazon from issuing the certificate for {v.host}: {v.reason}; add "
            f'`{v.where}. CAA 0 issue "amazon.com"` (or remove the restriction) before deploying',
        )
        for d, v in zip(domains, verdicts, strict=True)
        if v.allowed is False
    ]
    return problems, verdicts
