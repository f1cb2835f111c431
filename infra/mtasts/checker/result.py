"""What a check of one domain found: its rows (:class:`Check`) and the domain's verdict (:class:`DomainReport`).

The row statuses, and the two rules on MX hosts the checks, the preflight and the fleet share: which hosts a
sender delivers to (:func:`live_mx`) and which of them no policy pattern covers (:func:`uncovered_mx`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..names import mx_matches
from .net import MxAnswer

__all__ = ["Check", "DomainReport", "Status", "live_mx", "uncovered_mx"]

#: ``unknown``: the check has no result because a lookup failed (the resolver did not answer); a failed lookup
#: proves nothing about the live records, so it is neither a pass nor a failure.
Status = Literal["pass", "warn", "fail", "pending", "unknown"]


@dataclass(frozen=True)
class Check:
    """One check's result."""

    name: str
    status: Status
    detail: str
    """One line for people; programs read :attr:`data`."""
    data: dict[str, Any] = field(default_factory=dict, compare=False)
    """What the check found, JSON-ready, for programs (the keys per check are listed in docs/check.md)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "status": self.status, "detail": self.detail, "data": self.data}


@dataclass
class DomainReport:
    """Every check of one domain."""

    domain: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No check failed (a pending domain is ok: it waits for its owner, nothing is broken)."""
        return all(c.status != "fail" for c in self.checks)

    @property
    def status(self) -> Literal["pass", "pending", "unknown", "fail"]:
        """``fail``, ``unknown``, ``pending`` or ``pass``, the first that applies to one of the checks.

        ``unknown``: a check could not be read (a lookup failed); ``pending``: one waits for the owner's DNS.
        """
        if not self.ok:
            return "fail"
        if any(c.status == "unknown" for c in self.checks):
            return "unknown"
        return "pending" if any(c.status == "pending" for c in self.checks) else "pass"

    def add(self, name: str, status: Status, detail: str, data: dict[str, Any] | None = None) -> None:
        """Record one result, with what it found for programs (``data``)."""
        self.checks.append(Check(name, status, detail, data or {}))

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of one domain."""
        return {
            "domain": self.domain,
            "ok": self.ok,
            "status": self.status,
            "checks": [c.to_dict() for c in self.checks],
        }


def uncovered_mx(hosts: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """MX hosts that no pattern covers (RFC 8461 §4.1)."""
    return [h for h in hosts if not any(mx_matches(h, p) for p in patterns)]


def live_mx(domain: str, answer: MxAnswer) -> tuple[list[str], str]:
    """The hosts a sender delivers to, and how they were found.

    Without MX records a sender delivers to the domain itself (the implicit MX, RFC 5321 §5.1), and an
    ``enforce`` policy is then checked against that name like any MX host (RFC 8461 §4.1, §5). A null MX
    (RFC 7505) and NXDOMAIN give no host.
    """
    if answer.implicit:
        return [domain], f"no MX records, so senders use the implicit MX {domain} (RFC 5321 §5.1)"
    if answer.null_mx:
        return [], "null MX (RFC 7505): the domain accepts no mail"
    if answer.nxdomain:
        return [], f"{domain} does not exist (NXDOMAIN)"
    return list(answer.hosts), f"{len(answer.hosts)} MX host(s)"
