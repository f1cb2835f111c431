"""Layers only point down, and no import closes a cycle.

Every import between the kit's modules goes to its own layer or a lower one, counting imports inside functions
and under ``TYPE_CHECKING`` too (read with ast, not by running the code). :data:`LAYERS` is the one statement of
the layers; docs/architecture.md shows it, and a test here checks that it agrees.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "infra" / "mtasts"

Layers = tuple[tuple[str, tuple[str, ...]], ...]

#: The layers, lowest first: (name, modules). An entry names a module, or a package and every module in it; a
#: module belongs to its longest entry, so ``mtasts.fleet.rules`` (the ``mta-sts:promotion`` settings, which the
#: config check reads) sits in the config layer while the rest of ``mtasts.fleet`` sits above the plan. A module
#: may import its own layer and any lower one; ``mtasts`` alone is the package's ``__init__``.

LAYERS: Layers = (
    ("names and errors", ("mtasts", "mtasts.names", "mtasts.errors", "mtasts.inert", "mtasts.outfile")),
    ("policy and records", ("mtasts.policy", "mtasts.records")),
    ("config", ("mtasts.config", "mtasts.quotas", "mtasts.fleet.rules", "mtasts.alerts.settings")),
    ("plan", ("mtasts.plan",)),
    (
        "checker, tlsrpt, lifecycle, fleet, resources",
        (
            "mtasts.checker",
            "mtasts.tlsrpt",
            "mtasts.lifecycle",
            "mtasts.fleet",
            "mtasts.resources",
            "mtasts.alerts",
            "mtasts.output",
        ),
    ),
    (
        "cli",
        (
            "mtasts.cli",
            "mtasts.checker.cli",
            "mtasts.checker.options",
            "mtasts.fleet.cli",
            "mtasts.lifecycle.cli",
            "mtasts.tlsrpt.cli",
            "mtasts.alerts.cli",
        ),
    ),
)


def modules(package: Path) -> dict[str, Path]:
    """Every module under ``package`` by dotted name (a package by its own name, for its ``__init__.py``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: Mapping[str, Path]) -> Iterator[tuple[str, int]]:
    """The kit's modules that module ``name`` imports, anywhere in its file, each with its line number.

    ``from a import b`` imports ``a.b`` when that is a module, else ``a``; a name the kit does not have counts as
    its nearest enclosing module. A module's own packages, which Python imports first anyway, are not counted.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                yield target, node.lineno


def layer_of(name: str, layers: Layers = LAYERS) -> int | None:
    """The index in ``layers`` of module ``name``'s longest entry; None when no entry holds it."""
    best: tuple[int, int] | None = None
    for index, (_, entries) in enumerate(layers):
        for entry in entries:
            holds = name == entry or (entry != "mtasts" and name.startswith(entry + "."))
            if holds and (best is None or len(entry) > best[0]):
                best = (len(entry), index)
    return None if best is None else best[1]


def graph(package: Path) -> dict[str, dict[str, int]]:
    """Module → {imported module → first line that imports it}."""
    known = modules(package)
    edges: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        edges[name] = {}
        for target, line in imports(name, path, known):
            edges[name].setdefault(target, line)
    return edges


def upward(edges: Mapping[str, Mapping[str, int]], layers: Layers = LAYERS) -> list[str]:
    """One line per import that reaches a higher layer than its module's."""
    found = []
    for name, targets in sorted(edges.items()):
        own = layer_of(name, layers)
        for target, line in sorted(targets.items()):
            theirs = layer_of(target, layers)
            if own is not None and theirs is not None and theirs > own:
                found.append(
                    f"{name} (layer {layers[own][0]!r}) imports {target} (layer {layers[theirs][0]!r}), line {line}"
                )
    return found


def cycles(edges: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def test_every_module_has_a_layer() -> None:
    """Each module of the kit is in exactly one layer of LAYERS: a new module must be placed before it lands."""
    missing = [name for name in modules(PACKAGE) if layer_of(name) is None]
    assert not missing, f"add these modules to LAYERS in tests/test_layers.py: {missing}"


def test_no_import_points_up() -> None:
    """No module imports a module of a higher layer, not even inside a function or under TYPE_CHECKING."""
    assert upward(graph(PACKAGE)) == []


def test_no_import_cycle() -> None:
    """No group of modules imports each other in a circle, counting imports inside functions."""
    assert cycles(graph(PACKAGE)) == []


def test_the_reader_sees_hidden_imports(tmp_path: Path) -> None:
    """Imports inside functions and under TYPE_CHECKING, relative or absolute, count as edges, upward and circular."""
    package = tmp_path / "mtasts"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from .sub import high\n")
    (package / "sub" / "__init__.py").write_text("from .. import low\n")
    (package / "sub" / "high.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mtasts.low\nfrom mtasts.sub import other\n"
    )
    (package / "sub" / "other.py").write_text("def g():\n    from . import high\n")
    edges = graph(package)
    assert edges["mtasts.low"] == {"mtasts.sub.high": 2}
    assert edges["mtasts.sub.high"] == {"mtasts.low": 3, "mtasts.sub.other": 4}
    layers = (("low", ("mtasts", "mtasts.low")), ("high", ("mtasts.sub",)))
    assert upward(edges, layers) == ["mtasts.low (layer 'low') imports mtasts.sub.high (layer 'high'), line 2"]
    assert cycles(edges) == [["mtasts.low", "mtasts.sub.high", "mtasts.sub.other"]]


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("mtasts", "names and errors"),
        ("mtasts.fleet.rules", "config"),
        ("mtasts.fleet.status", "checker, tlsrpt, lifecycle, fleet, resources"),
        ("mtasts.checker.cli", "cli"),
        ("mtasts.nothing", None),
    ],
)
def test_a_module_belongs_to_its_longest_entry(module: str, layer: str | None) -> None:
    """The most specific entry wins, and the root package entry holds the package's __init__ only."""
    index = layer_of(module)
    assert (None if index is None else LAYERS[index][0]) == layer


def _documented_layers(text: str) -> list[tuple[str, set[str]]]:
    rows = [line.split("|")[1:-1] for line in text.splitlines() if re.match(r"\| \d+\. ", line)]
    return [
        (name.strip().split(". ", 1)[1], set(re.findall(r"`(mtasts[\w.]*)`", entries))) for name, entries, _ in rows
    ]


def test_the_architecture_page_shows_the_layers() -> None:
    """docs/architecture.md lists the layers of LAYERS in order, each with exactly its entries that exist."""
    known = modules(PACKAGE)
    expected = [(name, {e for e in entries if e in known}) for name, entries in LAYERS]
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert _documented_layers(text) == expected, "update the layer table in docs/architecture.md"


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module of the kit or something in one (``mtasts.plan.stack_needs``)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def test_the_architecture_page_names_only_what_exists() -> None:
    """Every module, function or class the page names in code spans exists under that name."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = "|".join(sorted({name.split(".")[1] for name in modules(PACKAGE) if "." in name}))
    named = set(re.findall(rf"`((?:mtasts\.)?(?:{packages})(?:\.\w+)*)`", text))
    missing = [n for n in sorted(named) if not _resolves(n if n.startswith("mtasts") else f"mtasts.{n}")]
    assert named
    assert missing == []


def test_the_readme_module_map_covers_every_top_level_module() -> None:
    """The README's module map names each module and package of infra/mtasts, and each file it names exists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    table = next(block for block in section.split("\n\n") if block.startswith("|"))
    named = set(re.findall(r"`([\w/]+(?:\.py|/))`", table))
    skip = ("__init__.py", "__pycache__")
    top = {p.name + ("/" if p.is_dir() else "") for p in PACKAGE.iterdir() if p.name not in skip}
    assert top - named == set(), "add these to the README's module map"
    files = {p.name for p in PACKAGE.rglob("*.py")}
    assert {n for n in named if n.endswith(".py")} - files == set()


#: "About 400 lines" (GUIDE): past this, a module says in its docstring why it stays one module.
MAX_LINES = 450


def test_a_long_module_says_why_it_is_one_module() -> None:
    """Every module over MAX_LINES lines has a "Why over 400 lines:" paragraph in its docstring."""
    silent = []
    for name, path in modules(PACKAGE).items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_LINES and "Why over 400 lines:" not in (
            ast.get_docstring(ast.parse(text)) or ""
        ):
            silent.append(name)
    assert silent == [], "split these modules, or say in their docstrings why not"
