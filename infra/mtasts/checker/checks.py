"""The checks of `mtasts check`, each a pass / warn / fail with a one-line reason.

Parsing is the policy core's (:mod:`mtasts.policy`, :mod:`mtasts.records`,
:func:`mtasts.names.mx_matches`): the checker reads DNS and HTTPS exactly as
the kit renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import dns.exception

from ..errors import RecordError
from ..names import mx_matches
from ..plan import DomainPlan
from ..policy import Policy, parse_policy, policy_id
from ..records import (
    STS_PREFIX,
    TLSRPT_PREFIX,
    parse_sts_record,
    parse_tlsrpt_record,
    select_record,
    sts_record_name,
    tlsrpt_record_name,
)
from .net import FetchError, Network

__all__ = ["Check", "DomainReport", "check_domain", "check_domains", "uncovered_mx"]

Status = Literal["pass", "warn", "fail"]
#: Domains checked at once; each check waits on the network, not the CPU.
MAX_PARALLEL = 200


@dataclass(frozen=True)
class Check:
    """One check's result."""

    name: str
    status: Status
    detail: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class DomainReport:
    """Every check of one domain."""

    domain: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No check failed."""
        return all(c.status != "fail" for c in self.checks)

    def add(self, name: str, status: Status, detail: str) -> None:
        """Record one result."""
        self.checks.append(Check(name, status, detail))

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of one domain."""
        return {"domain": self.domain, "ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


def uncovered_mx(hosts: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """MX hosts that no pattern covers (RFC 8461 §4.1)."""
    return [h for h in hosts if not any(mx_matches(h, p) for p in patterns)]


def _dns_failure(report: DomainReport, name: str, exc: Exception) -> None:
    report.add(name, "fail", f"DNS lookup failed: {exc.__class__.__name__}: {exc}")


def _sts_record(report: DomainReport, net: Network, domain: str) -> str | None:
    name = sts_record_name(domain)
    try:
        values, canonical = net.txt(name)
    except dns.exception.DNSException as exc:
        _dns_failure(report, "sts-record", exc)
        return None
    via = f" (via CNAME to {canonical})" if canonical.lower() != name else ""
    if not values:
        report.add("sts-record", "fail", f"no TXT record at {name}: senders see no MTA-STS policy")
        return None
    try:
        record = parse_sts_record(select_record(values, STS_PREFIX))
    except RecordError as exc:
        report.add("sts-record", "fail", f"{name}: {'; '.join(exc.lines())} (RFC 8461 §3.1)")
        return None
    if record.warnings:
        report.add("sts-record", "warn", f"id={record.id}{via}; " + "; ".join(str(w) for w in record.warnings))
    else:
        report.add("sts-record", "pass", f"id={record.id}{via}")
    return record.id


def _policy(report: DomainReport, net: Network, domain: str) -> tuple[bytes | None, Policy | None]:
    try:
        response = net.fetch_policy(domain)
    except FetchError as exc:
        report.add("policy-fetch", "fail", str(exc))
        return None, None
    if 300 <= response.status < 400:
        report.add(
            "policy-fetch",
            "fail",
            f"HTTP {response.status} redirect to {response.location or '?'}: senders do not follow it (RFC 8461 §3.3)",
        )
        return None, None
    if response.status != 200:
        report.add("policy-fetch", "fail", f"HTTP {response.status}, not 200 (RFC 8461 §3.3)")
        return None, None
    media_type = response.content_type.split(";")[0].strip().lower()
    if media_type != "text/plain":
        report.add("policy-fetch", "fail", f"media type {media_type or 'missing'}, not text/plain (RFC 8461 §3.2)")
        return None, None
    report.add("policy-fetch", "pass", f"200 text/plain, {len(response.body)} bytes over {response.tls_version}")
    parsed = parse_policy(response.body)
    if not parsed.ok:
        report.add("policy-syntax", "fail", "; ".join(str(e) for e in parsed.errors))
        return response.body, None
    policy = parsed.unwrap()
    summary = f"mode {policy.mode}, max_age {policy.max_age}, {len(policy.mx)} mx"
    if parsed.warnings:
        report.add("policy-syntax", "warn", summary + "; " + "; ".join(str(w) for w in parsed.warnings))
    else:
        report.add("policy-syntax", "pass", summary)
    return response.body, policy


def _drift(report: DomainReport, expected: DomainPlan, live_id: str | None, body: bytes | None) -> None:
    new_id, new_body = expected.policy_id, expected.policy_bytes
    id_ok, body_ok = live_id == new_id, body == new_body
    if id_ok and body_ok:
        report.add("drift", "pass", f"id and policy are what the stack config says ({new_id})")
    elif id_ok and body is not None:
        served = policy_id(body)
        report.add(
            "drift",
            "fail",
            f"stale cache: the TXT record announces the new id {new_id} but the policy host serves an older body "
            f"(its hash id is {served}); senders that fetch now cache the old policy under the new id for max_age "
            "(RFC 8461 §8.1). Invalidate the CDN cache",
        )
    elif body_ok:
        report.add(
            "drift",
            "fail",
            f"the new policy is served but the TXT record still announces id {live_id or 'none'}, not {new_id}: "
            "senders keep the old policy; finish the rollout with `pulumi up`",
        )
    else:
        report.add(
            "drift", "fail", f"live id {live_id or 'none'} and policy differ from the stack config (id {new_id})"
        )


def _mx(
    report: DomainReport, net: Network, domain: str, policy: Policy | None, expected: DomainPlan | None
) -> list[str]:
    try:
        hosts = net.mx(domain)
    except dns.exception.DNSException as exc:
        _dns_failure(report, "mx-coverage", exc)
        return []
    reference = policy or (expected.policy if expected else None)
    if reference is None:
        report.add("mx-coverage", "warn", "no policy to compare the MX hosts with")
        return hosts
    if not hosts:
        report.add("mx-coverage", "warn", f"{domain} has no MX records")
        return hosts
    missing = uncovered_mx(hosts, reference.mx)
    if not missing:
        report.add("mx-coverage", "pass", f"{len(hosts)} MX host(s) covered: {', '.join(hosts)}")
    elif reference.mode == "enforce":
        report.add(
            "mx-coverage",
            "fail",
            f"MX {', '.join(missing)} not covered by the policy's mx patterns: senders refuse it in enforce mode "
            "(RFC 8461 §4.1)",
        )
    elif reference.mode == "testing":
        report.add("mx-coverage", "warn", f"MX {', '.join(missing)} not covered; enforce mode would refuse it")
    else:
        report.add("mx-coverage", "pass", f"mode none: MX {', '.join(missing)} not covered, nothing is enforced")
    return hosts


def _starttls(report: DomainReport, net: Network, hosts: Sequence[str]) -> None:
    for host in hosts:
        try:
            version = net.starttls(host)
        except FetchError as exc:
            report.add(f"starttls:{host}", "fail", str(exc))
        else:
            report.add(f"starttls:{host}", "pass", f"STARTTLS {version}, certificate valid for {host}")


def _tlsrpt(report: DomainReport, net: Network, domain: str, expected: DomainPlan | None) -> None:
    name = tlsrpt_record_name(domain)
    try:
        values, _ = net.txt(name)
    except dns.exception.DNSException as exc:
        _dns_failure(report, "tlsrpt-record", exc)
        return
    wanted = expected.tlsrpt_record if expected else None
    if not values:
        status: Status = "fail" if wanted else "warn"
        report.add("tlsrpt-record", status, f"no TXT record at {name}: senders send no TLS reports (RFC 8460 §3)")
        return
    try:
        value = select_record(values, TLSRPT_PREFIX)
        record = parse_tlsrpt_record(value)
    except RecordError as exc:
        report.add("tlsrpt-record", "fail", f"{name}: {'; '.join(exc.lines())} (RFC 8460 §3)")
        return
    if wanted is not None and value != wanted.value:
        report.add("tlsrpt-record", "fail", f"{name} is {value!r}, the stack config says {wanted.value!r}")
    elif record.warnings:
        report.add("tlsrpt-record", "warn", "; ".join(str(w) for w in record.warnings))
    else:
        report.add("tlsrpt-record", "pass", f"rua={','.join(record.rua)}")


def _delegation(report: DomainReport, net: Network, expected: DomainPlan) -> None:
    for record in expected.delegation:
        try:
            target = net.cname(record.name)
        except dns.exception.DNSException as exc:
            _dns_failure(report, f"delegation:{record.name}", exc)
            continue
        if target == record.value:
            report.add(f"delegation:{record.name}", "pass", f"CNAME to {target}")
        else:
            found = f"CNAME to {target}" if target else "no CNAME"
            report.add(f"delegation:{record.name}", "fail", f"{found}; the owner must publish CNAME {record.value}")


def check_domain(domain: str, net: Network, expected: DomainPlan | None = None, starttls: bool = False) -> DomainReport:
    """Run every check for one domain, as a sender would see it."""
    report = DomainReport(domain)
    if expected is not None and expected.external:
        _delegation(report, net, expected)
    live_id = _sts_record(report, net, domain)
    body, policy = _policy(report, net, domain)
    if expected is not None:
        _drift(report, expected, live_id, body)
    hosts = _mx(report, net, domain, policy, expected)
    if starttls:
        _starttls(report, net, hosts)
    _tlsrpt(report, net, domain, expected)
    return report


def check_domains(
    domains: Sequence[str],
    net: Network,
    expected: dict[str, DomainPlan] | None = None,
    starttls: bool = False,
    parallel: int = MAX_PARALLEL,
) -> list[DomainReport]:
    """Check many domains concurrently (bounded), in the order given."""
    expected = expected or {}
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(domains)))) as pool:
        futures = [pool.submit(check_domain, d, net, expected.get(d), starttls) for d in domains]
        return [f.result() for f in futures]
