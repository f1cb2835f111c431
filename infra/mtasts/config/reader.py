"""Reading a stack file or template: bounded, strict YAML that Pulumi's reader would read the same way.

``mtasts plan`` reads ``Pulumi.<stack>.yaml`` itself with PyYAML (YAML 1.1); ``pulumi up`` gets the values from the
Pulumi CLI (go-yaml v3, YAML 1.2 rules, each value handed over as JSON). Where the two readings of a plain value
differ the file is refused with its line, so the two never disagree (README, "How the stack file is read").
Every read is bounded: :data:`MAX_YAML_BYTES` while reading, :data:`MAX_YAML_VALUES` after alias expansion.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, Problem, brief
from .fields import type_name as _type_name
from .schema import NAMESPACE

__all__ = ["MAX_YAML_BYTES", "load_yaml_file", "pulumi_reads", "read_capped", "stack_settings_from_file"]


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
