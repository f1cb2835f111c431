"""Stack config: ``Pulumi.<stack>.yaml`` key ``mta-sts:domains`` → validated domain settings.

This is the first step of the flow config → policy → records → resources.
``mtasts plan`` and ``pulumi up`` both call :func:`parse_stack_settings`;
the CLI reads the stack file itself (:func:`load_stack_file`), the Pulumi
program gets the same mapping from ``pulumi.Config``.

Every problem is collected and reported at once, one line each, located as
``domains.<domain>.<field>``; nothing is silently ignored or repaired.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, Problem
from .names import HostnameError, normalize_hostname, normalize_mx_pattern
from .policy import MAX_AGE_LIMIT, MODES, Mode
from .records import normalize_rua_uri

__all__ = [
    "DEFAULT_MAX_AGE",
    "DomainConfig",
    "StackConfig",
    "Template",
    "TemplateStore",
    "default_templates_dir",
    "load_stack_file",
    "load_yaml_file",
    "parse_stack_settings",
]

#: The Pulumi project name, hence the config namespace (``mta-sts:domains``).
NAMESPACE = "mta-sts"
DEFAULT_TEMPLATE = "testing"
DEFAULT_TTL = 300
MAX_TTL = 2_147_483_647  # RFC 2181 §8
#: max_age used when neither the domain nor a template of the same mode sets one.
DEFAULT_MAX_AGE: dict[str, int] = {"testing": 86_400, "enforce": 604_800, "none": 86_400}
#: Below this, an enforce policy expires between refreshes too easily (RFC 8461 §3.2: "weeks or greater").
ENFORCE_MAX_AGE_ADVICE = 604_800


# --- YAML ---------------------------------------------------------------------------------


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader that refuses duplicate mapping keys.

    Plain YAML loaders keep the last of two equal keys, which would silently
    drop a domain's settings.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} appears twice (lines {seen[key]} and {line})", key_node.start_mark
                    )
                seen[key] = line
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a mapping key must be a plain value, not {type(key).__name__}", key_node.start_mark
                ) from None
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def load_yaml_file(path: Path) -> Any:
    """Read one YAML document, refusing duplicate keys; :class:`ConfigError` on any failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(Problem(str(path), "no such file")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(Problem(str(path), f"cannot be read: {exc}")) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506  # _StrictLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(Problem(where, f"invalid YAML: {exc.problem or exc.context}")) from None
    except yaml.YAMLError as exc:
        raise ConfigError(Problem(str(path), f"invalid YAML: {exc}")) from None


# --- templates ------------------------------------------------------------------------------

_TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_TEMPLATE_KEYS = ("description", "references", "mode", "max_age", "mx")


@dataclass(frozen=True)
class Template:
    """A named policy preset from ``policy_templates/<name>.yaml``."""

    name: str
    """File name without ``.yaml``; what a domain's ``template`` key refers to."""
    description: str
    """One line for people."""
    mode: Mode | None
    """The preset's mode, or ``None`` to leave it to the domain (default testing)."""
    max_age: int | None
    """max_age for the preset's own mode."""
    mx: tuple[str, ...] | None
    """MX patterns, canonical; ``None`` when the preset has none."""


def default_templates_dir() -> Path:
    """The kit's own ``policy_templates/`` (the repository root beside ``infra/``)."""
    return Path(__file__).resolve().parents[2] / "policy_templates"


class TemplateStore:
    """Loads templates from one folder on first use and keeps them."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_templates_dir()
        self._cache: dict[str, Template] = {}

    def names(self) -> list[str]:
        """Every template name in the folder, sorted."""
        return sorted(p.stem for p in self.directory.glob("*.yaml"))

    def get(self, name: str) -> Template:
        """The template ``name``; :class:`ConfigError` if it is unknown or invalid."""
        if name in self._cache:
            return self._cache[name]
        path = self.directory / f"{name}.yaml"
        if not _TEMPLATE_NAME.match(name) or not path.is_file():
            available = ", ".join(self.names()) or f"none in {self.directory}"
            raise ConfigError(Problem("", f"unknown template {name!r} (available: {available})"))
        template = _parse_template(name, load_yaml_file(path), str(path))
        self._cache[name] = template
        return template


def _parse_template(name: str, data: Any, source: str) -> Template:
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ConfigError(Problem(source, "a template must be a mapping of settings"))
    for key in data:
        if key not in _TEMPLATE_KEYS:
            problems.append(Problem(f"{source}: {key}", f"unknown key (allowed: {', '.join(_TEMPLATE_KEYS)})"))
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(Problem(f"{source}: description", "must be a string"))
    mode = _check_mode(data.get("mode"), f"{source}: mode", problems) if "mode" in data else None
    max_age = _check_max_age(data.get("max_age"), f"{source}: max_age", problems) if "max_age" in data else None
    mx = _check_mx(data.get("mx"), f"{source}: mx", problems, []) if "mx" in data else None
    if problems:
        raise ConfigError(problems)
    return Template(name, description if isinstance(description, str) else "", mode, max_age, mx)


# --- field checks ---------------------------------------------------------------------------


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _check_int(value: object, path: str, low: int, high: int, problems: list[Problem], rfc: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(Problem(path, f"expected a whole number of seconds, got {_type_name(value)} {value!r}"))
        return None
    if value < low:
        problems.append(Problem(path, f"{value} is below {low}{rfc}"))
        return None
    if value > high:
        problems.append(Problem(path, f"{value} is above {high}{rfc}"))
        return None
    return value


def _check_mode(value: object, path: str, problems: list[Problem]) -> Mode | None:
    if value not in MODES:
        problems.append(Problem(path, f"{value!r} is not one of {', '.join(MODES)} (RFC 8461 §3.2)"))
        return None
    return value  # checked against MODES


def _check_max_age(value: object, path: str, problems: list[Problem]) -> int | None:
    return _check_int(value, path, 0, MAX_AGE_LIMIT, problems, " (RFC 8461 §3.2)")


def _check_str_list(value: object, path: str, what: str, problems: list[Problem]) -> list[str] | None:
    if not isinstance(value, list):
        problems.append(Problem(path, f"expected a list of {what}, got {_type_name(value)} {value!r}"))
        return None
    good = True
    for index, item in enumerate(value):
        if not isinstance(item, str):
            problems.append(Problem(f"{path}[{index}]", f"expected a string, got {_type_name(item)} {item!r}"))
            good = False
    return value if good else None


def _check_mx(value: object, path: str, problems: list[Problem], warnings: list[Problem]) -> tuple[str, ...] | None:
    items = _check_str_list(value, path, "MX patterns", problems)
    if items is None:
        return None
    patterns: list[str] = []
    for index, item in enumerate(items):
        try:
            pattern = normalize_mx_pattern(item)
        except HostnameError as exc:
            problems.append(Problem(f"{path}[{index}]", str(exc)))
            continue
        if pattern in patterns:
            warnings.append(Problem(f"{path}[{index}]", f"{item!r} is listed twice; it is published once"))
            continue
        patterns.append(pattern)
    return tuple(patterns)


def _check_rua(value: object, path: str, problems: list[Problem]) -> tuple[str, ...] | None:
    items = _check_str_list(value, path, "TLS-RPT URIs (mailto: or https:)", problems)
    if items is None:
        return None
    uris: list[str] = []
    for index, item in enumerate(items):
        try:
            uris.append(normalize_rua_uri(item))
        except ValueError as exc:
            problems.append(Problem(f"{path}[{index}]", str(exc)))
    return tuple(dict.fromkeys(uris))


# --- domains ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainConfig:
    """One policy domain's settings after validation and template resolution."""

    domain: str
    """Policy domain in A-label form, lower case, no trailing dot."""
    key: str
    """The domain as written in the stack file, for messages."""
    template: str
    """Name of the template the settings started from."""
    mode: Mode
    """``enforce``, ``testing`` or ``none``."""
    max_age: int
    """Policy lifetime in seconds."""
    mx: tuple[str, ...]
    """MX patterns, canonical, in the order given."""
    rua: tuple[str, ...]
    """TLS-RPT URIs as published; empty means no ``_smtp._tls`` record."""
    zone: str
    """Route53 hosted zone holding the domain's records."""
    ttl: int
    """TTL of the TXT records."""
    warnings: tuple[Problem, ...] = field(default=())
    """Advice that does not stop a deployment."""
    retire: bool = False
    """Being withdrawn: published as mode none with a short max_age (RFC 8461 §8.3)."""
    dns: str = "route53"
    """``route53``: records in the domain's own hosted zone; ``external``: in the stack's hosting zone, behind
    CNAMEs the domain owner publishes once."""
    allow_overwrite: bool = False
    """Let ``pulumi up`` take over existing Route53 records of the same name instead of failing."""
    adopt_zone_id: str | None = None
    """Route53 zone id of the records listed in :attr:`adopt`, for ``pulumi import``."""
    adopt: tuple[str, ...] = ()
    """Existing records to import into the stack on the next ``pulumi up``: ``_mta-sts``, ``_smtp._tls``,
    ``mta-sts`` (its A and AAAA records)."""
    hosting: str = "dedicated"
    """How CloudFront serves the policy: ``dedicated`` (a distribution of its own) or ``shared`` (a tenant of the
    stack's multi-tenant distribution); the domain's ``hosting`` key, else ``shared`` for ``dns: external``, else
    ``mta-sts:hosting``."""


#: Keys a domain may set; anything else is a typo and an error.
DOMAIN_KEYS = (
    "template",
    "mode",
    "max_age",
    "mx",
    "rua",
    "zone",
    "ttl",
    "retire",
    "dns",
    "allow_overwrite",
    "adopt",
    "hosting",
)
#: ``mta-sts:hosting`` and a domain's ``hosting``: see docs/deploy.md, "Choosing a hosting mode".
HOSTING_MODES = ("dedicated", "shared")
DEFAULT_HOSTING = "dedicated"
ADOPTABLE = ("_mta-sts", "_smtp._tls", "mta-sts")
_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}\Z")
DNS_MODES = ("route53", "external")


def _parse_domain(
    key: object, settings: object, templates: TemplateStore, problems: list[Problem]
) -> DomainConfig | None:
    base = f"domains.{key}"
    start = len(problems)
    try:
        domain = normalize_hostname(key)
    except HostnameError as exc:
        problems.append(Problem(base, f"not a valid domain name: {exc}"))
        return None
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        problems.append(Problem(base, f"expected a mapping of settings, got {_type_name(settings)} {settings!r}"))
        return None
    for name in settings:
        if name not in DOMAIN_KEYS:
            problems.append(Problem(f"{base}.{name}", f"unknown key (allowed: {', '.join(DOMAIN_KEYS)})"))
    warnings: list[Problem] = []

    template_name = settings.get("template", DEFAULT_TEMPLATE)
    template: Template | None = None
    if not isinstance(template_name, str):
        problems.append(Problem(f"{base}.template", f"expected a template name, got {_type_name(template_name)}"))
    else:
        try:
            template = templates.get(template_name)
        except ConfigError as exc:
            problems.extend(Problem(p.path or f"{base}.template", p.message) for p in exc.problems)

    mode: Mode | None = (template.mode if template else None) or "testing"
    if "mode" in settings:
        mode = _check_mode(settings["mode"], f"{base}.mode", problems)
    retire = settings.get("retire", False)
    if not isinstance(retire, bool):
        problems.append(Problem(f"{base}.retire", f"expected true or false, got {_type_name(retire)} {retire!r}"))
        retire = False
    if retire:
        if mode not in (None, "none") and "mode" in settings:
            problems.append(Problem(f"{base}.mode", f"{mode!r} contradicts retire: true, which publishes mode none"))
        mode = "none"
    dns = settings.get("dns", "route53")
    if dns not in DNS_MODES:
        problems.append(Problem(f"{base}.dns", f"{dns!r} is not one of {', '.join(DNS_MODES)}"))
    allow_overwrite = settings.get("allow_overwrite", False)
    if not isinstance(allow_overwrite, bool):
        problems.append(
            Problem(f"{base}.allow_overwrite", f"expected true or false, got {_type_name(allow_overwrite)}")
        )
        allow_overwrite = False
    adopt_zone_id, adopt = _check_adopt(settings.get("adopt"), f"{base}.adopt", problems)
    hosting = settings.get("hosting")
    if hosting is not None and hosting not in HOSTING_MODES:
        problems.append(Problem(f"{base}.hosting", f"{hosting!r} is not one of {', '.join(HOSTING_MODES)}"))
    elif hosting == "dedicated" and dns == "external":
        # A dedicated distribution needs an ACM certificate validated by DNS, whose record name ACM only
        # chooses once the certificate is requested: the owner cannot publish it before the first `pulumi up`,
        # which would wait on it. Only a domain deployed that way by an earlier version of the kit (its
        # validation CNAME published) can stay; the program refuses a new one (mtasts.resources.program).
        warnings.append(
            Problem(
                f"{base}.hosting",
                "dedicated hosting of a dns: external domain only works for a domain already deployed so (its "
                "ACM validation CNAME published); a new one is refused by pulumi up: use shared, which needs no "
                "validation record",
            )
        )
    max_age: int | None = None
    if "max_age" in settings:
        max_age = _check_max_age(settings["max_age"], f"{base}.max_age", problems)
    elif mode is not None:
        # A template's max_age belongs to the template's mode: `template:
        # testing` with `mode: enforce` gets enforce's default, not one day.
        same_mode = template is not None and template.max_age is not None and template.mode in (None, mode)
        max_age = template.max_age if same_mode and template else DEFAULT_MAX_AGE[mode]
    mx: tuple[str, ...] | None = template.mx if template and template.mx is not None else ()
    if "mx" in settings:
        mx = _check_mx(settings["mx"], f"{base}.mx", problems, warnings)
    rua: tuple[str, ...] | None = ()
    if "rua" in settings:
        rua = _check_rua(settings["rua"], f"{base}.rua", problems)
    zone: str | None = domain
    if "zone" in settings:
        try:
            zone = normalize_hostname(settings["zone"])
        except HostnameError as exc:
            problems.append(Problem(f"{base}.zone", str(exc)))
            zone = None
        if zone is not None and domain != zone and not domain.endswith("." + zone):
            problems.append(
                Problem(
                    f"{base}.zone",
                    f"{zone!r} cannot hold records for {domain!r}: it is not the domain or a parent of it",
                )
            )
    ttl: int | None = DEFAULT_TTL
    if "ttl" in settings:
        ttl = _check_int(settings["ttl"], f"{base}.ttl", 0, MAX_TTL, problems, " (RFC 2181 §8)")

    if mode in ("enforce", "testing") and mx == ():
        problems.append(Problem(f"{base}.mx", f"mode {mode} needs at least one MX pattern (RFC 8461 §3.2)"))
    if (
        len(problems) > start
        or mode is None
        or max_age is None
        or mx is None
        or rua is None
        or zone is None
        or ttl is None
    ):
        return None
    if mode == "enforce" and max_age < ENFORCE_MAX_AGE_ADVICE:
        warnings.append(
            Problem(f"{base}.max_age", f"{max_age} s is short for enforce mode; RFC 8461 §3.2 expects weeks or more")
        )
    if mode == "testing" and not rua:
        warnings.append(
            Problem(f"{base}.rua", "testing mode without TLS-RPT: senders have nowhere to report failures (RFC 8460)")
        )
    return DomainConfig(
        domain=domain,
        key=str(key),
        template=template.name if template else DEFAULT_TEMPLATE,
        mode=mode,
        max_age=max_age,
        mx=mx,
        rua=rua,
        zone=zone,
        ttl=ttl,
        warnings=tuple(warnings),
        retire=retire,
        dns=str(dns),
        allow_overwrite=allow_overwrite,
        adopt_zone_id=adopt_zone_id,
        adopt=adopt,
        hosting=str(hosting) if hosting is not None else ("shared" if dns == "external" else ""),
    )


def _check_adopt(value: object, path: str, problems: list[Problem]) -> tuple[str | None, tuple[str, ...]]:
    """``adopt: {zone_id: Z..., records: [_mta-sts, _smtp._tls, mta-sts]}``."""
    if value is None:
        return None, ()
    if not isinstance(value, dict) or set(value) != {"zone_id", "records"}:
        problems.append(Problem(path, "expected a mapping with exactly the keys zone_id and records"))
        return None, ()
    zone_id = value["zone_id"]
    if not isinstance(zone_id, str) or not _ZONE_ID.match(zone_id):
        problems.append(Problem(f"{path}.zone_id", f"{zone_id!r} is not a Route53 hosted zone id (Z...)"))
        zone_id = None
    records = _check_str_list(value["records"], f"{path}.records", "record names", problems) or []
    for index, name in enumerate(records):
        if name not in ADOPTABLE:
            problems.append(Problem(f"{path}.records[{index}]", f"{name!r} is not one of {', '.join(ADOPTABLE)}"))
    return zone_id, tuple(dict.fromkeys(r for r in records if r in ADOPTABLE))


# --- stack --------------------------------------------------------------------------------------


def _check_bool(value: object, path: str, problems: list[Problem]) -> object:
    if not isinstance(value, bool):
        problems.append(Problem(path, f"expected true or false, got {_type_name(value)} {value!r}"))
    return value


PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")


def _check_price_class(value: object, path: str, problems: list[Problem]) -> object:
    if value not in PRICE_CLASSES:
        problems.append(Problem(path, f"{value!r} is not one of {', '.join(PRICE_CLASSES)}"))
    return value


def _check_zone(value: object, path: str, problems: list[Problem]) -> object:
    try:
        return normalize_hostname(value)
    except HostnameError as exc:
        problems.append(Problem(path, str(exc)))
        return None


#: Path of the report endpoint on its host.
REPORTS_PATH = "/v1/report"


def _check_reports(value: object, path: str, problems: list[Problem]) -> object:
    """``reports: {endpoint: HOST, zone: ZONE, retention_days: N, mailbox: ADDRESS}``: the stack's rua endpoints."""
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(Problem(path, "expected a mapping with endpoint, zone and retention_days"))
        return None
    unknown = set(value) - {"endpoint", "zone", "retention_days", "mailbox"}
    if unknown:
        name = sorted(unknown)[0]
        problems.append(Problem(f"{path}.{name}", "unknown key (allowed: endpoint, zone, retention_days, mailbox)"))
    try:
        endpoint = normalize_hostname(value.get("endpoint"))
    except HostnameError as exc:
        problems.append(Problem(f"{path}.endpoint", str(exc)))
        return None
    try:
        zone = normalize_hostname(value.get("zone", endpoint.partition(".")[2]))
    except HostnameError as exc:
        problems.append(Problem(f"{path}.zone", str(exc)))
        return None
    if not endpoint.endswith("." + zone):
        problems.append(Problem(f"{path}.zone", f"{zone!r} is not a parent of {endpoint!r}"))
    days = _check_int(value.get("retention_days", 400), f"{path}.retention_days", 1, 36500, problems, "")
    mailbox = value.get("mailbox")
    mail_uri = None
    if mailbox is not None:
        try:
            mail_uri = normalize_rua_uri(f"mailto:{mailbox}")
        except ValueError as exc:
            problems.append(Problem(f"{path}.mailbox", str(exc)))
            return None
        mail_domain = mail_uri.rpartition("@")[2]
        if mail_domain != zone and not mail_domain.endswith("." + zone):
            problems.append(Problem(f"{path}.mailbox", f"its domain {mail_domain!r} is not in the zone {zone!r}"))
    return {
        "endpoint": endpoint,
        "zone": zone,
        "retention_days": days,
        "uri": f"https://{endpoint}{REPORTS_PATH}",
        "mail_uri": mail_uri,
    }


def _check_hosting(value: object, path: str, problems: list[Problem]) -> object:
    if value not in HOSTING_MODES:
        problems.append(Problem(path, f"{value!r} is not one of {', '.join(HOSTING_MODES)}"))
    return value


def _check_quotas(value: object, path: str, problems: list[Problem]) -> object:
    """``quotas: {<name>: <whole number>}``: AWS quotas raised for this account (names: mtasts.resources.quotas)."""
    from .resources.quotas import QUOTAS  # no Pulumi import: quotas.py is plain Python

    if not isinstance(value, dict):
        problems.append(Problem(path, f"expected a mapping of quota names to numbers, got {_type_name(value)}"))
        return {}
    checked: dict[str, int] = {}
    for name, number in value.items():
        if name not in QUOTAS:
            problems.append(Problem(f"{path}.{name}", f"unknown quota (known: {', '.join(QUOTAS)})"))
        elif isinstance(number, bool) or not isinstance(number, int) or number < 1:
            problems.append(Problem(f"{path}.{name}", f"expected a whole number of at least 1, got {number!r}"))
        else:
            checked[str(name)] = number
    return checked


#: Stack-level ``mta-sts:*`` keys besides ``domains``: name → (check, default).
STACK_KEYS: dict[str, tuple[Callable[[object, str, list[Problem]], object], object]] = {
    "preflight": (_check_bool, True),
    "hostingZone": (_check_zone, None),
    "priceClass": (_check_price_class, "PriceClass_100"),
    "reports": (_check_reports, None),
    "hosting": (_check_hosting, DEFAULT_HOSTING),
    "quotas": (_check_quotas, {}),
}


@dataclass(frozen=True)
class StackConfig:
    """A whole stack's validated settings."""

    domains: tuple[DomainConfig, ...]
    """Policy domains, sorted by A-label name."""
    settings: Mapping[str, object]
    """Other ``mta-sts:*`` settings with defaults applied (see :data:`STACK_KEYS`)."""
    source: str = ""
    """Where the settings came from, for messages."""


def parse_stack_settings(
    settings: Mapping[str, object], templates: TemplateStore | None = None, source: str = ""
) -> StackConfig:
    """Validate a stack's ``mta-sts:*`` settings (namespace stripped).

    ``settings["domains"]`` maps each domain to its settings. Raises
    :class:`ConfigError` with every problem found.
    """
    templates = templates or TemplateStore()
    problems: list[Problem] = []
    for name in settings:
        if name != "domains" and name not in STACK_KEYS:
            allowed = ", ".join(f"{NAMESPACE}:{k}" for k in ("domains", *STACK_KEYS))
            problems.append(Problem(f"{NAMESPACE}:{name}", f"unknown setting (allowed: {allowed})"))
    resolved: dict[str, object] = {}
    for name, (check, default) in STACK_KEYS.items():
        resolved[name] = check(settings[name], f"{NAMESPACE}:{name}", problems) if name in settings else default
    raw = settings.get("domains")
    domains: list[DomainConfig] = []
    if raw is None:
        problems.append(Problem(f"{NAMESPACE}:domains", "is missing; it maps each mail domain to its settings"))
    elif not isinstance(raw, dict):
        problems.append(Problem(f"{NAMESPACE}:domains", f"expected a mapping of domain names, got {_type_name(raw)}"))
    else:
        seen: dict[str, str] = {}
        for key, value in raw.items():
            parsed = _parse_domain(key, value, templates, problems)
            if parsed is None:
                continue
            if parsed.domain in seen:
                problems.append(
                    Problem(f"domains.{key}", f"is the same domain as {seen[parsed.domain]!r} ({parsed.domain})")
                )
                continue
            seen[parsed.domain] = str(key)
            domains.append(parsed)
    if resolved.get("hostingZone") is None and "hostingZone" not in settings:
        for d in domains:
            if d.dns == "external":
                problems.append(
                    Problem(
                        f"domains.{d.key}.dns", f"external DNS needs {NAMESPACE}:hostingZone, a zone the kit controls"
                    )
                )
    if problems:
        raise ConfigError(problems)
    stack_hosting = str(resolved.get("hosting") or DEFAULT_HOSTING)
    domains = [d if d.hosting else replace(d, hosting=stack_hosting) for d in domains]
    if resolved.get("reports"):
        # The stack's report endpoint is added to every rua (mtasts.plan), so "no rua" advice does not apply.
        domains = [replace(d, warnings=tuple(w for w in d.warnings if not w.path.endswith(".rua"))) for d in domains]
    domains.sort(key=lambda d: d.domain)
    return StackConfig(tuple(domains), resolved, source)


def stack_settings_from_file(path: Path) -> dict[str, object]:
    """The ``mta-sts:*`` settings of a Pulumi stack file, namespace stripped."""
    data = load_yaml_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(Problem(str(path), "a Pulumi stack file must be a mapping with a 'config' key"))
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(Problem(f"{path}: config", "must be a mapping"))
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix) :]: v for k, v in config.items() if isinstance(k, str) and k.startswith(prefix)}


def load_stack_file(path: Path, templates: TemplateStore | None = None) -> StackConfig:
    """Read and validate a ``Pulumi.<stack>.yaml`` file.

    Templates come from ``policy_templates/`` beside the stack file when that
    folder exists, else from the kit's own.
    """
    if templates is None:
        local = path.parent / "policy_templates"
        templates = TemplateStore(local if local.is_dir() else None)
    return parse_stack_settings(stack_settings_from_file(path), templates, str(path))
