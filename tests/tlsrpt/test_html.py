"""The HTML page: self-contained, and its charts really render in a headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from reports import as_json, report

from mtasts.cli import main
from mtasts.tlsrpt.html import RENDERED_MARKER

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    (folder / "a.json").write_bytes(as_json(report(report_id="a", day="2026-11-01")))
    (folder / "b.json").write_bytes(as_json(report(org="Other", report_id="b", day="2026-11-02")))
    out = folder / "summary.html"
    result = CliRunner().invoke(main, ["reports", "summarize", str(folder), "--html", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    return out


def test_page_requests_nothing_from_other_hosts(page: Path) -> None:
    """No script, link, image or frame points at another host: plotly.js is inlined."""
    text = page.read_text()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", text)
    assert "Plotly.newPlot" in text
    for chart in ("sessions-over-time", "failures-by-result-type", "failures-by-organization", "failures-by-mx"):
        assert f'id="{chart}"' in text
    assert "<td>company-y.example</td>" in text


def test_charts_render_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    """Debian's chromium loads the page offline, every chart draws its SVG, and the page logs no error."""
    assert CHROMIUM, "chromium is not installed; .ci/run installs Debian's chromium package"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ]
    result = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f'data-state="{RENDERED_MARKER}"' in result.stdout
    assert result.stdout.count('class="main-svg"') >= 4
    console_errors = [
        line for line in result.stderr.splitlines() if "CONSOLE" in line and ("Error" in line or "error" in line)
    ]
    assert console_errors == []
