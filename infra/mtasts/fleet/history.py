"""When did each domain reach its current step? Read from the stack file's git history.

A ``max_age`` step needs ``clean_days`` days *at the current step* (docs/fleet.md): days with reports from
before the last change of ``mode`` or ``max_age`` do not count, or a daily promote run would climb the whole
ladder on consecutive days. The stack file is the source of truth and git has its history, so the step started
on the day of the newest commit that changed the domain's ``mode``, ``max_age`` or ``template`` (a change not yet
committed starts it today). Only commits inside the report window are read (``git log --since``), each version
once for all domains, parsed with the safe YAML loader.

Outside a git repository (or without git) the start is unknown and the whole window counts; ``mtasts status``
says so in the domain's reasons.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["step_starts"]

_STEP_KEYS = ("mode", "max_age", "template", "retire")
#: libyaml's safe loader when PyYAML has it (about 10x faster on a 1,000-domain stack file), else the Python one.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _git(folder: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603  # fixed git arguments, no shell
            ["git", "-C", str(folder), *args],  # noqa: S607  # git from PATH, as `mtasts diff` runs it
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None


def _steps(text: str | None, keys: Iterable[str]) -> dict[str, Any]:
    """domain key → (mode, max_age, template, retire) as written, for each of ``keys``; {} if unreadable."""
    try:
        data = yaml.load(text, Loader=_LOADER) if text else None  # noqa: S506  # a safe loader
    except yaml.YAMLError:
        return {}
    config = data.get("config") if isinstance(data, dict) else None
    domains = config.get("mta-sts:domains") if isinstance(config, dict) else None
    if not isinstance(domains, dict):
        return {}
    out: dict[str, Any] = {}
    for key in keys:
        settings = domains.get(key)
        if key in domains:
            out[key] = tuple(settings.get(k) for k in _STEP_KEYS) if isinstance(settings, dict) else None
    return out


def step_starts(path: Path, keys: Iterable[str], since: dt.date, today: dt.date) -> Mapping[str, dt.date] | None:
    """For each domain key of the stack file at ``path``, the UTC day its current step started.

    A key whose step did not change since ``since`` maps to ``since`` (the window's start); ``today`` (the window's
    last day, ``--as-of``) is used for changes not committed yet and for steps committed after it, so that no day
    after the window is ever named. ``None`` when ``path`` is not in a git repository.
    """
    path = path.resolve()
    keys = list(keys)
    folder = path.parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    relative = path.relative_to(Path(top.strip()).resolve()).as_posix()
    current = _steps(path.read_text(encoding="utf-8"), keys)
    starts: dict[str, dt.date] = {}
    head = _steps(_git(folder, "show", f"HEAD:{relative}"), keys)
    for key in keys:
        if key not in head or head[key] != current.get(key):
            starts[key] = today  # changed in the working tree: the step starts now
    log = _git(folder, "log", f"--since={since.isoformat()}T00:00:00Z", "--format=%H %cI", "--", relative) or ""
    commits = [line.split(" ", 1) for line in log.splitlines() if " " in line]
    newer = head
    for sha, when in commits:  # newest first
        day = dt.datetime.fromisoformat(when).astimezone(dt.UTC).date()
        older = _steps(_git(folder, "show", f"{sha}^:{relative}"), keys)
        for key in keys:
            if key not in starts and (key not in older or older[key] != newer.get(key)):
                starts[key] = min(day, today)  # committed after an --as-of window: no clean day in it
        newer = older
        if len(starts) == len(keys):
            break
    return {key: starts.get(key, since) for key in keys}
