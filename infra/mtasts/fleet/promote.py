"""``mtasts promote``: apply each ready domain's next step to ``Pulumi.<stack>.yaml``, changing nothing else.

The edit is a splice, not a re-serialisation: ruamel.yaml's round-trip parser says where each domain's ``mode``
and ``max_age`` values are (line and column), and only those characters are replaced, so comments, key order,
quoting, flow or block style, indentation and line endings stay byte for byte. A key the domain does not set yet
(the mode came from its template) is added on a line of its own, indented like its neighbours, or appended to a
flow mapping. The result is re-read and re-planned before it replaces the file, atomically: it must validate, the
stepped domains must have exactly the new values and every other domain its old policy.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import TemplateStore
from ..errors import ConfigError, MtastsError, Problem
from ..plan import StackPlan, plan_stack_file
from .status import DomainStatus

__all__ = ["Step", "apply_steps", "choose_steps", "edit_stack_text"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Step:
    """One domain's change: the key as written in the stack file and the new values."""

    key: str
    domain: str
    mode: str
    max_age: int
    old_mode: str
    old_max_age: int
    why: str
    """promote or demote."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "domain": self.domain,
            "from": {"mode": self.old_mode, "max_age": self.old_max_age},
            "to": {"mode": self.mode, "max_age": self.max_age},
            "kind": self.why,
        }


def choose_steps(
    statuses: Sequence[DomainStatus], demote: bool = False
) -> tuple[list[Step], list[tuple[DomainStatus, list[str]]]]:
    """The steps to apply (ready domains, and with ``demote`` the demotable ones) and the refused domains."""
    steps: list[Step] = []
    refused: list[tuple[DomainStatus, list[str]]] = []
    for s in statuses:
        c = s.plan.config
        target, why = (s.next, "promote") if s.verdict == "ready" else (None, "")
        if target is None and demote and s.demote is not None:
            target, why = s.demote, "demote"
        if target is None:
            hint = (
                ["--demote would propose mode testing"]
                if s.demote is not None and not demote and s.verdict == "action-needed"
                else []
            )
            refused.append((s, [f"{s.verdict}: {r}" for r in s.reasons] + hint))
            continue
        steps.append(Step(c.key, s.domain, target["mode"], target["max_age"], c.mode, c.max_age, why))
    return steps, refused


# --- splicing ------------------------------------------------------------------------------------


class _Text:
    """The stack file's text with (line, column) → offset, as ruamel.yaml counts them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
        match = _LINE_BREAK.search(text)
        self.newline = match.group() if match else "\n"

    def offset(self, line: int, column: int) -> int:
        return self.starts[line] + column

    def line_end(self, offset: int) -> int:
        match = _LINE_BREAK.search(self.text, offset)
        return match.start() if match else len(self.text)


def _scalar_end(text: _Text, start: int, flow: bool) -> int:
    """Where the scalar token at ``start`` ends (quotes included)."""
    s = text.text
    quote = s[start]
    if quote in "'\"":
        i = start + 1
        while i < len(s):
            if quote == "'" and s[i] == "'":
                if s[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            if quote == '"' and s[i] == "\\":
                i += 2
                continue
            if quote == '"' and s[i] == '"':
                return i + 1
            i += 1
        raise ConfigError(Problem(f"line {s.count(chr(10), 0, start) + 1}", "unterminated quoted scalar"))
    end = text.line_end(start)
    stop = end
    comment = s.find(" #", start, end)
    if comment >= 0:
        stop = comment
    if flow:
        for ch in ",}]":
            at = s.find(ch, start, stop)
            if at >= 0:
                stop = at
    return start + len(s[start:stop].rstrip())


def _flow_close(text: _Text, brace: int) -> int:
    """Offset of the ``}`` closing the flow mapping that opens at ``brace`` (quotes and nesting skipped)."""
    s = text.text
    depth, i = 0, brace
    while i < len(s):
        ch = s[i]
        if ch in "'\"":
            i = _scalar_end(text, i, flow=True)
            continue
        if ch == "#" and s[i - 1] in " \t\r\n":
            i = text.line_end(i)
            continue
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ConfigError(Problem(f"line {s.count(chr(10), 0, brace) + 1}", "unclosed flow mapping"))


def _render(value: str | int, old_token: str) -> str:
    """The new value in the old token's quoting style."""
    if old_token[:1] in "'\"" and isinstance(value, str):
        return f"{old_token[0]}{value}{old_token[0]}"
    return str(value)


def _settings_of(doc: Any, key: str) -> tuple[Any, Any]:
    """(the ``mta-sts:domains`` mapping, the settings node of ``key``) in the round-trip document."""
    config: Any = doc.get("config") if hasattr(doc, "get") else None
    domains: Any = config.get("mta-sts:domains") if hasattr(config, "get") else None
    if domains is None or not hasattr(domains, "lc"):
        raise ConfigError(Problem("config.mta-sts:domains", "not found in the stack file"))
    for k in domains:
        if str(k) == key:
            return domains, k
    raise ConfigError(Problem(f"domains.{key}", "not found in the stack file"))


def _edits_for(text: _Text, doc: Any, step: Step) -> list[tuple[int, int, str]]:
    """(start, end, replacement) edits that set ``mode`` and ``max_age`` of one domain."""
    domains, k = _settings_of(doc, step.key)
    settings = domains[k]
    wanted: dict[str, str | int] = {"mode": step.mode, "max_age": step.max_age}
    edits: list[tuple[int, int, str]] = []
    if settings is None:  # `example.com:` or `example.com: ~` — a flow mapping in place of the null
        line, column = domains.lc.key(k)
        start = text.offset(line, column)
        if text.text[start] in "'\"":
            colon = text.text.index(":", _scalar_end(text, start, flow=False))
        else:
            found = re.compile(r":(?=[ \t\r\n]|\Z)").search(text.text, start)
            if found is None:
                raise ConfigError(Problem(f"domains.{step.key}", "cannot locate its settings to edit"))
            colon = found.start()
        end = text.line_end(colon)
        comment = text.text.find(" #", colon, end)
        stop = comment if comment >= 0 else end
        value = text.text[colon + 1 : stop]
        if value.strip() not in ("", "~", "null", "Null", "NULL"):
            raise ConfigError(Problem(f"domains.{step.key}", "cannot locate its settings to edit"))
        edits.append((colon + 1, stop, f" {{mode: {step.mode}, max_age: {step.max_age}}}"))
        return edits
    if not hasattr(settings, "lc"):
        raise ConfigError(Problem(f"domains.{step.key}", "expected a mapping of settings"))
    flow = settings.fa.flow_style()
    missing: list[str] = []
    for name, wanted_value in wanted.items():
        if name in settings:
            line, column = settings.lc.value(name)
            start = text.offset(line, column)
            end = _scalar_end(text, start, flow)
            token = text.text[start:end]
            if str(settings[name]) != str(wanted_value):
                edits.append((start, end, _render(wanted_value, token)))
        else:
            missing.append(f"{name}: {wanted_value}")
    if not missing:
        return edits
    if flow:
        start = text.offset(settings.lc.line, settings.lc.col)
        close = _flow_close(text, text.text.index("{", start))
        at = len(text.text[:close].rstrip())
        separator = ", " if len(settings) else ""
        edits.append((at, at, separator + ", ".join(missing)))
        return edits
    first = next(iter(settings))
    line, column = settings.lc.key(first)
    at = text.starts[line]
    edits.append((at, at, "".join(f"{' ' * column}{m}{text.newline}" for m in missing)))
    return edits


def _shared_structure(node: Any, name: str, whole: bool, seen: set[int]) -> None:
    """Refuse an anchor, alias, merge key or duplicate key in ``node`` (and below it when ``whole``).

    An edit inside an anchored node would also change every alias of it, a merge key makes a value come from
    somewhere else than where it is written, and of two duplicate keys YAML 1.2 §3.2.1.1 allows neither: the splice
    could change text that a different reader ignores. One line names the file and the line (1-based).
    """
    where = f"{name}:{node.start_mark.line + 1}"
    if id(node) in seen:
        raise ConfigError(Problem(where, "an alias (*name) in the part promote edits; write the values out"))
    seen.add(id(node))
    if getattr(node, "anchor", None):
        raise ConfigError(Problem(where, f"an anchor (&{node.anchor}) in the part promote edits; write it out"))
    if not isinstance(node.value, list):
        return
    keys: set[str] = set()
    for item in node.value:
        key, value = item if isinstance(item, tuple) else (None, item)
        if key is not None:
            line = f"{name}:{key.start_mark.line + 1}"
            if key.tag == "tag:yaml.org,2002:merge":
                raise ConfigError(Problem(line, "a merge key (<<) in the part promote edits; write the keys out"))
            if isinstance(key.value, str):
                if key.value in keys:
                    raise ConfigError(Problem(line, f"duplicate key {key.value!r}; YAML forbids it"))
                keys.add(key.value)
        if whole:
            if key is not None:
                _shared_structure(key, name, True, seen)
            _shared_structure(value, name, True, seen)


def _refuse_shared_structure(text: str, name: str) -> None:
    """Refuse what a splice cannot edit safely: several documents, or shared structure around the domains."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        documents = list(YAML(typ="rt").compose_all(io.StringIO(text)))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise ConfigError(Problem(where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}")) from None
    if len(documents) > 1:
        line = documents[1].start_mark.line + 1
        raise ConfigError(Problem(f"{name}:{line}", "a second YAML document; a stack file holds one"))
    node = documents[0] if documents else None
    seen: set[int] = set()
    for wanted in ("config", "mta-sts:domains"):  # the path to the domains: their own keys only
        if node is None or not isinstance(node.value, list):
            return
        _shared_structure(node, name, False, seen)
        node = next((v for k, v in node.value if getattr(k, "value", None) == wanted), None)
    if node is not None:
        _shared_structure(node, name, True, seen)


def edit_stack_text(text: str, steps: Sequence[Step], name: str = "stack file") -> str:
    """``text`` with each step's ``mode`` and ``max_age`` set; every other character unchanged.

    ``name`` (the file's path) starts the error line when the text has what a splice cannot edit safely.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if steps:
        _refuse_shared_structure(text, name)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        doc = yaml.load(io.StringIO(text))
    except YAMLError as exc:
        raise ConfigError(Problem(name, f"invalid YAML: {exc}")) from None
    source = _Text(text)
    edits = sorted(e for step in steps for e in _edits_for(source, doc, step))
    out: list[str] = []
    position = 0
    for start, end, replacement in edits:
        if start < position:
            raise ConfigError(Problem("stack file", "overlapping edits"))
        out += [text[position:start], replacement]
        position = end
    out.append(text[position:])
    return "".join(out)


def _verify(before: StackPlan, after: StackPlan, steps: Sequence[Step]) -> None:
    """The edited stack plans to the same policies except the stepped domains, which have exactly their step."""
    old = {d.domain: d for d in before.domains}
    new = {d.domain: d for d in after.domains}
    wanted = {s.domain: s for s in steps}
    problems: list[Problem] = []
    if old.keys() != new.keys():
        problems.append(Problem("stack file", "the edit changed the set of domains"))
    for name, d in new.items():
        step = wanted.get(name)
        if step is None:
            if name in old and old[name].policy_bytes != d.policy_bytes:
                problems.append(Problem(f"domains.{d.config.key}", "the edit changed a domain it should not"))
        elif (d.config.mode, d.config.max_age) != (step.mode, step.max_age):
            problems.append(
                Problem(f"domains.{d.config.key}", f"after the edit it is {d.config.mode}/{d.config.max_age}")
            )
    if problems:
        raise MtastsError(problems)


def _editable(path: Path) -> Path:
    """The file to edit for the stack file ``path``: itself, or the target of a symbolic link inside the repository.

    A link pointing out of the repository (the nearest folder above the link holding ``.git``, else the link's own
    folder) is refused: promote edits the repository's configuration, never a file elsewhere it was pointed to.
    """
    if not path.is_symlink():
        return path
    folder = path.absolute().parent
    root = next((p for p in (folder, *folder.parents) if (p / ".git").exists()), folder).resolve()
    target = path.resolve()
    if not target.is_relative_to(root):
        raise ConfigError(
            Problem(str(path), f"is a symbolic link to {target}, outside the repository {root}; promote refuses it")
        )
    return target  # os.replace on the link itself would turn it into a copy


def apply_steps(
    path: Path, before: StackPlan, steps: Sequence[Step], templates: TemplateStore | None = None, write: bool = True
) -> str:
    """Edit the stack file at ``path`` in place (atomically) and return the new text; ``write=False`` only returns it.

    The new text is re-planned first; nothing is written unless it validates and changes exactly the steps.
    """
    path = _editable(path)
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw[3 if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(Problem(str(path), f"not UTF-8: {exc}")) from None
    new = edit_stack_text(text, steps, str(path))
    temporary = path.with_name(f".{path.name}.mtasts-promote")
    temporary.write_bytes((b"\xef\xbb\xbf" if bom else b"") + new.encode("utf-8"))
    try:
        after = plan_stack_file(temporary, templates)
        _verify(before, after, steps)
        if write:
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return new
