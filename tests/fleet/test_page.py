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
    assert overview.count("<tr data-domain=") == len(DOMAINS)
    assert overview.count('class="spark"') == len(DOMAINS)
    row = re.search(
        r'<tr data-domain="certexp.example" data-verdict="hold"><td><a href="#d-certexp-example">.*?</tr>', overview
    )
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


@pytest.fixture(scope="module")
def big_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page of a synthetic fleet of 10,000 domains (tests/fleet/bigfleet.py)."""
    from bigfleet import big_fleet

    from mtasts.fleet.page import write_page

    path = tmp_path_factory.mktemp("big") / "fleet.html"
    write_page(big_fleet(10_000), path)
    return path


def test_ten_thousand_domains_fit_in_3_mb_attention_first(big_page: Path) -> None:
    """At 10,000 domains the page is under 3 MB: the 100 most urgent drawn, the rest as data, markup kept text."""
    from bigfleet import HOSTILE

    from mtasts.fleet.page import SERVER_DOMAINS

    text = big_page.read_text()
    assert len(text.encode()) <= 3_000_000
    overview = text[text.index('<table id="overview">') : text.index("</table>")]
    verdicts = re.findall(r'<tr data-domain="[^"]+" data-verdict="([a-z-]+)"', overview)
    assert len(verdicts) == SERVER_DOMAINS
    assert verdicts[:100] == ["action-needed"] * 100  # 1 in 100 of 10,000: all drawn, first
    data = json.loads(
        text[text.index('id="fleet-data">') + 16 : text.index("</script>", text.index('id="fleet-data"'))]
    )
    assert len(data["rest"]) == 10_000 - SERVER_DOMAINS
    assert [data["verdicts"][r[1]] for r in data["rest"][:900]] == ["hold"] * 900  # attention first
    assert HOSTILE not in text
    assert HOSTILE in data["strings"]  # as data, for textContent
    assert "The other 9900 domain(s)" in text


def test_ten_thousand_domains_are_listed_searched_and_opened_in_chromium(big_page: Path, tmp_path: Path) -> None:
    """Chromium runs the list script: 200 rows listed, a #domain= link filters and opens one domain's detail."""
    dom, console = load(big_page, tmp_path / "profile")
    assert console == []
    assert f'data-state="{RENDERED_MARKER}"' in dom
    assert 'data-listed="200"' in dom
    assert "more match: narrow the search or the filter." in dom
    assert "<img" not in dom  # the hostile reason was listed as text
    dom, console = load(big_page, tmp_path / "profile2", "domain=d00042.example")
    assert console == []
    assert 'data-listed="1"' in dom
    detail = dom[dom.index('<tr class="detail">') :]
    detail = detail[: detail.index("</tr>")]
    assert "&lt;img src=x onerror=alert(1)&gt;" in detail
    assert "30 day(s) with reports, 15000 successful and 0 failed session(s)." in detail
