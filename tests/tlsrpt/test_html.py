"""The HTML page: self-contained, and its charts really render in a headless browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from reports import as_json, report

from browser import load
from mtasts.cli import main
from mtasts.tlsrpt.html import RENDERED_MARKER

CHARTS = ("sessions-over-time", "failures-by-result-type", "failures-by-organization", "failures-by-mx")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    (folder / "a.json").write_bytes(as_json(report(report_id="a", day="2026-11-01")))
    (folder / "b.json").write_bytes(as_json(report(org="Other", report_id="b", day="2026-11-02")))
    (folder / "c.json").write_bytes(as_json(report(org="Other", report_id="c", day="2026-11-03", failures=[])))
    (folder / "d.json").write_bytes(as_json(report(report_id="d", day="2026-11-04", domain="x.example")))
    (folder / "d-again.json").write_bytes(as_json(report(report_id="d", day="2026-11-04", domain="x.example")))
    out = folder / "summary.html"
    result = CliRunner().invoke(main, ["reports", "summarize", str(folder), "--html", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    return out


def test_page_requests_nothing_from_other_hosts(page: Path) -> None:
    """No script, link, image or frame points at another host: plotly.js's basic bundle is inlined."""
    text = page.read_text()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", text)
    assert "plotly.js (basic - minified)" in text
    for chart in CHARTS:
        assert f'id="{chart}"' in text


def test_page_for_4_reports_is_under_1_5_mb(page: Path) -> None:
    """The page of 4 reports stays under 1.5 MB (it was 4.85 MB with plotly's full bundle and its map modules)."""
    assert page.stat().st_size < 1_500_000


def test_page_carries_the_duplicate_count_and_a_section_per_domain(page: Path) -> None:
    """The header counts duplicates as the terminal does; each domain has its section with a per-day sparkline."""
    text = page.read_text()
    assert "4 report(s) counted, 0 rejected, 1 duplicate(s) counted once." in text
    for domain in ("company-y.example", "x.example"):
        start = text.index(f'<section class="domain" id="domain-{domain}">')
        section = text[start : text.index("</section>", start)]
        assert '<svg class="spark"' in section
        assert "Sessions per UTC day" in section


def test_page_has_the_tables_behind_the_charts(page: Path) -> None:
    """Per domain, per UTC day, per result type, per organization and per MX, with success rates."""
    text = page.read_text()
    for title in ("per policy domain", "per UTC day", "by result type", "by sending organization", "by receiving MX"):
        assert title in text
    assert '<td>company-y.example</td><td class="n">15978</td><td class="n fail">606</td><td>96.35%</td>' in text
    assert '<td>2026-11-02</td><td class="n">5326</td><td class="n fail">303</td><td>94.62%</td>' in text
    assert '<td>mx2.mail.company-y.example</td><td>-</td><td class="n fail">406</td>' in text
    assert '<td>Other</td><td class="n">10652</td><td class="n fail">303</td>' in text


def test_charts_render_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    """Debian's chromium loads the page offline, every chart draws its SVG, and the page logs nothing at all."""
    dom, console = load(page, tmp_path / "profile")
    assert f'data-state="{RENDERED_MARKER}"' in dom
    assert re.search(r'data-render-ms="\d+"', dom)  # the page measures its own render time
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


def test_no_empty_all_mx_bar() -> None:
    """Rows without failures (the successful-only "(all MX)" row) get no bar; a chart with none says so."""
    from mtasts.tlsrpt.aggregate import ALL_MX
    from mtasts.tlsrpt.charts import bars

    (bar,) = bars("Failures by receiving MX", {ALL_MX: 0, "mx1.example": 3}).data
    assert list(bar.y) == ["mx1.example"]
    empty = bars("Failures by receiving MX", {ALL_MX: 0})
    assert list(empty.data[0].y) == []
    assert empty.layout.annotations[0].text == "no failed sessions"


def test_per_day_chart_over_years_is_per_week_or_month() -> None:
    """Up to MAX_PERIODS days the chart is per day; longer spans are per ISO week, then per month, with no gaps."""
    from mtasts.tlsrpt.charts import MAX_PERIODS, per_period

    assert per_period({"2026-01-01": (1, 0), "2026-01-03": (2, 1)}) == (
        "day",
        {"2026-01-01": [1, 0], "2026-01-02": [0, 0], "2026-01-03": [2, 1]},
    )
    unit, weeks = per_period({"2026-01-01": (1, 0), "2026-06-30": (2, 1)})
    assert unit == "week"
    assert next(iter(weeks)) == "2025-12-29"  # the Monday of 2026-01-01's week
    assert len(weeks) <= MAX_PERIODS
    unit, months = per_period({"2023-01-15": (1, 0), "2023-02-01": (5, 5), "2026-12-31": (2, 1)})
    assert unit == "month"
    assert len(months) == 48
    assert (months["2023-01"], months["2023-02"], months["2026-12"], months["2024-06"]) == (
        [1, 0],
        [5, 5],
        [2, 1],
        [0, 0],
    )


def test_sparkline_is_inline_svg_with_both_counts() -> None:
    """A domain's sparkline is an SVG with a column per day, failures in red, and a title saying what it shows."""
    from mtasts.tlsrpt.charts import FAILURE_COLOR, sparkline

    svg = sparkline({"2026-11-01": (10, 0), "2026-11-02": (5, 5)})
    assert svg.startswith('<svg class="spark"')
    assert svg.count("<rect") == 3
    assert f'fill="{FAILURE_COLOR}"' in svg
    assert "<title>sessions per day, 2026-11-01 to 2026-11-02" in svg
    assert sparkline({}) == ""


def test_fleet_page_from_the_building_blocks(tmp_path: Path) -> None:
    """page() and domain_section() compose another page (as a fleet page would) that renders in chromium."""
    from mtasts.tlsrpt.aggregate import Summary
    from mtasts.tlsrpt.html import domain_section, page

    summary = Summary()
    summary.read("a", as_json(report(report_id="a", domain="a.example")))
    summary.read("b", as_json(report(report_id="b", domain="b.example", failures=[])))
    fleet = tmp_path / "fleet.html"
    fleet.write_text(page("Fleet", "".join(domain_section(d) for d in summary.domains.values())), encoding="utf-8")
    dom, console = load(fleet, tmp_path / "profile")
    assert f'data-state="{RENDERED_MARKER}"' in dom
    assert dom.count('<section class="domain"') == 2
    assert console == []


def test_report_text_cannot_break_out_of_the_script() -> None:
    """An organization named like a closing script tag stays data: a chart label escapes it for plotly, JSON "<"."""
    from mtasts.tlsrpt.aggregate import Summary
    from mtasts.tlsrpt.html import render_html

    summary = Summary()
    summary.read("a", as_json(report(org="</script><script>alert(1)</script>")))
    text = render_html(summary)
    assert "<script>alert(1)" not in text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in text  # the bar's label, shown literally by plotly


def test_long_bar_charts_keep_the_largest_and_sum_the_rest() -> None:
    """Past MAX_BARS rows a chart shows the largest ones, largest on top, and one "others" bar with the rest."""
    from mtasts.tlsrpt.charts import MAX_BARS, bars

    rows = {f"mx{i:02d}.example": i for i in range(MAX_BARS + 5)}
    (bar,) = bars("Failures by receiving MX", rows).data
    assert len(bar.y) == MAX_BARS
    assert bar.y[-1] == f"mx{MAX_BARS + 4:02d}.example"  # plotly draws the last category on top
    assert (bar.y[0], bar.x[0]) == ("5 others", sum(range(6)))  # mx00's zero is no bar
    assert sum(bar.x) == sum(rows.values())
