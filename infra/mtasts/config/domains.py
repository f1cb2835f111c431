"""One policy domain: its settings under ``mta-sts:domains`` → a :class:`DomainConfig`.

Types, bounds and choices come from :class:`~mtasts.config.schema.DomainSettings` (:mod:`mtasts.config.fields`);
what stays here is what a schema cannot state: the template's values as defaults, names in canonical form, and
the rules between keys, each a small function citing where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, Problem, brief
from ..names import HostnameError, normalize_hostname
from ..policy import Mode
from ..records import normalize_rua_uri
from .fields import check_struct, fields, type_name
from .schema import DEFAULT_MAX_AGE, ENFORCE_MAX_AGE_ADVICE, DomainSettings
from .templates import Template, TemplateStore, mx_patterns

__all__ = ["DEFAULT_TEMPLATE", "DOMAIN_KEYS", "DomainConfig", "parse_domain"]

#: Keys a domain may set; anything else is a typo and an error.
DOMAIN_KEYS = tuple(fields(DomainSettings))
DEFAULT_TEMPLATE = "testing"


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
    switch_hosting: bool = False
    """Allow ``pulumi up`` to move this live domain from the other hosting mode into :attr:`hosting` (opt-in; see
    docs/deploy.md, "Changing modes"); without it such a switch is refused."""


#: Keys a domain may set; anything else is a typo and an error.


def parse_domain(
    key: object, settings: object, templates: TemplateStore, problems: list[Problem]
) -> DomainConfig | None:
    """The domain ``key`` with its ``settings`` checked, or ``None`` with its problems appended."""
    base = f"domains.{key}" if isinstance(key, str) and len(key) <= 300 else f"domains.{brief(key, 60)}"
    start = len(problems)
    try:
        domain = normalize_hostname(key)
    except HostnameError as exc:
        problems.append(Problem(base, f"not a valid domain name: {exc}"))
        return None
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        problems.append(Problem(base, f"expected a mapping of settings, got {type_name(settings)} {brief(settings)}"))
        return None
    values = check_struct(DomainSettings, settings, lambda name: f"{base}.{name}", problems)
    warnings: list[Problem] = []
    template = _template(values, settings, templates, f"{base}.template", problems)
    mode: Mode | None = values.get("mode") if "mode" in settings else (template.mode if template else None) or "testing"
    retire: bool = values.get("retire", False)
    if retire:
        mode = _retired(mode, "mode" in settings, f"{base}.mode", problems)
    dns = values.get("dns", "route53")
    if values.get("switch_hosting"):
        warnings.append(
            Problem(
                f"{base}.switch_hosting",
                "if the domain is live on the other hosting mode, pulumi up moves it: its policy URL stops "
                "answering for a few minutes, its _mta-sts id stays (docs/deploy.md#changing-modes)",
            )
        )
    if dns == "external":
        problems.extend(_external_contradictions(settings, base))
    hosting = values.get("hosting")
    if hosting == "dedicated" and dns == "external":
        warnings.append(_dedicated_external(base))
    max_age: int | None = None
    if "max_age" in settings:
        max_age = values.get("max_age")
    elif mode is not None:
        # A template's max_age belongs to the template's mode: `template: testing` with `mode: enforce` gets
        # enforce's default, not one day.
        same_mode = template is not None and template.max_age is not None and template.mode in (None, mode)
        max_age = template.max_age if same_mode and template else DEFAULT_MAX_AGE[mode]
    mx: tuple[str, ...] | None = template.mx if template and template.mx is not None else ()
    if "mx" in settings:
        mx = mx_patterns(values["mx"], f"{base}.mx", problems, warnings) if "mx" in values else None
    rua: tuple[str, ...] | None = ()
    if "rua" in settings:
        rua = _rua_uris(values["rua"], f"{base}.rua", problems) if "rua" in values else None
    zone: str | None = domain
    if "zone" in settings:
        zone = _zone(domain, values.get("zone"), f"{base}.zone", problems)
    ttl: int = values.get("ttl", 300)
    problems.extend(_mx_required(mode, mx, base, problems[start:]))
    if len(problems) > start or mode is None or max_age is None or mx is None or rua is None or zone is None:
        return None
    if mode == "enforce" and max_age < ENFORCE_MAX_AGE_ADVICE:
        warnings.append(
            Problem(f"{base}.max_age", f"{max_age} s is short for enforce mode; RFC 8461 §3.2 expects weeks or more")
        )
    if mode == "testing" and not rua:
        warnings.append(
            Problem(f"{base}.rua", "testing mode without TLS-RPT: senders have nowhere to report failures (RFC 8460)")
        )
    adopt = values.get("adopt")
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
        allow_overwrite=values.get("allow_overwrite", False),
        adopt_zone_id=adopt["zone_id"] if adopt else None,
        adopt=tuple(dict.fromkeys(adopt["records"])) if adopt else (),
        hosting=str(hosting) if hosting is not None else ("shared" if dns == "external" else ""),
        switch_hosting=values.get("switch_hosting", False),
    )


def _template(
    values: dict[str, object],
    settings: dict[object, object],
    templates: TemplateStore,
    path: str,
    problems: list[Problem],
) -> Template | None:
    """The domain's template (``testing`` unless it names one); ``None`` when the name is wrong."""
    name = values.get("template", DEFAULT_TEMPLATE if "template" not in settings else None)
    if not isinstance(name, str):
        return None
    try:
        return templates.get(name)
    except ConfigError as exc:
        problems.extend(Problem(p.path or path, p.message) for p in exc.problems)
        return None


def _retired(mode: Mode | None, explicit: bool, path: str, problems: list[Problem]) -> Mode:
    """RFC 8461 §8.3: a domain being withdrawn publishes mode none; an explicit other mode contradicts it."""
    if mode not in (None, "none") and explicit:
        problems.append(Problem(path, f"{mode!r} contradicts retire: true, which publishes mode none"))
    return "none"


def _external_contradictions(settings: dict[object, object], base: str) -> list[Problem]:
    """``zone`` and ``allow_overwrite`` contradict ``dns: external``.

    The kit writes no record in the domain's own zone then (docs/gitops.md): a zone or a permission to overwrite
    records there would be ignored, so a file that sets them says two contradictory things.
    """
    return [
        Problem(
            f"{base}.{key}",
            "contradicts dns: external (the domain owner publishes its records; the kit writes none in its zone): "
            "remove one of them",
        )
        for key in ("zone", "allow_overwrite")
        if key in settings
    ]


def _dedicated_external(base: str) -> Problem:
    """The warning for ``hosting: dedicated`` on a ``dns: external`` domain.

    A dedicated distribution needs an ACM certificate validated by DNS, whose record name ACM only chooses once the
    certificate is requested: the owner cannot publish it before the first ``pulumi up``, which would wait on it.
    Only a domain deployed that way by an earlier version of the kit can stay (mtasts.resources.program).
    """
    return Problem(
        f"{base}.hosting",
        "dedicated hosting of a dns: external domain only works for a domain already deployed so (its ACM validation "
        "CNAME published); a new one is refused by pulumi up: use shared, which needs no validation record",
    )


def _rua_uris(items: list[str], path: str, problems: list[Problem]) -> tuple[str, ...]:
    """TLS-RPT URIs as published (RFC 8460 §3), each once."""
    uris: list[str] = []
    for index, item in enumerate(items):
        try:
            uris.append(normalize_rua_uri(item))
        except ValueError as exc:
            problems.append(Problem(f"{path}[{index}]", str(exc)))
    return tuple(dict.fromkeys(uris))


def _zone(domain: str, value: str | None, path: str, problems: list[Problem]) -> str | None:
    """The hosted zone holding the domain's records: the domain itself or a parent of it (DNS delegation)."""
    if value is None:
        return None
    try:
        zone = normalize_hostname(value)
    except HostnameError as exc:
        problems.append(Problem(path, str(exc)))
        return None
    if domain != zone and not domain.endswith("." + zone):
        problems.append(
            Problem(path, f"{zone!r} cannot hold records for {domain!r}: it is not the domain or a parent of it")
        )
    return zone


def _mx_required(mode: Mode | None, mx: tuple[str, ...] | None, base: str, found: list[Problem]) -> list[Problem]:
    """RFC 8461 §3.2: an enforce or testing policy lists at least one MX pattern.

    Reported only when nothing it depends on (template, mode, the mx list itself) is already wrong: root causes.
    """
    root_causes = (f"{base}.template", f"{base}.mode", f"{base}.mx")
    if mode in ("enforce", "testing") and mx == () and not any(p.path.startswith(root_causes) for p in found):
        return [Problem(f"{base}.mx", f"mode {mode} needs at least one MX pattern (RFC 8461 §3.2)")]
    return []
