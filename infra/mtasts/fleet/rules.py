"""Promotion rules: when a domain may move from ``testing`` to ``enforce`` and up the ``max_age`` ladder.

The rules are data, in the stack file under ``mta-sts:promotion``; every key is optional and defaults to
:data:`DEFAULTS`. They are validated with the rest of the stack (``mtasts plan`` and ``pulumi up`` refuse a bad
key), by :func:`check_promotion`, which :mod:`mtasts.config` calls.

Which TLS-RPT failures count (RFC 8460 §4.3 result types, RFC 8461 §5)
-----------------------------------------------------------------------
In ``enforce`` mode "sending MTAs MUST NOT deliver the message to hosts that fail MX matching or certificate
validation or that do not support STARTTLS" (RFC 8461 §5). A session that failed in testing mode for one of those
reasons is a message that would not have been delivered under enforce. RFC 8460 §4.3 names them:

* ``starttls-not-supported`` (§4.3.1): the MX does not offer STARTTLS;
* ``certificate-host-mismatch``, ``certificate-expired``, ``certificate-not-trusted`` (§4.3.1): certificate
  validation fails (the MX matching of RFC 8461 §4.1 is reported as a host mismatch);
* ``validation-failure`` (§4.3.3): a validation failure of another kind; counted, as enforce refuses it too.

Not counted: the policy failures ``sts-policy-fetch-error``, ``sts-policy-invalid``, ``sts-webpki-invalid``
(§4.3.2) mean the sender had no valid policy, so it applies none and delivers as before (RFC 8461 §5.1): they do
not turn into failed mail, but they do mean enforce would not protect those senders, so they are shown and a
rate above the limit holds promotion. The DANE types (``tlsa-invalid``, ``dnssec-invalid``, ``dane-required``)
belong to TLSA policies, not to MTA-STS.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, Problem
from ..policy import MAX_AGE_LIMIT

__all__ = [
    "DEFAULTS",
    "ENFORCE_FAILURES",
    "POLICY_FAILURES",
    "PromotionRules",
    "check_promotion",
    "rules_from_settings",
]

#: RFC 8460 §4.3 result types that enforce turns into failed deliveries (RFC 8461 §5); see the module docstring.
ENFORCE_FAILURES = frozenset(
    {
        "starttls-not-supported",
        "certificate-host-mismatch",
        "certificate-expired",
        "certificate-not-trusted",
        "validation-failure",
    }
)
#: RFC 8460 §4.3.2 policy failures: the sender had no usable policy, so enforce would not apply to it.
POLICY_FAILURES = frozenset({"sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"})

DAY = 86_400


@dataclass(frozen=True)
class PromotionRules:
    """The validated ``mta-sts:promotion`` setting."""

    window_days: int = 30
    """Days of TLS-RPT reports read, ending at ``--as-of`` (``--days`` overrides it)."""
    min_report_days: int = 14
    """To enforce: at least this many UTC days with reports in the window."""
    min_sessions: int = 100
    """To enforce: at least this many reported sessions (successful + failed) in the window."""
    max_failure_rate: float = 0.001
    """To enforce: at most this fraction of sessions failed for a reason enforce turns into failed mail
    (:data:`ENFORCE_FAILURES`); the same limit applies to policy failures (:data:`POLICY_FAILURES`)."""
    ladder: tuple[int, ...] = (DAY, 7 * DAY, 30 * DAY, MAX_AGE_LIMIT)
    """``max_age`` steps of an enforcing domain, ascending; the first is used when enforce is switched on
    (RFC 8461 §3.2: "weeks or greater" is the goal, the top step)."""
    clean_days: int = 7
    """Up one ladder step: at least this many days with reports and no enforce failure since the last failure."""
    require_starttls: bool = True
    """To enforce: every live MX answered STARTTLS with a certificate valid for its name (when checked live)."""

    def next_max_age(self, current: int) -> int | None:
        """The ladder step above ``current``, or ``None`` at (or above) the top."""
        for step in self.ladder:
            if step > current:
                return step
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the effective rules, defaults applied)."""
        return {
            "window_days": self.window_days,
            "min_report_days": self.min_report_days,
            "min_sessions": self.min_sessions,
            "max_failure_rate": self.max_failure_rate,
            "ladder": list(self.ladder),
            "clean_days": self.clean_days,
            "require_starttls": self.require_starttls,
        }


DEFAULTS = PromotionRules()
_KEYS = tuple(DEFAULTS.to_dict())


def _int(value: object, path: str, low: int, high: int, problems: list[Problem]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(Problem(path, f"expected a whole number, got {type(value).__name__} {value!r}"))
        return None
    if not low <= value <= high:
        problems.append(Problem(path, f"{value} is not between {low} and {high}"))
        return None
    return value


def _parse(value: object, path: str, problems: list[Problem]) -> PromotionRules | None:
    if value is None:
        return DEFAULTS
    if not isinstance(value, Mapping):
        problems.append(Problem(path, f"expected a mapping of rules, got {type(value).__name__}"))
        return None
    start = len(problems)
    out: dict[str, Any] = {}
    for key in value:
        if key not in _KEYS:
            problems.append(Problem(f"{path}.{key}", f"unknown key (allowed: {', '.join(_KEYS)})"))
    for key in ("window_days", "min_report_days", "clean_days"):
        if key in value:
            out[key] = _int(value[key], f"{path}.{key}", 1, 400, problems)
    if "min_sessions" in value:
        out["min_sessions"] = _int(value["min_sessions"], f"{path}.min_sessions", 0, 10**12, problems)
    if "max_failure_rate" in value:
        rate = value["max_failure_rate"]
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            problems.append(Problem(f"{path}.max_failure_rate", f"expected a fraction from 0 to 1, got {rate!r}"))
        else:
            out["max_failure_rate"] = float(rate)
    if "require_starttls" in value:
        flag = value["require_starttls"]
        if not isinstance(flag, bool):
            problems.append(Problem(f"{path}.require_starttls", f"expected true or false, got {flag!r}"))
        out["require_starttls"] = flag
    if "ladder" in value:
        ladder = value["ladder"]
        if not isinstance(ladder, list) or not ladder:
            problems.append(Problem(f"{path}.ladder", "expected a non-empty list of max_age seconds"))
        else:
            parsed = [_int(s, f"{path}.ladder[{i}]", 1, MAX_AGE_LIMIT, problems) for i, s in enumerate(ladder)]
            steps = [s for s in parsed if s is not None]
            if len(steps) == len(parsed) and any(b <= a for a, b in itertools.pairwise(steps)):
                problems.append(
                    Problem(f"{path}.ladder", f"steps must be strictly ascending, got {steps} (RFC 8461 §3.2 max_age)")
                )
            out["ladder"] = tuple(steps)
    days, window = out.get("min_report_days"), out.get("window_days", DEFAULTS.window_days)
    if len(problems) == start and days is not None and days > window:
        problems.append(
            Problem(f"{path}.min_report_days", f"{days} days cannot fit a window of {window} days (window_days)")
        )
    if len(problems) > start:
        return None
    return PromotionRules(**out)


def check_promotion(value: object, path: str, problems: list[Problem]) -> object:
    """Validate ``mta-sts:promotion`` for :mod:`mtasts.config`: the :class:`PromotionRules`, problems appended."""
    return _parse(value, path, problems)


def rules_from_settings(settings: Mapping[str, object]) -> PromotionRules:
    """The rules of a planned stack (``StackConfig.settings``); defaults when the stack sets none."""
    value = settings.get("promotion")
    if isinstance(value, PromotionRules):
        return value
    problems: list[Problem] = []
    rules = _parse(value, "mta-sts:promotion", problems)
    if rules is None:
        raise ConfigError(problems)
    return rules
