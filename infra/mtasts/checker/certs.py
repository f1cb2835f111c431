"""Days left on a certificate seen in a verified handshake, judged against the stack's alert thresholds.

An MX certificate that expires while a domain is in ``enforce`` is the most common way to lose mail under
MTA-STS: senders "MUST NOT deliver the message to hosts that fail [...] certificate validation" (RFC 8461 §5,
§4.2), and an expired certificate fails it. The policy host's certificate matters too: a sender cannot refresh
a policy over HTTPS that does not validate (RFC 8461 §3.3) and keeps its cached one only until ``max_age`` ends.
The dates come from the handshake the checker already makes (:class:`~.net.TlsSession`,
:attr:`~.net.PolicyResponse.certificate_not_after`); nothing connects twice.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

from ..alerts.settings import DEFAULTS, AlertSettings

__all__ = ["Expiry", "expiry"]

Level = Literal["ok", "warn", "action"]


@dataclass(frozen=True)
class Expiry:
    """One certificate's expiry, as of the moment it was checked."""

    host: str
    """The name the certificate was verified for (MX host, or ``mta-sts.<domain>``)."""
    not_after: dt.datetime
    days_left: int
    """Whole days left, rounded down (0 on its last day; negative once expired)."""
    level: Level
    """``action`` at or under ``certificate_action_days``, ``warn`` at or under ``certificate_warn_days``."""

    @property
    def sentence(self) -> str:
        """One line for people."""
        when = self.not_after.strftime("%Y-%m-%d %H:%M UTC")
        if self.days_left < 0:
            return f"certificate of {self.host} expired on {when}"
        return f"certificate of {self.host} expires in {self.days_left} day(s), on {when}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "host": self.host,
            "not_after": self.not_after.isoformat().replace("+00:00", "Z"),
            "days_left": self.days_left,
            "level": self.level,
        }


def expiry(host: str, not_after: dt.datetime, now: dt.datetime, thresholds: AlertSettings = DEFAULTS) -> Expiry:
    """Judge one certificate's ``not_after`` at ``now`` (both aware datetimes)."""
    days = math.floor((not_after - now).total_seconds() / 86_400)
    level: Level = "ok"
    if days <= thresholds.certificate_action_days:
        level = "action"
    elif days <= thresholds.certificate_warn_days:
        level = "warn"
    return Expiry(host, not_after, days, level)
