"""Headless chromium for the page tests (`summarize --html`, `status --html`); `bash scripts/test` installs it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def load(page: Path, profile: Path, fragment: str = "") -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran in headless chromium, and every console message it logged.

    ``fragment``: opened as ``page#fragment``.
    """
    assert CHROMIUM, "chromium is not installed; bash scripts/test installs Debian's chromium package"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",  # this machine's closed network refuses chromium's own connections
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",  # console messages come out as `INFO:CONSOLE:<line>] "<text>", source: ...`
        "--v=0",
        "--virtual-time-budget=5000",
    ]
    result = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri() + (f"#{fragment}" if fragment else "")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
