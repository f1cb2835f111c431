"""The fleet page (`mtasts status --html`): self-contained, escaped, and drawn by a real headless browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fleetworld import AS_OF, DOMAINS, network_args
from loopback import Loopback

from browser import load
from mtasts.cli import main
from mtasts.fleet.page import RENDERED_MARKER, sparkline


@pytest.fixture(scope="module")
def page(world: Loopback, report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("page")
    stack = folder / "Pulumi.fleet.yaml"
    from fleetworld import STACK

    stack.write_text(STACK)
    hostile = folder / "hostile.json"
    document = json.loads(next(report_dir.glob("certexp.example-*.json")).read_text())
    document["organization-name"] = "<script>alert(1)</script>"
    document["report-id"] = "hostile"
    hostile.write_text(json.dumps(document))
    out = folder / "fleet.html"
    result = CliRunner().invoke(
        main,
        ["status", "--config", str(stack), "--reports", str(report_dir), "--reports", str(hostile),
         "--as-of", str(AS_OF), "--html", str(out), *network_args(world)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # newmx.example is action-needed
    return out


def test_page_is_self_contained(page: Path) -> None:
    """No script, stylesheet, image or frame from anywhere: everything is inline."""
    text = page.read_text()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=""", text)
    assert "http://" not in text
    assert "https://" not in text


def test_overview_has_one_row_per_domain_with_verdict_and_sparkline(page: Path) -> None:
    """The overview lists every domain once with its verdict, mode, max_age and a per-day failure sparkline."""
    text = page.read_text()
    overview = text[text.index('<table id="overview">') : text.index("</table>")]
    assert overview.count("<tr><td>") == len(DOMAINS)
    assert overview.count('class="spark"') == len(DOMAINS)
    row = re.search(r'<tr><td><a href="#d-certexp-example">certexp.example</a></td>.*?</tr>', overview)
    assert row is not None
    assert '<span class="v hold">hold</span>' in row.group()
    assert row.group().count('fill="#c0392b"') == 14  # one red bar per day with certificate-expired failures


def test_domain_sections_have_the_four_charts(page: Path) -> None:
    """Each domain has a section with charts per day, result type, sending organization and receiving MX."""
    text = page.read_text()
    section = text[text.index('<details id="d-certexp-example">') :]
    section = section[: section.index("</details>")]
    for title in (
        "Sessions per day",
        "Failed sessions by result type",
        "Failed sessions by sending organization",
        "Failed sessions by receiving MX",
    ):
        assert title in section
    assert ">certificate-expired</text>" in section
    assert ">mx1.certexp.example</text>" in section


def test_report_text_is_escaped(page: Path) -> None:
    """An organization name from a report is HTML-escaped, never markup."""
    text = page.read_text()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_page_renders_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    """Debian's chromium loads the page offline, its script runs, every SVG is in the DOM, nothing is logged."""
    dom, console = load(page, tmp_path / "profile")
    assert f'data-state="{RENDERED_MARKER}"' in dom
    svgs = re.search(r'data-svgs="(\d+)"', dom)
    assert svgs is not None
    assert int(svgs.group(1)) == page.read_text().count("<svg ")
    assert int(svgs.group(1)) >= 2 * len(DOMAINS)  # a sparkline and a per-day chart per domain, at least
    assert console == []


def test_console_errors_would_be_seen(tmp_path: Path) -> None:
    """The console check is live: an error the page logs shows up in what load() collects."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!doctype html><script>console.error('logged');</script>")
    _, console = load(broken, tmp_path / "profile")
    assert any('"logged"' in line for line in console)


def test_sparkline_scales_to_the_largest_day() -> None:
    """The tallest bar is the day with most failures; days without failures draw nothing."""
    svg = sparkline([0, 5, 10], [0, 0, 3])
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"', svg)[1:]]
    assert heights == [10.0, 20.0]
    assert svg.count("<rect") == 2
    assert 'fill="#c0392b"' in svg  # the day with enforce failures
