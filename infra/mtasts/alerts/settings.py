"""The ``mta-sts:alerts`` stack setting: when a certificate's expiry warns and when it needs action.

Validated with the rest of the stack (``mtasts plan`` and ``pulumi up`` refuse a bad key) through
:func:`check_alerts`, which :mod:`mtasts.config` calls; read by ``mtasts check`` and ``mtasts status`` through
:func:`alerts_from_settings`. Every key is optional (docs/alerts.md, README's config reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError, Problem, brief

__all__ = ["DEFAULTS", "AlertSettings", "alerts_from_settings", "check_alerts", "check_thresholds"]

#: Certificates are issued for at most 398 days by public CAs (CA/Browser Forum Baseline Requirements §6.3.2);
#: a threshold beyond that would warn about every certificate all the time.
MAX_DAYS = 398


@dataclass(frozen=True)
class AlertSettings:
    """The validated ``mta-sts:alerts`` setting."""

    certificate_warn_days: int = 30
    """A certificate (MX via STARTTLS, or the policy host's) with at most this many days left is a warning."""
    certificate_action_days: int = 7
    """At most this many days left: ``action-needed`` in ``mtasts status``, a failed check in ``mtasts check``."""
    per_domain_metrics: bool = False
    """The rua function also writes metrics per policy domain (``PolicyDomain``; cost in docs/reports.md)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (defaults applied)."""
        return asdict(self)


DEFAULTS = AlertSettings()
_KEYS = tuple(DEFAULTS.to_dict())


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
