"""The ``mta-sts:alerts`` stack setting: when a certificate's expiry warns and when it needs action.

Validated with the rest of the stack (``mtasts plan`` and ``pulumi up`` refuse a bad key) through
:func:`check_alerts`, which :mod:`mtasts.config` calls; read by ``mtasts check`` and ``mtasts status`` through
:func:`alerts_from_settings`. Every key is optional (docs/alerts.md, README's config reference).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError, Problem, brief

__all__ = [
    "DEFAULTS",
    "MAX_BASELINE_DOMAINS",
    "AlertSettings",
    "alarm_problems",
    "alerts_from_settings",
    "check_alerts",
    "check_thresholds",
]

#: Certificates are issued for at most 398 days by public CAs (CA/Browser Forum Baseline Requirements §6.3.2);
#: a threshold beyond that would warn about every certificate all the time.
MAX_DAYS = 398
#: Anomaly detection models: 500 per Region and account (CloudWatch service quotas); 50 are left to other uses.
MAX_BASELINE_DOMAINS = 450
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}", re.ASCII)


@dataclass(frozen=True)
class AlertSettings:
    """The validated ``mta-sts:alerts`` setting."""

    certificate_warn_days: int = 30
    """A certificate (MX via STARTTLS, or the policy host's) with at most this many days left is a warning."""
    certificate_action_days: int = 7
    """At most this many days left: ``action-needed`` in ``mtasts status``, a failed check in ``mtasts check``."""
    per_domain_metrics: bool = False
    """The rua function also writes metrics per policy domain (``PolicyDomain``; cost in docs/reports.md)."""
    email: tuple[str, ...] = ()
    """Addresses subscribed (SNS email) to the stack's alarm topic; each must confirm once."""
    https: tuple[str, ...] = ()
    """HTTPS endpoints subscribed (SNS https) to the alarm topic."""
    fleet_failure_rate: float = 0.01
    """The fleet alarm fires when this fraction of an hour's reported sessions failed."""
    min_sessions: int = 100
    """Hours with fewer reported sessions do not count for the fleet failure rate (too few to judge)."""
    baseline_domains: int = 100
    """Enforce domains that get their own alarms (failures above their anomaly-detection baseline, reports
    stopped), in name order, at most; needs ``per_domain_metrics``. CloudWatch keeps 500 anomaly detection
    models per Region and account, so at most :data:`MAX_BASELINE_DOMAINS`."""

    @property
    def alarms(self) -> bool:
        """Whether ``pulumi up`` declares the alarms (a destination is set)."""
        return bool(self.email or self.https)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (defaults applied)."""
        out = asdict(self)
        out["email"], out["https"] = list(self.email), list(self.https)
        return out


DEFAULTS = AlertSettings()
_KEYS = tuple(DEFAULTS.to_dict())


#: Subscriptions per protocol: a few people or endpoints, not a mailing list (use a list address for that).
MAX_SUBSCRIPTIONS = 20


def _https_url(value: str) -> bool:
    parts = urllib.parse.urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and len(value) <= 2048


def alarm_problems(alerts: object, reports: object) -> list[Problem]:
    """Alarms read the report endpoint's metrics: destinations without ``mta-sts:reports`` are a problem."""
    if isinstance(alerts, AlertSettings) and alerts.alarms and not isinstance(reports, Mapping):
        return [
            Problem(
                "mta-sts:alerts",
                "email/https subscribe to CloudWatch alarms on the report endpoint's metrics; set mta-sts:reports",
            )
        ]
    return []


def check_thresholds(warn: int, action: int, where: str) -> None:
    """:class:`ConfigError` unless ``0 <= action <= warn <= MAX_DAYS`` (``where`` names the settings)."""
    if not 0 <= action <= warn <= MAX_DAYS:
        raise ConfigError(Problem(where, f"need 0 <= action days ({action}) <= warning days ({warn}) <= {MAX_DAYS}"))


def _parse(value: object, path: str, problems: list[Problem]) -> AlertSettings | None:
    if value is None:
        return DEFAULTS
    if not isinstance(value, Mapping):
        problems.append(Problem(path, f"expected a mapping, got {type(value).__name__}"))
        return None
    start = len(problems)
    out: dict[str, Any] = {}
    for key in value:
        if key not in _KEYS:
            problems.append(Problem(f"{path}.{key}", f"unknown key (allowed: {', '.join(_KEYS)})"))
    for key in ("certificate_warn_days", "certificate_action_days"):
        if key not in value:
            continue
        number = value[key]
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_DAYS:
            problems.append(
                Problem(f"{path}.{key}", f"expected a whole number of days from 0 to {MAX_DAYS}, got {brief(number)}")
            )
        else:
            out[key] = number
    for key, valid, what in (
        ("email", lambda v: _EMAIL.fullmatch(v) is not None, "an email address"),
        ("https", _https_url, "an https:// URL"),
    ):
        if key not in value:
            continue
        items = value[key]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            problems.append(Problem(f"{path}.{key}", f"expected a list of strings, got {brief(items)}"))
            continue
        bad = [i for i in items if not valid(i)]
        for item in bad:
            problems.append(Problem(f"{path}.{key}", f"{brief(item)} is not {what}"))
        if len(items) > MAX_SUBSCRIPTIONS:
            problems.append(Problem(f"{path}.{key}", f"{len(items)} entries; at most {MAX_SUBSCRIPTIONS}"))
        out[key] = tuple(dict.fromkeys(items))
    if "fleet_failure_rate" in value:
        rate = value["fleet_failure_rate"]
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < 1:
            problems.append(
                Problem(f"{path}.fleet_failure_rate", f"expected a fraction between 0 and 1, got {brief(rate)}")
            )
        else:
            out["fleet_failure_rate"] = float(rate)
    for key, low, high in (("min_sessions", 1, 10**9), ("baseline_domains", 0, MAX_BASELINE_DOMAINS)):
        if key not in value:
            continue
        number = value[key]
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            problems.append(
                Problem(f"{path}.{key}", f"expected a whole number from {low} to {high}, got {brief(number)}")
            )
        else:
            out[key] = number
    if "per_domain_metrics" in value:
        flag = value["per_domain_metrics"]
        if not isinstance(flag, bool):
            problems.append(Problem(f"{path}.per_domain_metrics", f"expected true or false, got {brief(flag)}"))
        out["per_domain_metrics"] = flag
    if len(problems) > start:
        return None
    settings = AlertSettings(**out)
    if settings.certificate_action_days > settings.certificate_warn_days:
        problems.append(
            Problem(
                f"{path}.certificate_action_days",
                f"{settings.certificate_action_days} is more than certificate_warn_days "
                f"({settings.certificate_warn_days}): the warning would never come first",
            )
        )
        return None
    return settings


def check_alerts(value: object, path: str, problems: list[Problem]) -> object:
    """Validate ``mta-sts:alerts`` for :mod:`mtasts.config`: the :class:`AlertSettings`, problems appended."""
    return _parse(value, path, problems)


def alerts_from_settings(settings: Mapping[str, object]) -> AlertSettings:
    """The alert settings of a planned stack (``StackConfig.settings``); defaults when the stack sets none."""
    value = settings.get("alerts")
    if isinstance(value, AlertSettings):
        return value
    problems: list[Problem] = []
    parsed = _parse(value, "mta-sts:alerts", problems)
    if parsed is None:
        raise ConfigError(problems)
    return parsed
