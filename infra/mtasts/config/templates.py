"""Policy templates: named presets in ``policy_templates/<name>.yaml``, checked against :class:`TemplateFile`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem, brief
from ..names import HostnameError, normalize_mx_pattern
from ..policy import Mode
from .fields import check_struct
from .reader import load_yaml_file
from .schema import TemplateFile

__all__ = ["Template", "TemplateStore", "default_templates_dir", "mx_patterns"]

_TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")


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
    return Path(__file__).resolve().parents[3] / "policy_templates"


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
            raise ConfigError(Problem("", f"unknown template {brief(name)} (available: {available})"))
        template = _parse_template(name, load_yaml_file(path), str(path))
        self._cache[name] = template
        return template


def _parse_template(name: str, data: Any, source: str) -> Template:
    if not isinstance(data, dict):
        raise ConfigError(Problem(source, "a template must be a mapping of settings"))
    problems: list[Problem] = []
    values = check_struct(TemplateFile, data, lambda key: f"{source}: {key}", problems)
    mx = mx_patterns(values["mx"], f"{source}: mx", problems, []) if "mx" in values else None
    if problems:
        raise ConfigError(problems)
    return Template(name, values.get("description", ""), values.get("mode"), values.get("max_age"), mx)


def mx_patterns(items: list[str], path: str, problems: list[Problem], warnings: list[Problem]) -> tuple[str, ...]:
    """MX patterns in canonical form (RFC 8461 §4.1), each once; a repeated one is a warning, a bad one a problem."""
    patterns: list[str] = []
    for index, item in enumerate(items):
        try:
            pattern = normalize_mx_pattern(item)
        except HostnameError as exc:
            problems.append(Problem(f"{path}[{index}]", str(exc)))
            continue
        if pattern in patterns:
            warnings.append(Problem(f"{path}[{index}]", f"{brief(item)} is listed twice; it is published once"))
            continue
        patterns.append(pattern)
    return tuple(patterns)
