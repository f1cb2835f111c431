"""A stack's ``mta-sts:*`` settings → :class:`StackConfig`: every domain, and the stack-wide keys.

``mtasts plan`` and ``pulumi up`` both call :func:`parse_stack_settings`; the CLI reads the stack file itself
(:func:`load_stack_file`), the Pulumi program gets the same mapping from ``pulumi.Config``. Every problem is
collected and reported at once, one line each, located as ``domains.<domain>.<field>`` or ``mta-sts:<key>``;
nothing is silently ignored or repaired. Types, bounds and choices come from
:class:`~mtasts.config.schema.StackSettings`; the rules between keys stay here as small named functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec.inspect as mi

from ..errors import ConfigError, Problem
from ..names import HostnameError, normalize_hostname
from ..quotas import QUOTAS
from ..records import normalize_rua_uri
from .alerts import alarm_problems, check_alerts
from .domains import DomainConfig, parse_domain
from .fields import INVALID, check_struct, check_value, default, fields, type_name
from .promotion import check_promotion
from .reader import stack_settings_from_file
from .schema import NAMESPACE, REPORTS_PATH, ReportsSettings, StackSettings
from .templates import TemplateStore

__all__ = ["STACK_KEYS", "StackConfig", "load_stack_file", "mailbox_problems", "parse_stack_settings"]

#: Stack-level ``mta-sts:*`` keys besides ``domains``, in the schema's order.
STACK_KEYS = tuple(name for name in fields(StackSettings) if name != "domains")
_LIMITS = ("rate_limit", "burst_limit", "reserved_concurrency", "max_body_kib", "query_scan_limit_mib")


@dataclass(frozen=True)
class StackConfig:
    """A whole stack's validated settings."""

    domains: tuple[DomainConfig, ...]
    """Policy domains, sorted by A-label name."""
    settings: Mapping[str, object]
    """Other ``mta-sts:*`` settings with defaults applied (see :class:`~mtasts.config.schema.StackSettings`)."""
    source: str = ""
    """Where the settings came from, for messages."""


def _host(value: object, path: str, problems: list[Problem]) -> Any:
    """A host or zone name (``hostingZone``, ``reports.endpoint``), as a lower-case A-label."""
    try:
        return normalize_hostname(value)
    except HostnameError as exc:
        problems.append(Problem(path, str(exc)))
        return None


def _reports(value: object, path: str, problems: list[Problem]) -> Any:
    """``mta-sts:reports`` checked against :class:`ReportsSettings`, with the endpoint's URI and its zone."""
    if not isinstance(value, dict):
        check_value(fields(StackSettings)["reports"].type, value, path, problems)
        return None
    values = check_struct(ReportsSettings, value, lambda name: f"{path}.{name}", problems)
    if "endpoint" not in values:
        return None
    endpoint = _host(values["endpoint"], f"{path}.endpoint", problems)
    zone = _host(values.get("zone", endpoint and endpoint.partition(".")[2]), f"{path}.zone", problems)
    if endpoint is None or zone is None or ("zone" in value and "zone" not in values):
        return None
    if not endpoint.endswith("." + zone):
        problems.append(Problem(f"{path}.zone", f"{zone!r} is not a parent of {endpoint!r}"))
    mail_uri = None
    if "mailbox" in values:
        try:
            mail_uri = normalize_rua_uri(f"mailto:{values['mailbox']}")
        except ValueError as exc:
            problems.append(Problem(f"{path}.mailbox", str(exc)))
            return None
        problems.extend(_mailbox_in_zone(mail_uri.rpartition("@")[2], zone, f"{path}.mailbox"))
    return {
        "endpoint": endpoint,
        "zone": zone,
        "retention_days": values.get("retention_days", default(ReportsSettings, "retention_days")),
        "uri": f"https://{endpoint}{REPORTS_PATH}",
        "mail_uri": mail_uri,
        **{name: values.get(name, default(ReportsSettings, name)) for name in (*_LIMITS, "query_results_days")},
        "replace_active_rule_set": values.get("replace_active_rule_set", False),
        "query": values.get("query", "none"),
    }


def _mailbox_in_zone(mail_domain: str, zone: str, path: str) -> list[Problem]:
    """The report mailbox's domain is under the endpoint's zone, and not its apex.

    The kit publishes an MX record for it (RFC 5321 §5), which at the apex would take over the zone's mail.
    """
    if mail_domain != zone and not mail_domain.endswith("." + zone):
        return [Problem(path, f"its domain {mail_domain!r} is not in the zone {zone!r}")]
    if mail_domain == zone:
        return [
            Problem(
                path,
                f"its domain {mail_domain!r} is the zone apex; use a dedicated subdomain such as "
                f"'tls-reports@tlsrpt-mail.{zone}' (the kit publishes an MX record there)",
            )
        ]
    return []


def mailbox_problems(reports: Mapping[str, object], domains: set[str], zones: set[str]) -> list[Problem]:
    """The report mailbox must be on a dedicated subdomain: no policy domain, no zone apex (it gets an MX record)."""
    mail_uri = reports.get("mail_uri")
    if not isinstance(mail_uri, str):
        return []
    mail_domain = mail_uri.rpartition("@")[2]
    what = "one of mta-sts:domains" if mail_domain in domains else "the apex of a domain's zone"
    if mail_domain in domains or mail_domain in zones:
        return [
            Problem(
                f"{NAMESPACE}:reports.mailbox",
                f"its domain {mail_domain!r} is {what}; the kit publishes an MX record for the mailbox's domain, "
                "so use a dedicated subdomain that receives no other mail",
            )
        ]
    return []


def _quotas(value: object, path: str, problems: list[Problem]) -> Any:
    """``quotas: {<name>: <whole number>}``: AWS quotas raised for this account (names: ``mtasts.quotas``)."""
    kind = fields(StackSettings)["quotas"].type
    if not isinstance(value, dict):
        check_value(kind, value, path, problems)
        return {}
    mapping = kind.type if isinstance(kind, mi.Metadata) else kind
    number = mapping.value_type if isinstance(mapping, mi.DictType) else kind
    checked: dict[str, int] = {}
    for name, count in value.items():
        if name not in QUOTAS:
            problems.append(Problem(f"{path}.{name}", f"unknown quota (known: {', '.join(QUOTAS)})"))
        elif (count := check_value(number, count, f"{path}.{name}", problems)) is not INVALID:
            checked[str(name)] = count
    return checked


#: Stack keys checked by more than their declared type: name → check (the rest: :func:`check_value` only).
_CHECKS: dict[str, Callable[[object, str, list[Problem]], object]] = {
    "hostingZone": _host,
    "reports": _reports,
    "promotion": check_promotion,  # the rules of `mtasts status`/`promote` (docs/fleet.md), cross-key rules
    "alerts": check_alerts,  # certificate expiry thresholds, alarms (docs/alerts.md)
    "quotas": _quotas,
}


def _stack_key(name: str, value: object, problems: list[Problem]) -> object:
    path = f"{NAMESPACE}:{name}"
    if name in _CHECKS:
        if name == "hostingZone" and check_value(fields(StackSettings)[name].type, value, path, problems) is INVALID:
            return None
        return _CHECKS[name](value, path, problems)
    return check_value(fields(StackSettings)[name].type, value, path, problems)


def _unknown_settings(settings: Mapping[str, object]) -> list[Problem]:
    names = ("domains", *STACK_KEYS)
    allowed = ", ".join(f"{NAMESPACE}:{k}" for k in names)
    found = []
    for name in settings:
        if name not in names:
            close = [k for k in names if k.lower() == str(name).lower()]
            hint = f"did you mean {NAMESPACE}:{close[0]}? " if close else ""
            found.append(Problem(f"{NAMESPACE}:{name}", f"unknown setting ({hint}allowed: {allowed})"))
    return found


def _domains(raw: object, present: bool, templates: TemplateStore, problems: list[Problem]) -> list[DomainConfig]:
    if raw is None:
        what = "is empty" if present else "is missing"
        problems.append(Problem(f"{NAMESPACE}:domains", f"{what}; it maps each mail domain to its settings"))
        return []
    if not isinstance(raw, dict):
        problems.append(Problem(f"{NAMESPACE}:domains", f"expected a mapping of domain names, got {type_name(raw)}"))
        return []
    domains: list[DomainConfig] = []
    seen: dict[str, str] = {}
    for key, value in raw.items():
        parsed = parse_domain(key, value, templates, problems)
        if parsed is None:
            continue
        if parsed.domain in seen:
            problems.append(
                Problem(f"domains.{key}", f"is the same domain as {seen[parsed.domain]!r} ({parsed.domain})")
            )
            continue
        seen[parsed.domain] = str(key)
        domains.append(parsed)
    return domains


def _external_needs_hosting_zone(settings: Mapping[str, object], domains: list[DomainConfig]) -> list[Problem]:
    """A ``dns: external`` domain's records live in ``mta-sts:hostingZone`` (docs/gitops.md), so the stack needs one.

    One typo, one error: a misspelt hostingZone is reported as an unknown setting, not again on every domain.
    """
    if "hostingZone" in settings or any(str(name).lower() == "hostingzone" for name in settings):
        return []
    return [
        Problem(f"domains.{d.key}.dns", f"external DNS needs {NAMESPACE}:hostingZone, a zone the kit controls")
        for d in domains
        if d.dns == "external"
    ]


def parse_stack_settings(
    settings: Mapping[str, object], templates: TemplateStore | None = None, source: str = ""
) -> StackConfig:
    """Validate a stack's ``mta-sts:*`` settings (namespace stripped).

    ``settings["domains"]`` maps each domain to its settings. Raises
    :class:`ConfigError` with every problem found.
    """
    templates = templates or TemplateStore()
    problems = _unknown_settings(settings)
    resolved: dict[str, object] = {}
    for name in STACK_KEYS:
        value = _stack_key(name, settings[name], problems) if name in settings else default(StackSettings, name)
        resolved[name] = None if value is INVALID else value
    raw = settings.get("domains")
    domains = _domains(raw, "domains" in settings, templates, problems)
    problems.extend(_external_needs_hosting_zone(settings, domains))
    problems.extend(alarm_problems(resolved.get("alerts"), resolved.get("reports")))
    reports = resolved.get("reports")
    if isinstance(reports, dict):
        zones = {d.zone for d in domains if isinstance(d.zone, str)}
        problems.extend(mailbox_problems(reports, {d.domain for d in domains}, zones))
    if isinstance(raw, dict) and not raw and not problems:
        problems.append(
            Problem(
                f"{NAMESPACE}:domains",
                "maps no domain; list at least one (to withdraw the last ones, retire them first: RFC 8461 §8.3)",
            )
        )
    if problems:
        raise ConfigError(problems)
    stack_hosting = str(resolved.get("hosting") or "dedicated")
    domains = [d if d.hosting else replace(d, hosting=stack_hosting) for d in domains]
    if reports:
        # The stack's report endpoint is added to every rua (mtasts.plan), so "no rua" advice does not apply.
        domains = [replace(d, warnings=tuple(w for w in d.warnings if not w.path.endswith(".rua"))) for d in domains]
    domains.sort(key=lambda d: d.domain)
    return StackConfig(tuple(domains), resolved, source)


def load_stack_file(path: Path, templates: TemplateStore | None = None) -> StackConfig:
    """Read and validate a ``Pulumi.<stack>.yaml`` file.

    Templates come from ``policy_templates/`` beside the stack file when that
    folder exists, else from the kit's own.
    """
    if templates is None:
        local = path.parent / "policy_templates"
        templates = TemplateStore(local if local.is_dir() else None)
    return parse_stack_settings(stack_settings_from_file(path), templates, str(path))
