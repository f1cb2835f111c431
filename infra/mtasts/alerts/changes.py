"""Which domains' verdicts changed since the last run, and the state the next run compares with.

Input is the ``mtasts status --json`` document (the stable interface of :mod:`mtasts.fleet`), output a list of
:class:`Change` and the new state. A domain is posted when its verdict changes, or when a certificate enters
its warning days, and only then: the same ``action-needed`` is not posted every day.

A resolver outage proves nothing about a domain (the checks it left without a result did not run): it is
reported as an outage, once, never as drift, and the domain's last known verdict is kept for the next run.

State file (JSON, :data:`STATE_VERSION`)::

    {"version": 1, "stack": "prod", "as_of": "2026-11-20",
     "domains": {"example.com": {"verdict": "ok", "warned": ["mx1.example.com"], "outage": null}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MtastsError, Problem
from ..outfile import write_output

__all__ = ["STATE_VERSION", "Change", "compare", "load_state", "outage_of", "save_state"]

STATE_VERSION = 1
#: Largest state file read (10,000 domains take about 1 MB).
MAX_STATE_BYTES = 16 * 1024 * 1024
#: Reasons kept per change, and characters per reason: a message stays readable and bounded.
MAX_REASONS, MAX_REASON_CHARS = 3, 300
#: Verdicts that are posted for a domain the state does not know yet (a new domain, or the first run).
FIRST_SEEN_POSTED = frozenset({"action-needed"})


@dataclass(frozen=True)
class Change:
    """One domain to post about."""

    domain: str
    previous: str | None
    """The verdict of the last run (``None``: not known)."""
    verdict: str
    """The verdict now; ``unknown`` for an outage."""
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outage: str | None = None
    """Why the domain could not be checked (the resolver's failure); the verdict is then ``unknown``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the generic webhook's ``changes`` members)."""
        return {
            "domain": self.domain,
            "previous": self.previous,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "outage": self.outage,
        }


def _cut(lines: list[Any]) -> list[str]:
    return [str(line)[:MAX_REASON_CHARS] for line in lines[:MAX_REASONS]]


def outage_of(domain: dict[str, Any]) -> str | None:
    """Why a domain of ``status --json`` could not be judged (the resolver failed), or ``None``."""
    live = domain.get("live") or {}
    failures = [str(p).partition(": ")[2] for p in live.get("problems") or [] if str(p).startswith("dns:")]
    if failures:
        return failures[0]
    if domain.get("verdict") == "unknown":
        return "; ".join(str(r) for r in domain.get("reasons") or []) or "the live state is unknown"
    return None


def _warned(domain: dict[str, Any]) -> list[str]:
    live = domain.get("live") or {}
    return sorted({str(c.get("host")) for c in live.get("certificates") or [] if c.get("level") == "warn"})


def compare(document: dict[str, Any], state: dict[str, Any] | None) -> tuple[list[Change], dict[str, Any]]:
    """The changes since ``state`` (``None``: no earlier run), and the state to save for the next run."""
    before: dict[str, Any] = (state or {}).get("domains") or {}
    changes: list[Change] = []
    domains: dict[str, Any] = {}
    for d in document.get("domains") or []:
        name = str(d["domain"])
        old = before.get(name)
        outage = outage_of(d)
        if outage is not None:
            kept = dict(old) if old else {"verdict": None, "warned": []}
            if not (old and old.get("outage")):
                changes.append(Change(name, kept.get("verdict"), "unknown", [], [], outage))
            domains[name] = {**kept, "outage": outage}
            continue
        verdict, warned = str(d["verdict"]), _warned(d)
        domains[name] = {"verdict": verdict, "warned": warned, "outage": None}
        if old is None or old.get("verdict") is None:
            post = verdict in FIRST_SEEN_POSTED or bool(warned)
        else:
            post = old.get("verdict") != verdict or bool(set(warned) - set(old.get("warned") or []))
        if post:
            previous = old.get("verdict") if old else None
            changes.append(Change(name, previous, verdict, _cut(d.get("reasons") or []), _cut(d.get("warnings") or [])))
    new_state = {
        "version": STATE_VERSION,
        "stack": document.get("stack"),
        "as_of": document.get("as_of"),
        "domains": domains,
    }
    return changes, new_state


def load_state(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The state of the last run, or ``None`` when there is none; a warning when one was there but unusable."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise MtastsError(Problem("--notify-state", f"cannot read {path}: {exc.strerror}")) from None
    if len(data) > MAX_STATE_BYTES:
        return None, f"{path} is larger than {MAX_STATE_BYTES} bytes; starting from no state"
    try:
        state = json.loads(data)
    except ValueError:
        return None, f"{path} is not JSON; starting from no state"
    if (
        not isinstance(state, dict)
        or state.get("version") != STATE_VERSION
        or not isinstance(state.get("domains"), dict)
    ):
        return None, f"{path} is not a state file of version {STATE_VERSION}; starting from no state"
    return state, None


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path``, creating its folders, as :func:`mtasts.outfile.write_output` writes outputs.

    Atomic (a reader never sees half a file), never through a symbolic link, and in CI only inside the working
    tree unless ``MTASTS_ALLOW_WRITE`` names it: the workflow restores ``.mtasts/alerts`` from a cache.
    """
    text = json.dumps(state, indent=1, sort_keys=True)
    write_output(path, text.encode("utf-8"), "--notify-state", parents=True)
