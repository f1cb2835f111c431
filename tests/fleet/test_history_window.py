"""A step committed after the end of the --as-of window is never named by its later day (issue 17)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from mtasts.fleet.history import step_starts

BEFORE = "config:\n  mta-sts:domains:\n    example.com:\n      mode: enforce\n      max_age: 3600\n"
AFTER = BEFORE.replace("3600", "86400")


def _commit(folder: Path, text: str, when: str) -> None:
    (folder / "Pulumi.t.yaml").write_text(text)
    env = {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when, "PATH": "/usr/bin:/bin"}
    for args in (["add", "-A"], ["-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "c"]):
        subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, env=env)


def test_a_step_committed_after_the_window_starts_at_its_last_day(tmp_path: Path) -> None:
    """With --as-of 2026-11-19 and the step committed on 2026-12-01, the step's day is 2026-11-19, not later."""
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q", "-b", "main"], check=True)
    _commit(tmp_path, BEFORE, "2026-10-01T12:00:00Z")
    _commit(tmp_path, AFTER, "2026-12-01T09:00:00Z")
    last = dt.date(2026, 11, 19)
    starts = step_starts(tmp_path / "Pulumi.t.yaml", ["example.com"], dt.date(2026, 10, 21), last)
    assert starts == {"example.com": last}


def test_a_step_inside_the_window_keeps_its_day(tmp_path: Path) -> None:
    """A step committed inside the window is dated by its commit."""
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q", "-b", "main"], check=True)
    _commit(tmp_path, BEFORE, "2026-10-01T12:00:00Z")
    _commit(tmp_path, AFTER, "2026-11-15T09:00:00Z")
    starts = step_starts(tmp_path / "Pulumi.t.yaml", ["example.com"], dt.date(2026, 10, 21), dt.date(2026, 11, 19))
    assert starts == {"example.com": dt.date(2026, 11, 15)}
