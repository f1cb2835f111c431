"""The ``mta-sts:alerts`` stack setting, as ``mtasts check``, ``mtasts status`` and the program read it.

The setting is declared and validated with the rest of the stack in :mod:`mtasts.config.alerts` (``mtasts plan``
and ``pulumi up`` refuse a bad key); :func:`alerts_from_settings` gives a planned stack's value.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..config.alerts import (
    DEFAULTS,
    MAX_BASELINE_DOMAINS,
    MAX_DAYS,
    MAX_SUBSCRIPTIONS,
    AlertSettings,
    alarm_problems,
    check_alerts,
    check_thresholds,
)
from ..errors import ConfigError, Problem

__all__ = [
    "DEFAULTS",
    "MAX_BASELINE_DOMAINS",
    "MAX_DAYS",
    "MAX_SUBSCRIPTIONS",
    "AlertSettings",
    "alarm_problems",
    "alerts_from_settings",
    "check_alerts",
    "check_thresholds",
]


def alerts_from_settings(settings: Mapping[str, object]) -> AlertSettings:
    """The alert settings of a planned stack (``StackConfig.settings``); defaults when the stack sets none."""
    value = settings.get("alerts")
    if isinstance(value, AlertSettings):
        return value
    problems: list[Problem] = []
    parsed = check_alerts(value, "mta-sts:alerts", problems)
    if parsed is None:
        raise ConfigError(problems)
    return parsed
