"""Stack config: ``Pulumi.<stack>.yaml`` key ``mta-sts:domains`` → validated domain settings.

This is the first step of the flow config → policy → records → resources.
``mtasts plan`` and ``pulumi up`` both call :func:`parse_stack_settings`;
the CLI reads the stack file itself (:func:`load_stack_file`), the Pulumi
program gets the same mapping from ``pulumi.Config``.

Every problem is collected and reported at once, one line each, located as
``domains.<domain>.<field>``; nothing is silently ignored or repaired.

Why over 400 lines: every rule of the stack file is still written out by hand here (one ``_check_*`` per key,
Pulumi's YAML reading rules). Issue 20 item 2 declares the schema once and derives the checks from it, which is
what shrinks this module; until then the rules stay together rather than spread over several modules.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, Problem, brief
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

#: A stack file or template larger than this is refused; the cap holds while reading, so ``--config /dev/zero``
#: stops after this many bytes. 10,000 domains with a few MX patterns and rua URIs each take about 3 MB.
MAX_YAML_BYTES = 16 * 1024 * 1024
#: Values a document may hold once its aliases are expanded. Aliases are shared, not copied, when PyYAML
#: builds the document, but everything that walks it (validation, error messages, Pulumi's own reader, which
#: refuses "excessive aliasing") pays for every expansion: a "billion laughs" document is refused here.
MAX_YAML_VALUES = 1_000_000
#: Longest number literal accepted; beyond int64 Pulumi's reader sees a float or a string, not the number.
MAX_NUMBER_CHARS = 24
_MERGE_TAG = "tag:yaml.org,2002:merge"


_show = brief


class _Refused(yaml.constructor.ConstructorError):
    """A well-formed value the kit refuses (not a syntax error)."""


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader that refuses duplicate mapping keys and overlong numbers.

    Plain YAML loaders keep the last of two equal keys, which would silently
    drop a domain's settings; a 5,000-digit number would hit Python's
    int-string limit with a traceback.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *defaults`: merged by PyYAML below, as by Pulumi's reader
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key {_show(key)} appears twice (lines {seen[key]} and {line})",
                        key_node.start_mark,
                    )
                seen[key] = line
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a mapping key must be a plain value, not {type(key).__name__}", key_node.start_mark
                ) from None
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """PyYAML's int, refusing literals longer than :data:`MAX_NUMBER_CHARS` before converting them."""
        if len(node.value) > MAX_NUMBER_CHARS:
            raise _Refused(None, None, f"a number of {len(node.value)} characters is too long", node.start_mark)
        return super().construct_yaml_int(node)  # type: ignore[no-any-return]

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> object:
        """PyYAML's date or time, with an impossible one (``0000-00-00``) refused instead of raising ValueError."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise _Refused(None, None, f"{_show(node.value)} is not a valid date ({exc})", node.start_mark) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


# What Pulumi's own reader makes of a plain (unquoted) scalar. The Pulumi CLI reads Pulumi.<stack>.yaml with
# go-yaml v3 (sdk/go/common/encoding/marshal.go, workspace/loaders.go), a YAML 1.2-style resolver
# (go-yaml v3 resolve.go), and hands each mta-sts:* value to the program as JSON
# (sdk/go/common/resource/config/object.go): whole floats arrive as ints, NaN and infinities cannot be sent,
# dates arrive as Go's text of the time. PyYAML follows YAML 1.1, so `1:30` (90 here, "1:30" there),
# `yes`/`on` (true here, strings there), `0o10`, `08`, `1e3` (strings here, numbers there) and dates differ.
# Where the two readings differ the stack file is refused, so `mtasts plan` and `pulumi up` never disagree.

_GO_CONSTANTS: dict[str, object] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_GO_HINTS = frozenset("+-0123456789yYnNtTfFoO~.")
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_GO_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?.*)?\Z")
_GO_DIGITS = {16: "0123456789abcdefABCDEF", 10: "0123456789", 8: "01234567", 2: "01"}


class _Unsendable:
    """A value Pulumi cannot hand to the program as JSON (NaN, an infinity) or hands over as other text (a date)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return self.what


def _go_parse_int(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 0, 64)``, falling back to ``ParseUint``: base prefixes 0x, 0o, 0b and 0."""
    sign, body = (text[0], text[1:]) if text[:1] in ("+", "-") else ("", text)
    base = 10
    if body[:2] in ("0x", "0X"):
        base, body = 16, body[2:]
    elif body[:2] in ("0o", "0O"):
        base, body = 8, body[2:]
    elif body[:2] in ("0b", "0B"):
        base, body = 2, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    if not body or len(body) > 70 or any(c not in _GO_DIGITS[base] for c in body):
        return None
    value = int(body, base) * (-1 if sign == "-" else 1)
    if -(2**63) <= value < 2**63 or (sign == "" and 0 <= value < 2**64):
        return value
    return None


def pulumi_reads(text: str) -> object:
    """The value the Pulumi program receives for the plain YAML scalar ``text`` (go-yaml v3, then JSON)."""
    if text in _GO_CONSTANTS:
        value = _GO_CONSTANTS[text]
        return _json_number(value, text) if isinstance(value, float) else value
    if not text or text[0] not in _GO_HINTS:
        return text
    if text[0] == ".":
        if "_" not in text and _GO_FLOAT.match(text):
            return _json_number(float(text), text)
        return text
    if text[0] in "yYnNtTfFoO~":
        return text
    if _GO_DATE.match(text):
        return _Unsendable(f"a date (sent to the program as Go's text of it, not {text!r})")
    plain = text.replace("_", "")
    whole = _go_parse_int(plain)
    if whole is not None:
        return whole
    if _GO_FLOAT.match(plain):
        number = float(plain)
        if math.isfinite(number):
            return _json_number(number, text)
    return text


def _json_number(number: float, text: str) -> object:
    """What a Go float64 becomes after Go's ``json.Marshal`` and Python's ``json.loads``."""
    if not math.isfinite(number):
        return _Unsendable(f"the unsendable float {text}")
    return int(number) if number.is_integer() and abs(number) < 1e21 else number


def _same_reading(ours: object, theirs: object) -> bool:
    return type(ours) is type(theirs) and ours == theirs


def _describe_reading(value: object) -> str:
    if isinstance(value, _Unsendable):
        return value.what
    if isinstance(value, str):
        return f"the string {_show(value)}"
    return f"{_type_name(value)} {_show(value)}"


class _StackLoader(_StrictLoader):
    """:class:`_StrictLoader` that also refuses plain scalars Pulumi's reader would read differently."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        value = super().construct_object(node, deep=deep)
        if isinstance(node, yaml.ScalarNode) and not node.style and node.tag != _MERGE_TAG:
            theirs = pulumi_reads(node.value)
            if not _same_reading(value, theirs):
                raise _Refused(
                    None,
                    None,
                    f"{_show(node.value)} reads as {_describe_reading(value)} here (YAML 1.1) but as "
                    f"{_describe_reading(theirs)} in Pulumi (YAML 1.2); quote it, or write the value plainly",
                    node.start_mark,
                )
        return value


def _check_expansion(text: str, source: str, loader: type) -> None:
    """Refuse a document whose aliases expand past :data:`MAX_YAML_VALUES` or refer to themselves.

    Streams parser events (bounded memory) and counts each alias as the size of what it names, so a
    billion-laughs document stops at its first alias past the limit.
    """
    values = 0
    sizes: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in (a for a, _ in open_nodes):
                    line = event.start_mark.line + 1 if event.start_mark else 0
                    raise ConfigError(Problem(f"{source}:{line}", f"alias *{_show(event.anchor)} refers to itself"))
                values += sizes.get(str(event.anchor), 1)
            elif isinstance(event, yaml.ScalarEvent):
                values += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                values += 1
                open_nodes.append((event.anchor, values))
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, start = open_nodes.pop()
                if anchor:
                    sizes[anchor] = values - start + 1
            if values > MAX_YAML_VALUES:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise ConfigError(
                    Problem(
                        f"{source}:{line}",
                        f"expands to more than {MAX_YAML_VALUES:,} values through aliases or size; refused",
                    )
                )
    except yaml.YAMLError:
        return  # the real load reports syntax errors with their line


def read_capped(path: Path, limit: int = MAX_YAML_BYTES) -> bytes:
    """The bytes of ``path``, refusing more than ``limit`` while reading; :class:`ConfigError` on any failure."""
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except FileNotFoundError:
        raise ConfigError(Problem(str(path), "no such file")) from None
    except OSError as exc:
        raise ConfigError(Problem(str(path), f"cannot be read: {exc.strerror or exc}")) from None
    if len(data) > limit:
        raise ConfigError(Problem(str(path), f"is larger than {limit:,} bytes; refused"))
    return data


def load_yaml_file(path: Path, *, pulumi_compatible: bool = False) -> Any:
    """Read one YAML document, refusing duplicate keys; :class:`ConfigError` on any failure.

    Bounded: at most :data:`MAX_YAML_BYTES` read and :data:`MAX_YAML_VALUES` values after alias expansion.
    With ``pulumi_compatible`` (stack files), a plain value that Pulumi's reader reads differently is refused.
    """
    try:
        text = read_capped(path).decode("utf-8-sig")  # Pulumi strips a byte-order mark too
    except UnicodeDecodeError as exc:
        raise ConfigError(Problem(str(path), f"is not UTF-8 text (byte {exc.start})")) from None
    loader = _StackLoader if pulumi_compatible else _StrictLoader
    _check_expansion(text, str(path), loader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506  # both loaders are SafeLoaders
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        prefix = "" if isinstance(exc, _Refused) else "invalid YAML: "
        problem = str(exc.problem or exc.context)
        if mark is not None and _tab_at(text, mark.line, mark.column):
            problem = f"a tab at column {mark.column + 1}: YAML indents with spaces only; replace it with spaces"
        elif problem in (
            "did not find expected key",
            "mapping values are not allowed here",
            "expected <block end>, but found '<block mapping start>'",
        ):
            problem += " (check the indentation of this line: keys of one mapping start in the same column)"
        raise ConfigError(Problem(where, f"{prefix}{_short(problem)}")) from None
    except yaml.YAMLError as exc:
        raise ConfigError(Problem(str(path), f"invalid YAML: {_short(str(exc))}")) from None
    except RecursionError:
        raise ConfigError(Problem(str(path), "invalid YAML: nested too deeply")) from None
    except (ValueError, OverflowError) as exc:  # a value PyYAML cannot build; never a traceback
        raise ConfigError(Problem(str(path), f"invalid value: {_short(str(exc))}")) from None


def _tab_at(text: str, line: int, column: int) -> bool:
    """Whether the YAML error at (line, column) is a tab (the C scanner's message does not name the character)."""
    lines = text.splitlines()
    return 0 <= line < len(lines) and "\t" in lines[line][: column + 1]


def _short(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


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
            raise ConfigError(Problem("", f"unknown template {_show(name)} (available: {available})"))
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
        problems.append(Problem(path, f"expected a whole number of seconds, got {_type_name(value)} {_show(value)}"))
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
        problems.append(Problem(path, f"{_show(value)} is not one of {', '.join(MODES)} (RFC 8461 §3.2)"))
        return None
    return value  # checked against MODES


def _check_max_age(value: object, path: str, problems: list[Problem]) -> int | None:
    return _check_int(value, path, 0, MAX_AGE_LIMIT, problems, " (RFC 8461 §3.2)")


def _check_str_list(value: object, path: str, what: str, problems: list[Problem]) -> list[str] | None:
    if not isinstance(value, list):
        problems.append(Problem(path, f"expected a list of {what}, got {_type_name(value)} {_show(value)}"))
        return None
    good = True
    for index, item in enumerate(value):
        if not isinstance(item, str):
            problems.append(Problem(f"{path}[{index}]", f"expected a string, got {_type_name(item)} {_show(item)}"))
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
            warnings.append(Problem(f"{path}[{index}]", f"{_show(item)} is listed twice; it is published once"))
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
    switch_hosting: bool = False
    """Allow ``pulumi up`` to move this live domain from the other hosting mode into :attr:`hosting` (opt-in; see
    docs/deploy.md, "Changing modes"); without it such a switch is refused."""


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
    "switch_hosting",
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
    base = f"domains.{key}" if isinstance(key, str) and len(key) <= 300 else f"domains.{_show(key, 60)}"
    start = len(problems)
    try:
        domain = normalize_hostname(key)
    except HostnameError as exc:
        problems.append(Problem(base, f"not a valid domain name: {exc}"))
        return None
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        problems.append(Problem(base, f"expected a mapping of settings, got {_type_name(settings)} {_show(settings)}"))
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
        problems.append(Problem(f"{base}.retire", f"expected true or false, got {_type_name(retire)} {_show(retire)}"))
        retire = False
    if retire:
        if mode not in (None, "none") and "mode" in settings:
            problems.append(Problem(f"{base}.mode", f"{mode!r} contradicts retire: true, which publishes mode none"))
        mode = "none"
    dns = settings.get("dns", "route53")
    if dns not in DNS_MODES:
        problems.append(Problem(f"{base}.dns", f"{_show(dns)} is not one of {', '.join(DNS_MODES)}"))
    allow_overwrite = settings.get("allow_overwrite", False)
    if not isinstance(allow_overwrite, bool):
        problems.append(
            Problem(f"{base}.allow_overwrite", f"expected true or false, got {_type_name(allow_overwrite)}")
        )
        allow_overwrite = False
    adopt_zone_id, adopt = _check_adopt(settings.get("adopt"), f"{base}.adopt", problems)
    switch_hosting = settings.get("switch_hosting", False)
    if not isinstance(switch_hosting, bool):
        problems.append(Problem(f"{base}.switch_hosting", f"expected true or false, got {_type_name(switch_hosting)}"))
        switch_hosting = False
    if switch_hosting:
        warnings.append(
            Problem(
                f"{base}.switch_hosting",
                "if the domain is live on the other hosting mode, pulumi up moves it: its policy URL stops "
                "answering for a few minutes, its _mta-sts id stays (docs/deploy.md#changing-modes)",
            )
        )
    if dns == "external":
        # the kit writes no record in the domain's own zone then: a zone or a permission to overwrite records
        # there would be ignored, so a file that sets them says two contradictory things
        for contradicting in ("zone", "allow_overwrite"):
            if contradicting in settings:
                problems.append(
                    Problem(
                        f"{base}.{contradicting}",
                        "contradicts dns: external (the domain owner publishes its records; the kit writes none in "
                        "its zone): remove one of them",
                    )
                )
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

    # Only when nothing it depends on (template, mode, the mx list itself) is already wrong: report root causes.
    root_causes = (f"{base}.template", f"{base}.mode", f"{base}.mx")
    if (
        mode in ("enforce", "testing")
        and mx == ()
        and not any(p.path.startswith(root_causes) for p in problems[start:])
    ):
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
        switch_hosting=switch_hosting,
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
        problems.append(Problem(f"{path}.zone_id", f"{_show(zone_id)} is not a Route53 hosted zone id (Z...)"))
        zone_id = None
    records = _check_str_list(value["records"], f"{path}.records", "record names", problems) or []
    for index, name in enumerate(records):
        if name not in ADOPTABLE:
            problems.append(Problem(f"{path}.records[{index}]", f"{_show(name)} is not one of {', '.join(ADOPTABLE)}"))
    return zone_id, tuple(dict.fromkeys(r for r in records if r in ADOPTABLE))


# --- stack --------------------------------------------------------------------------------------


def _check_bool(value: object, path: str, problems: list[Problem]) -> object:
    if not isinstance(value, bool):
        problems.append(Problem(path, f"expected true or false, got {_type_name(value)} {_show(value)}"))
    return value


PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")


def _check_price_class(value: object, path: str, problems: list[Problem]) -> object:
    if value not in PRICE_CLASSES:
        problems.append(Problem(path, f"{_show(value)} is not one of {', '.join(PRICE_CLASSES)}"))
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
    unknown = set(value) - set(REPORTS_KEYS)
    if unknown:
        name = sorted(unknown)[0]
        problems.append(Problem(f"{path}.{name}", f"unknown key (allowed: {', '.join(REPORTS_KEYS)})"))
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
        elif mail_domain == zone:
            # The kit publishes an MX for the mailbox's domain: at the apex it would take over the zone's mail.
            problems.append(
                Problem(
                    f"{path}.mailbox",
                    f"its domain {mail_domain!r} is the zone apex; use a dedicated subdomain such as "
                    f"'tls-reports@tlsrpt-mail.{zone}' (the kit publishes an MX record there)",
                )
            )
    limits = {name: _check_reports_limit(value, path, name, problems) for name in REPORTS_LIMITS}
    query = value.get("query", "none")
    if query not in REPORTS_QUERY:
        shown = f"{query!r:.40}" if isinstance(query, str) else _type_name(query)
        problems.append(Problem(f"{path}.query", f"expected one of {', '.join(REPORTS_QUERY)}, got {shown}"))
        query = "none"
    replace_rule_set = value.get("replace_active_rule_set", False)
    if not isinstance(replace_rule_set, bool):
        problems.append(
            Problem(f"{path}.replace_active_rule_set", f"expected true or false, got {_type_name(replace_rule_set)}")
        )
    return {
        "endpoint": endpoint,
        "zone": zone,
        "retention_days": days,
        "uri": f"https://{endpoint}{REPORTS_PATH}",
        "mail_uri": mail_uri,
        **limits,
        "replace_active_rule_set": replace_rule_set is True,
        "query": query,
    }


#: Keys of ``mta-sts:reports``.
REPORTS_KEYS = (
    "endpoint",
    "zone",
    "retention_days",
    "mailbox",
    "rate_limit",
    "burst_limit",
    "reserved_concurrency",
    "max_body_kib",
    "replace_active_rule_set",
    "query",
    "query_scan_limit_mib",
    "query_results_days",
)
#: ``mta-sts:reports.query``: none, or athena (a Glue table over the rows and an Athena workgroup, docs/reports.md).
REPORTS_QUERY = ("none", "athena")
#: The endpoint's volume limits: name → (default, lowest, highest, unit). The highest rate and burst are API
#: Gateway's account-level throttle quotas per region (10,000 requests/s, burst 5,000); 10,240 KiB is the HTTP API
#: payload quota (10 MB). ``reserved_concurrency: false`` reserves none (see docs/reports.md).
REPORTS_LIMITS: dict[str, tuple[int, int, int, str]] = {
    "rate_limit": (2, 1, 10000, "requests per second"),
    "burst_limit": (20, 1, 5000, "requests"),
    "reserved_concurrency": (2, 1, 1000, "concurrent executions"),
    "max_body_kib": (1024, 16, 10240, "KiB"),
    # query: athena. Athena's per-query cutoff is at least 10,000,000 bytes (10 MiB is more); 10 GiB by default
    # (about $0.05 at $5 per TB scanned), a year of 10,000 domains' rows being about 1 GB (docs/reports.md)
    "query_scan_limit_mib": (10240, 10, 10_000_000, "MiB"),
    "query_results_days": (7, 1, 3650, "days"),
}


def _check_reports_limit(settings: dict[Any, Any], path: str, name: str, problems: list[Problem]) -> int | None:
    default, low, high, unit = REPORTS_LIMITS[name]
    value = settings.get(name, default)
    if name == "reserved_concurrency" and value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = f"{value!r:.40}" if isinstance(value, (int, str)) and not isinstance(value, bool) else _type_name(value)
        reason = f"expected a whole number of {unit} from {low} to {high}, got {shown}"
        problems.append(Problem(f"{path}.{name}", reason))
        return None
    return value


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


def _check_promotion(value: object, path: str, problems: list[Problem]) -> object:
    from .fleet.rules import check_promotion  # the rules of `mtasts status`/`promote` (docs/fleet.md)

    return check_promotion(value, path, problems)


def _check_alerts(value: object, path: str, problems: list[Problem]) -> object:
    from .alerts.settings import check_alerts  # certificate expiry thresholds (docs/alerts.md)

    return check_alerts(value, path, problems)


def _alarm_problems(alerts: object, reports: object) -> list[Problem]:
    from .alerts.settings import alarm_problems

    return alarm_problems(alerts, reports)


def _check_hosting(value: object, path: str, problems: list[Problem]) -> object:
    if value not in HOSTING_MODES:
        problems.append(Problem(path, f"{value!r} is not one of {', '.join(HOSTING_MODES)}"))
    return value


def _check_quotas(value: object, path: str, problems: list[Problem]) -> object:
    """``quotas: {<name>: <whole number>}``: AWS quotas raised for this account (names: mtasts.quotas)."""
    from .quotas import QUOTAS  # the table of AWS quotas (plain data)

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
    "promotion": (_check_promotion, None),
    "alerts": (_check_alerts, None),
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
            close = [k for k in ("domains", *STACK_KEYS) if k.lower() == str(name).lower()]
            hint = f"did you mean {NAMESPACE}:{close[0]}? " if close else ""
            problems.append(Problem(f"{NAMESPACE}:{name}", f"unknown setting ({hint}allowed: {allowed})"))
    resolved: dict[str, object] = {}
    for name, (check, default) in STACK_KEYS.items():
        resolved[name] = check(settings[name], f"{NAMESPACE}:{name}", problems) if name in settings else default
    raw = settings.get("domains")
    domains: list[DomainConfig] = []
    if raw is None:
        what = "is empty" if "domains" in settings else "is missing"
        problems.append(Problem(f"{NAMESPACE}:domains", f"{what}; it maps each mail domain to its settings"))
    elif not isinstance(raw, dict):
        problems.append(Problem(f"{NAMESPACE}:domains", f"expected a mapping of domain names, got {_type_name(raw)}"))
    elif not raw:
        pass  # reported below, unless something else is wrong
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
    misspelt = any(str(name).lower() == "hostingzone" for name in settings if name != "hostingZone")
    # one typo, one error: a misspelt hostingZone is reported above, not again on every external domain
    if resolved.get("hostingZone") is None and "hostingZone" not in settings and not misspelt:
        for d in domains:
            if d.dns == "external":
                problems.append(
                    Problem(
                        f"domains.{d.key}.dns", f"external DNS needs {NAMESPACE}:hostingZone, a zone the kit controls"
                    )
                )
    problems.extend(_alarm_problems(resolved.get("alerts"), resolved.get("reports")))
    reports_settings = resolved.get("reports")
    if isinstance(reports_settings, dict):
        zones = {d.zone for d in domains if isinstance(d.zone, str)}
        problems.extend(mailbox_problems(reports_settings, {d.domain for d in domains}, zones))
    if isinstance(raw, dict) and not raw and not problems:
        problems.append(
            Problem(
                f"{NAMESPACE}:domains",
                "maps no domain; list at least one (to withdraw the last ones, retire them first: RFC 8461 §8.3)",
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
    data = load_yaml_file(path, pulumi_compatible=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(Problem(str(path), "a Pulumi stack file must be a mapping with a 'config' key"))
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(Problem(f"{path}: config", "must be a mapping"))
    prefix = f"{NAMESPACE}:"
    settings = {
        k[len(prefix) :]: _as_program_reads(v) for k, v in config.items() if isinstance(k, str) and k.startswith(prefix)
    }
    # The program skips a setting whose value is null (its default applies), so here too; an empty
    # `mta-sts:domains:` stays, to be reported as empty rather than missing.
    return {k: v for k, v in settings.items() if v is not None or k == "domains"}


def _as_program_reads(value: object) -> object:
    """A top-level config value as the Pulumi program reads it (``mtasts.resources.program.read_settings``).

    Pulumi hands a top-level string to the program as it is, and the program reads every value with
    ``Config.get_object`` (JSON) first: a quoted ``'true'`` or ``'300'`` arrives as true or 300 there, so here too.
    """
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def load_stack_file(path: Path, templates: TemplateStore | None = None) -> StackConfig:
    """Read and validate a ``Pulumi.<stack>.yaml`` file.

    Templates come from ``policy_templates/`` beside the stack file when that
    folder exists, else from the kit's own.
    """
    if templates is None:
        local = path.parent / "policy_templates"
        templates = TemplateStore(local if local.is_dir() else None)
    return parse_stack_settings(stack_settings_from_file(path), templates, str(path))
