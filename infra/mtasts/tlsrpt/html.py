"""One self-contained HTML page of a TLS-RPT summary: charts, per-domain sections with sparklines, tables.

The charts are drawn by plotly.js's "basic" partial bundle (bar and scatter only, 1.2 MB, vendored under
``assets/`` and inlined: the page requests nothing from any host); plotly (Python) builds and validates the
figures. Per-domain sparklines are inline SVG drawn here, so a page with thousands of domains stays light and
renders without scripts.

The page is assembled from building blocks a fleet page reuses: :func:`domain_section` (one domain: totals, a
per-day sparkline, its tables), the charts of :mod:`.charts` and :func:`page` (the document with the chart
library inlined once). :func:`render_html` is the summary page built from them.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from ..outfile import write_output
from .aggregate import ALL_MX, DomainSummary, Summary, detail_cells
from .aggregate import success_rate as _rate
from .charts import bars, chart_block, over_time, sparkline
from .report import DEVIATIONS

__all__ = ["RENDERED_MARKER", "Failed", "domain_section", "page", "render_html", "write_html"]

#: Written by the page's script once every chart has rendered (with the time it took); browser tests wait for it.
RENDERED_MARKER = "mtasts-charts-rendered"
_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222} table{border-collapse:collapse;margin-bottom:1em}"
    " td,th{border:1px solid #ccc;padding:4px 8px} td.n{text-align:right} section.domain{margin:1.5em 0}"
    " .spark{vertical-align:middle;margin-left:1em} .chart{min-height:200px}"
    " td.fail{color:#d62728;font-weight:bold}"
)


@functools.cache
def _plotly_js() -> str:
    return resources.files(__package__).joinpath("assets/plotly-basic.min.js").read_text(encoding="utf-8")


class Failed(int):
    """A failed-session count in a table: red and bold when not zero, so a small count is seen beside thousands."""

    __slots__ = ()


def _cell(cell: object) -> str:
    if isinstance(cell, Failed) and cell:
        return f'<td class="n fail">{int(cell)}</td>'
    if isinstance(cell, int):
        return f'<td class="n">{int(cell)}</td>'
    return f"<td>{html.escape(str(cell))}</td>"


def _table(title: str, headers: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> str:
    """A titled table; no rows: nothing (an empty table tells the reader nothing)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in rows)
    if not body:
        return ""
    return f"<h3>{html.escape(title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sessions(title: str, label: str, counts: Mapping[str, Mapping[str, int]]) -> str:
    """A table of successful and failed sessions and the success rate per key (day, policy type, organization)."""
    rows = [
        (key, c["successful"], Failed(c["failed"]), _rate(c["successful"], c["failed"]))
        for key, c in sorted(counts.items())
    ]
    return _table(title, (label, "Successful", "Failed", "Success rate"), rows)


def _pairs(by_day: dict[str, dict[str, int]]) -> dict[str, tuple[int, int]]:
    return {day: (c["successful"], c["failed"]) for day, c in by_day.items()}


def domain_section(d: DomainSummary, level: int = 2) -> str:
    """One policy domain: heading with totals and a per-day sparkline, then its tables (per day, result, sender, MX)."""
    rows = [
        _sessions("Sessions per UTC day", "Day", d.by_day),
        _sessions("Sessions by policy type", "Policy type", d.by_policy_type),
        _table(
            "Failures by result type",
            ("Result type", "Failed"),
            [(kind, Failed(n)) for kind, n in sorted(d.by_result_type.items())],
        ),
        _table(
            "Failure details (where each failing path is, and who reported it)",
            (
                "Result type",
                "Policy type",
                "Receiving MX",
                "Sending MTA IP",
                "Receiving IP",
                "Reason code",
                "Failed",
                "Reported by",
            ),
            [(*cells[:6], Failed(cells[6]), cells[7]) for cells in map(detail_cells, d.failure_details)],
        ),
        _table(
            "Failures per UTC day by result type",
            ("Day", "Result type", "Failed"),
            [
                (day, kind, Failed(n))
                for day, counts in sorted(d.failures_by_day.items())
                for kind, n in sorted(counts.items())
                if n
            ],
        ),
        _sessions("Sessions by sending organization", "Organization", d.by_organization),
        _table(
            f"Sessions by receiving MX (successful sessions are reported per policy: under {ALL_MX})",
            ("MX", "Successful", "Failed"),
            [(mx, c["successful"] if mx == ALL_MX else "-", Failed(c["failed"])) for mx, c in sorted(d.by_mx.items())],
        ),
    ]
    name = html.escape(d.domain)
    return (
        f'<section class="domain" id="domain-{name}"><h{level}>{name} {sparkline(_pairs(d.by_day))}</h{level}>'
        f"<p>{d.successful} successful, {d.failed} failed sessions, success rate {_rate(d.successful, d.failed)}.</p>"
        + "".join(rows)
        + "</section>"
    )


def page(title: str, body: str) -> str:
    """The document: the chart library once, ``body``, and a marker (with the render time) once charts are drawn."""
    from plotly.io import templates

    template = json.dumps(templates["plotly"].to_plotly_json(), separators=(",", ":")).replace("<", "\\u003c")
    head = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{_plotly_js()}</script>"
        "<script>var mtastsPending = [], mtastsTemplate = " + template + ";"
        "function mtastsChart(id, fig) { fig.layout.template = mtastsTemplate;"
        " mtastsPending.push(Plotly.newPlot(id, fig.data, fig.layout, {displaylogo: false})); }"
        "</script></head><body>"
    )
    done = (
        "<script>Promise.all(mtastsPending).then(function () {"
        " document.body.setAttribute('data-render-ms', Math.round(performance.now()));"
        f" document.body.setAttribute('data-state', '{RENDERED_MARKER}'); }});</script>"
    )
    return head + body + done + "</body></html>"


def _totals(summary: Summary) -> tuple[dict[str, tuple[int, int]], dict[str, int], dict[str, int], dict[str, int]]:
    by_day: dict[str, list[int]] = {}
    by_result: dict[str, int] = {}
    by_org: dict[str, int] = {}
    by_mx: dict[str, int] = {}
    for d in summary.domains.values():
        for day, counts in d.by_day.items():
            pair = by_day.setdefault(day, [0, 0])
            pair[0] += counts["successful"]
            pair[1] += counts["failed"]
        for key, count in d.by_result_type.items():
            by_result[key] = by_result.get(key, 0) + count
        for key, counts in d.by_organization.items():
            by_org[key] = by_org.get(key, 0) + counts["failed"]
        for key, counts in d.by_mx.items():
            by_mx[key] = by_mx.get(key, 0) + counts["failed"]
    return {k: (v[0], v[1]) for k, v in by_day.items()}, by_result, by_org, by_mx


def render_html(summary: Summary) -> str:
    """The summary page: counts, four charts over all domains, a section per domain, and the rejected sources."""
    by_day, by_result, by_org, by_mx = _totals(summary)
    charts = [chart_block("sessions-over-time", over_time(by_day, "all policy domains"))]
    if any(by_result.values()):  # no failures: no empty bar charts, one sentence says so
        charts += [
            chart_block("failures-by-result-type", bars("Failures by result type", by_result)),
            chart_block("failures-by-organization", bars("Failures by sending organization", by_org)),
            chart_block("failures-by-mx", bars("Failures by receiving MX", by_mx)),
        ]
    elif summary.domains:
        charts.append("<p>No failed sessions were reported.</p>")
    domains = [summary.domains[name] for name in sorted(summary.domains)]
    overview = _table(
        "Sessions per policy domain",
        ("Domain", "Successful", "Failed", "Success rate"),
        [(d.domain, d.successful, Failed(d.failed), _rate(d.successful, d.failed)) for d in domains],
    )
    tolerated = _table(
        "Tolerated deviations (reports accepted and counted)",
        ("Deviation", "Reports", "What"),
        [(key, n, DEVIATIONS.get(key, "")) for key, n in sorted(summary.tolerated.items())],
    )
    rejected = "".join(f"<li>{html.escape(r['source'])}: {html.escape(r['reason'])}</li>" for r in summary.rejected)
    counts = (
        f"<p>{summary.reports} report(s) counted, {len(summary.rejected)} rejected, "
        f"{summary.duplicates} duplicate(s) counted once.</p>"
    )
    if summary.conflicts:
        listed = ", ".join(f"{html.escape(c['organization'])} {html.escape(c['report_id'])}" for c in summary.conflicts)
        counts += (
            f'<p class="conflicts">{len(summary.conflicts)} duplicate(s) differ from the copy counted (same '
            f"organization and report-id, other counts), a forged or corrupted copy: {listed}.</p>"
        )
    body = (
        "<h1>TLS-RPT summary</h1>"
        + counts
        + "".join(charts)
        + f"<h2>Tables</h2>{overview}{tolerated}"
        + "".join(domain_section(d, level=3) for d in domains)
        + (f"<h2>Rejected</h2><ul>{rejected}</ul>" if rejected else "")
    )
    return page("TLS-RPT summary", body)


def write_html(summary: Summary, path: Path) -> None:
    """Write :func:`render_html` to ``path``: rendered and encoded first, so a failure never leaves a partial file.

    A lone surrogate (no UTF-8 form) is written as its escape text, as the terminal shows it (mtasts.inert).
    """
    write_output(path, render_html(summary).encode("utf-8", "backslashreplace"), "--html")  # mtasts.outfile
