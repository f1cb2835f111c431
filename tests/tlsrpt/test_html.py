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
CHARTS = ("sessions-over-time", "failures-by-result-type", "failures-by-organization", "failures-by-mx")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    (folder / "a.json").write_bytes(as_json(report(report_id="a", day="2026-11-01")))
    (folder / "b.json").write_bytes(as_json(report(org="Other", report_id="b", day="2026-11-02")))
    out = folder / "summary.html"
    result = CliRunner().invoke(main, ["reports", "summarize", str(folder), "--html", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    return out


def load(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran in headless chromium, and every console message it logged."""
    assert CHROMIUM, "chromium is not installed; .ci/run installs Debian's chromium package"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",  # console messages come out as `INFO:CONSOLE:<line>] "<text>", source: ...`
        "--v=0",
        "--virtual-time-budget=5000",
    ]
    result = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def test_page_requests_nothing_from_other_hosts(page: Path) -> None:
    """No script, link, image or frame points at another host: plotly.js is inlined."""
    text = page.read_text()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", text)
    assert "Plotly.newPlot" in text
    for chart in CHARTS:
        assert f'id="{chart}"' in text


def test_page_has_the_tables_behind_the_charts(page: Path) -> None:
    """Per domain, per UTC day, per result type, per organization and per MX, with success rates."""
    text = page.read_text()
    for title in ("per policy domain", "per UTC day", "by result type", "by sending organization", "by receiving MX"):
        assert title in text
    assert "<td>company-y.example</td><td>10652</td><td>606</td><td>94.62%</td>" in text
    assert "<td>company-y.example</td><td>2026-11-02</td><td>5326</td><td>303</td>" in text
    assert "<td>company-y.example</td><td>mx2.mail.company-y.example</td><td>0</td><td>406</td>" in text
    assert "<td>company-y.example</td><td>Other</td><td>5326</td><td>303</td>" in text


def test_charts_render_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    """Debian's chromium loads the page offline, every chart draws its SVG, and the page logs nothing at all."""
    dom, console = load(page, tmp_path / "profile")
    assert f'data-state="{RENDERED_MARKER}"' in dom
    starts = [dom.index(f'<div id="{chart}"') for chart in CHARTS]
    for chart, start, end in zip(CHARTS, starts, [*starts[1:], len(dom)], strict=True):
        assert 'class="main-svg"' in dom[start:end], f"{chart} drew no SVG"
    assert console == []


def test_console_messages_would_be_seen(tmp_path: Path) -> None:
    """The console check above is live: an error a page logs or throws shows up in what load() collects."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!doctype html><script>console.error('logged'); null.x;</script>")
    _, console = load(broken, tmp_path / "profile")
    assert any('"logged"' in line for line in console)
    assert any("Uncaught TypeError" in line for line in console)


def test_long_bar_charts_keep_the_largest_and_sum_the_rest() -> None:
    """Past MAX_BARS rows a chart shows the largest ones, largest on top, and one "others" bar with the rest."""
    from mtasts.tlsrpt.html import MAX_BARS, _bars

    rows = {f"mx{i:02d}.example": i for i in range(MAX_BARS + 5)}
    (bar,) = _bars("Failures by receiving MX", rows).data
    assert len(bar.y) == MAX_BARS
    assert bar.y[-1] == f"mx{MAX_BARS + 4:02d}.example"  # plotly draws the last category on top
    assert (bar.y[0], bar.x[0]) == ("6 others", sum(range(6)))
    assert sum(bar.x) == sum(rows.values())
