"""``mta-sts:alerts``: when a certificate's expiry warns and needs action, and where alarms go, declared once.

:class:`AlertSettings` is both the declaration (each key's type, bounds, default and description, read by
:mod:`mtasts.config.fields` for the checks and by :mod:`mtasts.config.reference` for the docs) and the validated
value ``mtasts check``, ``mtasts status`` and the program read (through :mod:`mtasts.alerts.settings`). What a
schema cannot state stays here as named functions: the address and URL formats, the order of the two thresholds,
and that alarms need the report endpoint. Every key is optional (docs/alerts.md, README's config reference).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from ..errors import ConfigError, Problem, brief
from .fields import check_struct

__all__ = [
    "DEFAULTS",
    "MAX_BASELINE_DOMAINS",
    "MAX_DAYS",
    "MAX_SUBSCRIPTIONS",
    "AlertSettings",
    "alarm_problems",
    "check_alerts",
    "check_thresholds",
]

#: Certificates are issued for at most 398 days by public CAs (CA/Browser Forum Baseline Requirements §6.3.2);
#: a threshold beyond that would warn about every certificate all the time.
MAX_DAYS = 398
#: Anomaly detection models: 500 per Region and account (CloudWatch service quotas); 50 are left to other uses.
MAX_BASELINE_DOMAINS = 450
#: Subscriptions per protocol: a few people or endpoints, not a mailing list (use a list address for that).
MAX_SUBSCRIPTIONS = 20
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}", re.ASCII)
_DAYS = {"unit": "days", "range": True}
_TARGETS = {"expected": "expected a list of strings", "too_many": "{count} entries; at most {max}"}


class AlertSettings(Struct, frozen=True, forbid_unknown_fields=True):
    """The validated ``mta-sts:alerts`` setting."""

    certificate_warn_days: Annotated[
        int, Meta(ge=0, le=MAX_DAYS, description="days left at which a certificate is a warning", extra=_DAYS)
    ] = 30
    """A certificate (MX via STARTTLS, or the policy host's) with at most this many days left is a warning."""
    certificate_action_days: Annotated[
        int, Meta(ge=0, le=MAX_DAYS, description="days left at which a certificate needs action", extra=_DAYS)
    ] = 7
    """At most this many days left: ``action-needed`` in ``mtasts status``, a failed check in ``mtasts check``."""
    per_domain_metrics: Annotated[bool, Meta(description="the rua function also writes metrics per domain")] = False
    """The rua function also writes metrics per policy domain (``PolicyDomain``; cost in docs/reports.md)."""
    email: Annotated[
        tuple[str, ...],
        Meta(max_length=MAX_SUBSCRIPTIONS, description="addresses subscribed to the alarm topic", extra=_TARGETS),
    ] = ()
    """Addresses subscribed (SNS email) to the stack's alarm topic; each must confirm once."""
    https: Annotated[
        tuple[str, ...],
        Meta(
            max_length=MAX_SUBSCRIPTIONS, description="https:// endpoints subscribed to the alarm topic", extra=_TARGETS
        ),
    ] = ()
    """HTTPS endpoints subscribed (SNS https) to the alarm topic."""
    fleet_failure_rate: Annotated[
        float,
        Meta(
            gt=0,
            lt=1,
            description="the fleet alarm fires when this fraction of an hour's sessions failed",
            extra={"expected": "expected a fraction between 0 and 1"},
        ),
    ] = 0.01
    """The fleet alarm fires when this fraction of an hour's reported sessions failed."""
    min_sessions: Annotated[
        int, Meta(ge=1, le=10**9, description="fewer sessions in an hour do not count", extra={"range": True})
    ] = 100
    """Hours with fewer reported sessions do not count for the fleet failure rate (too few to judge)."""
    baseline_domains: Annotated[
        int,
        Meta(
            ge=0,
            le=MAX_BASELINE_DOMAINS,
            description="enforce domains with their own anomaly-detection alarms, in name order",
            extra={"range": True},
        ),
    ] = 100
    """Enforce domains that get their own alarms (failures above their anomaly-detection baseline, reports
    stopped), in name order, at most; needs ``per_domain_metrics``. CloudWatch keeps 500 anomaly detection
    models per Region and account, so at most :data:`MAX_BASELINE_DOMAINS`."""

    @property
    def alarms(self) -> bool:
        """Whether ``pulumi up`` declares the alarms (a destination is set)."""
        return bool(self.email or self.https)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (defaults applied)."""
        return {**msgspec.structs.asdict(self), "email": list(self.email), "https": list(self.https)}


DEFAULTS = AlertSettings()


def _https_url(value: str) -> bool:
    parts = urllib.parse.urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and len(value) <= 2048


def _target_problems(settings: Mapping[str, Any], path: str) -> list[Problem]:
    """Each ``email`` is an address and each ``https`` an ``https://`` URL (SNS subscription protocols)."""
    found = []
    for key, valid, what in (
        ("email", lambda v: _EMAIL.fullmatch(v) is not None, "an email address"),
        ("https", _https_url, "an https:// URL"),
    ):
        found += [Problem(f"{path}.{key}", f"{brief(i)} is not {what}") for i in settings.get(key, ()) if not valid(i)]
    return found


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


def check_alerts(value: object, path: str, problems: list[Problem]) -> AlertSettings | None:
    """``mta-sts:alerts`` checked against :class:`AlertSettings`: the settings, or ``None`` with problems appended."""
    if value is None:
        return DEFAULTS
    if not isinstance(value, Mapping):
        problems.append(Problem(path, f"expected a mapping, got {type(value).__name__}"))
        return None
    start = len(problems)
    checked = check_struct(AlertSettings, value, lambda key: f"{path}.{key}", problems)
    problems.extend(_target_problems(checked, path))
    if len(problems) > start:
        return None
    for key in ("email", "https"):
        if key in checked:
            checked[key] = tuple(dict.fromkeys(checked[key]))
    settings = AlertSettings(**checked)
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
