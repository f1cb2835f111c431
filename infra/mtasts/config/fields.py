"""Checks derived from the schema: each value against its field's declared type, bounds and choices.

Nothing here knows a key by name. The type, the bounds (``ge``/``le``), the choices (``Literal``), the pattern and
the wording hints (``Meta.extra``, see :mod:`mtasts.config.schema`) are read from the Structs through
``msgspec.inspect``, and every problem becomes one line naming its field:

* wrong type: ``<expected>, got <type> <value>`` (``expected a whole number of seconds, got str '300'``);
* out of bounds: ``<value> is below <ge> (<rfc>)``, or with ``range``: ``expected a whole number of KiB from 16
  to 10240, got 8``;
* not a choice: ``<value> is not one of a, b (<rfc>)``, or the field's own ``invalid`` wording;
* unknown key: ``unknown key (allowed: …)``, in the schema's key order.

Problems are collected, never raised, so a stack's every problem is reported at once.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi

from ..errors import Problem, brief

__all__ = ["INVALID", "check_struct", "check_value", "choices", "default", "fields", "type_name"]


class _Invalid:
    """The result of a check that failed (its problem is already appended)."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


def type_name(value: object) -> str:
    """The type of ``value`` as a message names it (``null`` for ``None``)."""
    return "null" if value is None else type(value).__name__


def _got(value: object) -> str:
    return "null" if value is None else f"{type_name(value)} {brief(value)}"


#: Each ``Literal``'s choices in the order declared (``msgspec.inspect`` sorts them), by their set.
_DECLARED: dict[frozenset[object], tuple[object, ...]] = {}


def _remember_literals(hint: object) -> None:
    if typing.get_origin(hint) is typing.Literal:
        _DECLARED[frozenset(typing.get_args(hint))] = typing.get_args(hint)
    for arg in typing.get_args(hint):
        _remember_literals(arg)
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        for inner in typing.get_type_hints(hint, include_extras=True).values():
            _remember_literals(inner)


def choices(kind: mi.LiteralType) -> tuple[object, ...]:
    """A ``Literal``'s choices in the order the schema declares them."""
    return _DECLARED.get(frozenset(kind.values), kind.values)


@functools.cache
def fields(struct: type) -> dict[str, mi.Field]:
    """The fields of a Struct by the name the stack file uses (without ``mta-sts:``), in declaration order."""
    _remember_literals(struct)
    info = mi.type_info(struct)
    if not isinstance(info, mi.StructType):
        raise TypeError(f"{struct!r} is not a Struct")
    return {f.name: f for f in info.fields}


def _unwrap(kind: mi.Type) -> tuple[mi.Type, dict[str, Any]]:
    if isinstance(kind, mi.Metadata):
        return kind.type, dict(kind.extra or {})
    return kind, {}


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


#: A predicate per declared type (by ``id``; the types live as long as :func:`fields`' cache) that accepts the
#: common valid values at once, so a 10,000-domain stack pays for the full check only where something is wrong.
_FAST: dict[int, Callable[[object], bool]] = {}


def _fast(kind: mi.Type) -> Callable[[object], bool]:
    inner, extra = _unwrap(kind)
    if isinstance(inner, mi.BoolType):
        return lambda value: type(value) is bool
    if isinstance(inner, mi.IntType) and not extra.get("or_false"):
        low = inner.ge if inner.ge is not None else -(2**63)
        high = inner.le if inner.le is not None else 2**64
        return lambda value: type(value) is int and low <= value <= high
    if isinstance(inner, mi.LiteralType):
        values = frozenset(inner.values)
        return lambda value: type(value) is str and value in values
    if isinstance(inner, mi.StrType) and inner.pattern is None:
        return lambda value: type(value) is str
    if isinstance(inner, mi.ListType) and not inner.min_length and inner.max_length is None:
        item = _FAST.setdefault(id(inner.item_type), _fast(inner.item_type))
        return lambda value: type(value) is list and all(item(i) for i in value)
    return lambda value: False


def check_value(kind: mi.Type, value: object, path: str, problems: list[Problem]) -> Any:
    """``value`` checked against the declared ``kind``: itself (a Struct as a dict of its checked keys), or INVALID."""
    fast = _FAST.get(id(kind))
    if fast is None:
        fast = _FAST[id(kind)] = _fast(kind)
    return value if fast(value) else full_check(kind, value, path, problems)


def full_check(kind: mi.Type, value: object, path: str, problems: list[Problem]) -> Any:
    """:func:`check_value` without the fast path for common valid values (which must agree with it)."""
    inner, extra = _unwrap(kind)
    rfc = f" ({extra['rfc']})" if "rfc" in extra else ""

    def wrong(phrase: str) -> Any:
        problems.append(Problem(path, f"{extra.get('expected', phrase)}, got {_got(value)}"))
        return INVALID

    if isinstance(inner, mi.AnyType):
        return value
    if isinstance(inner, mi.BoolType):
        return value if isinstance(value, bool) else wrong("expected true or false")
    if isinstance(inner, mi.IntType):
        if value is False and extra.get("or_false"):
            return None
        phrase = "expected a whole number" + (f" of {extra['unit']}" if "unit" in extra else "")
        if extra.get("range"):
            phrase += f" from {inner.ge} to {inner.le}" if inner.le is not None else f" of at least {inner.ge}"
        if isinstance(value, bool) or not isinstance(value, int):
            return wrong(phrase)
        for bound, word in ((inner.ge, "below"), (inner.le, "above")):
            if bound is not None and (value < bound if word == "below" else value > bound):
                message = f"{phrase}, got {value}" if extra.get("range") else f"{value} is {word} {bound}{rfc}"
                if "invalid" in extra:
                    message = extra["invalid"].format(value=value, ge=inner.ge, le=inner.le)
                problems.append(Problem(path, message))
                return INVALID
        return value
    if isinstance(inner, mi.FloatType):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return wrong("expected a number")
        number = float(value)
        low, high = inner.ge if inner.ge is not None else inner.gt, inner.le if inner.le is not None else inner.lt
        inside = (
            (inner.ge is None or number >= inner.ge)
            and (inner.gt is None or number > inner.gt)
            and (inner.le is None or number <= inner.le)
            and (inner.lt is None or number < inner.lt)
        )
        if not inside:
            phrase = extra.get("expected", f"expected a number from {low} to {high}")
            problems.append(Problem(path, f"{phrase}, got {brief(value)}"))
            return INVALID
        return number
    if isinstance(inner, mi.LiteralType):
        if isinstance(value, str) and value in inner.values:
            return value
        invalid = extra.get("invalid", "{value} is not one of {choices}{rfc}")
        named = ", ".join(str(v) for v in choices(inner))
        problems.append(Problem(path, invalid.format(value=brief(value), choices=named, rfc=rfc)))
        return INVALID
    if isinstance(inner, mi.StrType):
        if not isinstance(value, str):
            return wrong("expected a string")
        if inner.pattern is not None and not _pattern(inner.pattern).search(value):
            invalid = extra.get("invalid", "{value} does not match {pattern}")
            problems.append(Problem(path, invalid.format(value=brief(value), pattern=inner.pattern)))
            return INVALID
        return value
    if isinstance(inner, mi.ListType | mi.VarTupleType):
        sequence = list | tuple if isinstance(inner, mi.VarTupleType) else list
        if not isinstance(value, sequence) or len(value) < (inner.min_length or 0):
            return wrong("expected a list")
        items = [check_value(inner.item_type, item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
        if inner.max_length is not None and len(value) > inner.max_length:
            too_many = extra.get("too_many", "{count} entries; at most {max}")
            problems.append(Problem(path, too_many.format(count=len(value), max=inner.max_length)))
            return INVALID
        if any(item is INVALID for item in items):
            return INVALID
        return tuple(items) if isinstance(inner, mi.VarTupleType) else items
    if isinstance(inner, mi.DictType):
        if not isinstance(value, dict):
            return wrong("expected a mapping")
        checked = {k: check_value(inner.value_type, v, f"{path}.{k}", problems) for k, v in value.items()}
        return INVALID if any(v is INVALID for v in checked.values()) else checked
    if isinstance(inner, mi.StructType):
        exact = all(f.required for f in inner.fields)
        if not isinstance(value, dict) or (exact and set(value) != {f.name for f in inner.fields}):
            names = [f.name for f in inner.fields]
            phrase = f"expected a mapping with exactly the keys {', '.join(names[:-1])} and {names[-1]}"
            if exact:
                problems.append(Problem(path, extra.get("expected", phrase)))
                return INVALID
            return wrong("expected a mapping")
        start = len(problems)
        checked = check_struct(inner.cls, value, lambda name: f"{path}.{name}", problems)
        return checked if len(problems) == start else INVALID
    raise TypeError(f"the schema declares {inner!r}, which mtasts.config.fields does not check")  # pragma: no cover


def check_struct(
    struct: type, data: Mapping[Any, Any], at: Callable[[str], str], problems: list[Problem]
) -> dict[str, Any]:
    """The keys of ``data`` checked against ``struct``'s fields: ``{key: value}`` for each present, valid key.

    Unknown keys and missing required keys are problems too; ``at(key)`` names a key's path in a message.
    """
    fast, required = _struct_fast(struct)
    if all(key in fast and fast[key](value) for key, value in data.items()) and required <= data.keys():
        return dict(data)  # every key known and its value accepted as it is: what full_check_struct returns
    return full_check_struct(struct, data, at, problems)


def full_check_struct(
    struct: type, data: Mapping[Any, Any], at: Callable[[str], str], problems: list[Problem]
) -> dict[str, Any]:
    """:func:`check_struct` key by key, in the schema's order (unknown keys first), without its fast path."""
    declared = fields(struct)
    for key in data:
        if key not in declared:
            problems.append(Problem(at(str(key)), f"unknown key (allowed: {', '.join(declared)})"))
    checked: dict[str, Any] = {}
    for name, field in declared.items():
        if name in data:
            value = check_value(field.type, data[name], at(name), problems)
            if value is not INVALID:
                checked[name] = value
        elif field.required:
            problems.append(Problem(at(name), "is required"))
    return checked


@functools.cache
def _struct_fast(struct: type) -> tuple[dict[str, Callable[[object], bool]], frozenset[str]]:
    """Per key of ``struct``: the fast predicate of its type; and the required keys."""
    declared = fields(struct)
    fast = {name: _FAST.setdefault(id(field.type), _fast(field.type)) for name, field in declared.items()}
    return fast, frozenset(name for name, field in declared.items() if field.required)


def default(struct: type, name: str) -> Any:
    """The declared default of ``struct``'s key ``name``; ``None`` when it has none (it depends on other keys)."""
    field = fields(struct)[name]
    if field.default_factory is not msgspec.NODEFAULT:
        return field.default_factory()
    return None if field.default is msgspec.NODEFAULT else field.default
