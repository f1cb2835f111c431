"""Both pages (`reports summarize --html`, `status --html`) keep the hostile corpus as text in headless chromium.

A script payload of the corpus marks the page (``data-owned``) when it runs; a URL the page requested would fail
on this closed machine and log a console error. So: no mark, no console line, and every value shown as text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner

from browser import load
from hostile_corpus import CORPUS, REPORT_SAFE
from mtasts.cli import main

sys.path.insert(0, str(Path(__file__).parent / "tlsrpt"))
from reports import as_json, report


def _assert_inert_page(page: Path, tmp_path: Path) -> str:
    html = page.read_text(encoding="utf-8")
    assert html.isascii() or "\ud800" not in html
    dom, console = load(page, tmp_path / "profile")
    assert "data-owned" not in dom
    assert console == []
    return dom


def test_summarize_page_keeps_hostile_reports_as_text(tmp_path: Path) -> None:
    """Organization names, MX names and failure types from reports reach the page's tables and charts as text."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for n, case in enumerate(REPORT_SAFE):
        failures = [("certificate-expired", case.value, 3), (case.value, "mx.example", 2)]
        (folder / f"r{n}.json").write_bytes(as_json(report(org=case.value, report_id=str(n), failures=failures)))
    page = tmp_path / "page.html"
    result = CliRunner().invoke(main, ["reports", "summarize", "--jobs", "1", "--html", str(page), str(folder)])
    assert result.exit_code == 0, result.output
    dom = _assert_inert_page(page, tmp_path)
    assert "&lt;svg onload=" in dom  # the value is on the page, as text
    assert 'data-state="mtasts-charts-rendered"' in dom  # and hostile labels did not stop the charts drawing


def test_status_page_keeps_hostile_evidence_as_text(tmp_path: Path) -> None:
    """Reasons, warnings, MX names and failures from strangers (lone surrogates too) stay text on the fleet page."""
    from mtasts.fleet.page import write_page
    from test_markdown_inert import _hostile_fleet

    fleet, _ = _hostile_fleet()
    page = tmp_path / "fleet.html"
    write_page(fleet, page)  # type: ignore[arg-type]
    dom = _assert_inert_page(page, tmp_path)
    assert "&lt;svg onload=" in dom


def test_json_outputs_are_valid_for_lone_surrogates(tmp_path: Path) -> None:
    """`status --json`-shaped and `summarize --json` documents with lone surrogates are valid ASCII JSON."""
    from mtasts.inert import json_text
    from test_markdown_inert import _hostile_fleet

    fleet, _ = _hostile_fleet()
    fleet.domains[0].reasons.append("\ud800")  # type: ignore[attr-defined]
    text = json_text(fleet.to_dict())  # type: ignore[attr-defined]
    assert text.isascii()
    assert "\ud800" in json.loads(text)["domains"][0]["reasons"]
    assert {c.value for c in CORPUS} <= set(json.loads(text)["domains"][0]["reasons"])
