"""The README's config reference tables and ``docs/stack.schema.json``, generated from :mod:`mtasts.config.schema`.

Each table sits in the README between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``; a test checks
that the committed text equals what :func:`update` makes of it, so the docs cannot drift from the schema.
Regenerate both files after a schema change with ``python -m mtasts.config.reference``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import msgspec
import msgspec.inspect as mi

from .fields import choices, fields
from .schema import NAMESPACE, DomainSettings, ReportsSettings, StackSettings, json_schema

__all__ = ["ROOT", "schema_text", "tables", "update"]

ROOT = Path(__file__).resolve().parents[3]
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


def _type_text(kind: mi.Type) -> str:
    inner = kind.type if isinstance(kind, mi.Metadata) else kind
    if isinstance(inner, mi.BoolType):
        return "boolean"
    if isinstance(inner, mi.IntType):
        if inner.le is None:
            return f"integer, at least {inner.ge}"
        return f"integer, {inner.ge}–{inner.le}"
    if isinstance(inner, mi.LiteralType):
        return r" \| ".join(f"`{v}`" for v in choices(inner))
    if isinstance(inner, mi.ListType):
        item = _type_text(inner.item_type)
        return "list of strings" if item == "string" else f"list of {item}"
    if isinstance(inner, mi.StructType):
        return f"mapping `{{{', '.join(f.name for f in inner.fields)}}}`"
    if isinstance(inner, mi.DictType):
        return "mapping"
    return "string" if isinstance(inner, mi.StrType) else "any"


def _default_text(field: mi.Field) -> str:
    inner = field.type.type if isinstance(field.type, mi.Metadata) else field.type
    if isinstance(inner, mi.StructType) and all(not f.required for f in inner.fields):
        return ", ".join(f"`{json.dumps(msgspec.to_builtins(f.default))}`" for f in inner.fields)
    if field.default_factory is not msgspec.NODEFAULT or field.default is msgspec.NODEFAULT:
        return "none"
    value = field.default
    return f"`{json.dumps(value) if isinstance(value, bool) else value}`"


def _rows(struct: type, name: str, example: bool) -> list[str]:
    rows = []
    for key, field in fields(struct).items():
        if key == "domains":
            continue
        extra = dict(field.type.extra or {}) if isinstance(field.type, mi.Metadata) else {}
        schema = (field.type.extra_json_schema if isinstance(field.type, mi.Metadata) else None) or {}
        description = schema.get("description", "")
        cells = [
            f"`{name.format(key=key)}`",
            extra.get("type", _type_text(field.type)),
            extra.get("default", _default_text(field)),
            *([extra.get("example", "")] if example else []),
            description,
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def tables() -> dict[str, str]:
    """Every generated README table by block name, each as its Markdown lines."""
    five = "| key | type | default | example | meaning |\n| --- | --- | --- | --- | --- |\n"
    four = "| key | type | default | meaning |\n| --- | --- | --- | --- |\n"
    return {
        "domain-keys": five + "\n".join(_rows(DomainSettings, "{key}", True)) + "\n",
        "stack-keys": five + "\n".join(_rows(StackSettings, NAMESPACE + ":{key}", True)) + "\n",
        "reports-keys": four + "\n".join(_rows(ReportsSettings, "{key}", False)) + "\n",
    }


def update(text: str) -> str:
    """``text`` with each generated block replaced by the table the schema makes now."""
    made = tables()
    return _BLOCK.sub(lambda m: m.group(1) + made[m.group("name")] + m.group(4), text)


def schema_text() -> str:
    """``docs/stack.schema.json`` as it should be committed."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Rewrite the README's tables and docs/stack.schema.json from the schema (``--check``: only compare)."""
    readme, schema = ROOT / "README.md", ROOT / "docs" / "stack.schema.json"
    wanted = {readme: update(readme.read_text(encoding="utf-8")), schema: schema_text()}
    stale = [path for path, text in wanted.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path}: out of date; run python -m mtasts.config.reference", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
