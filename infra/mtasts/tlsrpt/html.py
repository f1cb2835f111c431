"""One self-contained HTML page of a TLS-RPT summary: charts, per-domain sections with sparklines, tables.

The charts are drawn by plotly.js's "basic" partial bundle (bar and scatter only, 1.2 MB, vendored under
``assets/`` and inlined: the page requests nothing from any host); plotly (Python) builds and validates the
figures. Per-domain sparklines are inline SVG drawn here, so a page with thousands of domains stays light and
renders without scripts.

The page is assembled from building blocks a fleet page reuses: :func:`domain_section` (one domain: totals, a
per-day sparkline, its tables), :func:`sparkline`, :func:`chart_block` and :func:`page` (the document with the
chart library inlined once). :func:`render_html` is the summary page built from them.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from ..outfile import write_output
from .aggregate import ALL_MX, DomainSummary, Summary
from .aggregate import success_rate as _rate
from .report import DEVIATIONS

__all__ = [
    "MAX_BARS",
    "RENDERED_MARKER",
    "chart_block",
    "domain_section",
    "page",
    "per_period",
    "render_html",
    "sparkline",
    "write_html",
]

#: Written by the page's script once every chart has rendered (with the time it took); browser tests wait for it.
RENDERED_MARKER = "mtasts-charts-rendered"
#: Bars per chart; the rest is summed into one "others" bar (the tables list every row).
MAX_BARS = 25
#: Most bars in the sessions-over-time chart: past this many days, days are summed into weeks, then months.
MAX_PERIODS = 120
SUCCESS_COLOR, FAILURE_COLOR = "#2ca02c", "#d62728"
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


#: Least height, in pixels, of a sparkline's red mark for a period with failures (17 of 27,000 would be 0.02 px).
MIN_FAILURE_PIXELS = 2.0


def _day(day: dt.date) -> str:
    return day.isoformat()


def _month(day: dt.date) -> str:
    return day.isoformat()[:7]


def _week(day: dt.date) -> str:
    monday = day - dt.timedelta(days=day.weekday())
    return monday.isoformat()


def per_period(by_day: Mapping[str, Sequence[int]], max_periods: int = MAX_PERIODS) -> tuple[str, dict[str, list[int]]]:
    """Counts per day, or per ISO week (keyed by its Monday), or per month, whichever gives at most ``max_periods``.

    ``by_day`` maps ``YYYY-MM-DD`` to (successful, failed); the first result names the period ("day", "week",
    "month"). Empty periods inside the span count as zero, so the time axis is even.
    """
    if not by_day:
        return "day", {}
    days = sorted(by_day)
    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    span = (last - first).days + 1
    key: Callable[[dt.date], str]
    if span <= max_periods:
        unit, key = "day", _day
    elif span / 7 <= max_periods:
        unit, key = "week", _week
    else:
        unit, key = "month", _month
    periods: dict[str, list[int]] = {}
    day = first
    while day <= last:  # every period of the span, in order
        periods.setdefault(key(day), [0, 0])
        day += dt.timedelta(days=1 if unit == "day" else 7 if unit == "week" else 28)
    periods.setdefault(key(last), [0, 0])
    for name, (successful, failed) in by_day.items():
        pair = periods.setdefault(key(dt.date.fromisoformat(name)), [0, 0])
        pair[0] += successful
        pair[1] += failed
    return unit, dict(sorted(periods.items()))


def _over_time(by_day: Mapping[str, Sequence[int]], scope: str) -> go.Figure:
    """Successful and failed sessions per period (stacked bars) and the success rate on a second axis."""
    unit, periods = per_period(by_day)
    x = list(periods)
    figure = go.Figure()
    figure.add_bar(name="successful", x=x, y=[p[0] for p in periods.values()], marker_color=SUCCESS_COLOR)
    figure.add_bar(name="failed", x=x, y=[p[1] for p in periods.values()], marker_color=FAILURE_COLOR)
    rates = [100 * ok / (ok + failed) if ok + failed else None for ok, failed in periods.values()]
    figure.add_scatter(name="success rate", x=x, y=rates, mode="lines+markers" if len(x) < 60 else "lines", yaxis="y2")
    title = {"day": "UTC day", "week": "UTC week (from Monday)", "month": "UTC month"}[unit]
    figure.update_layout(
        barmode="stack",
        bargap=0.1,
        title=f"Sessions per {title}, {_label(scope)}",
        height=460,
        # ISO labels on a category axis: plotly thins them when crowded; MAX_PERIODS bounds the bars
        xaxis={"title": unit, "type": "category", "automargin": True, "nticks": 24},
        yaxis={"title": "sessions", "rangemode": "tozero"},
        yaxis2={"title": "success rate (%)", "overlaying": "y", "side": "right", "range": [0, 100.5], "dtick": 20},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def _label(text: str) -> str:
    """A label from a report as plotly text, shown literally.

    Plotly renders ``<a href>``, ``<b>`` and entities in labels, titles and hover text (its "pseudo-HTML"), so
    ``&``, ``<`` and ``>`` are written as entities.
    """
    return html.escape(text, quote=False)


def _bars(title: str, rows: dict[str, int]) -> go.Figure:
    """Horizontal bars, largest on top, at most :data:`MAX_BARS` (plus "others"), zero rows left out."""
    ranked = sorted(((k, v) for k, v in rows.items() if v), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > MAX_BARS:
        rest = ranked[MAX_BARS - 1 :]
        ranked = [*ranked[: MAX_BARS - 1], (f"{len(rest)} others", sum(count for _, count in rest))]
    ranked.reverse()  # plotly draws the first category at the bottom
    figure = go.Figure(
        go.Bar(x=[c for _, c in ranked], y=[_label(k) for k, _ in ranked], orientation="h", marker_color=FAILURE_COLOR)
    )
    figure.update_layout(title=title, xaxis_title="failed sessions", height=160 + 24 * max(len(ranked), 3))
    figure.update_yaxes(automargin=True, type="category")
    if not ranked:
        figure.add_annotation(text="no failed sessions", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return figure


def chart_block(div_id: str, figure: go.Figure) -> str:
    """A chart: its container and the call that draws it (needs :func:`page`'s library)."""
    spec = figure.to_plotly_json()
    layout = dict(spec.get("layout", {}))
    layout.pop("template", None)  # one template for the page, set by page()
    data = json.dumps({"data": spec["data"], "layout": layout}, default=_jsonable, separators=(",", ":"))
    data = data.replace("<", "\\u003c")  # no text from a report can end the script element (or open a comment)
    return (
        f'<div id="{html.escape(div_id)}" class="chart"></div>'
        f"<script>mtastsChart({json.dumps(div_id)}, {data});</script>"
    )


def _jsonable(value: object) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")


def sparkline(by_day: Mapping[str, Sequence[int]], width: int = 160, height: int = 28) -> str:
    """A small inline SVG of sessions per period: successful and failed as stacked columns, no script needed."""
    unit, periods = per_period(by_day, max_periods=width // 2)
    if not periods:
        return ""
    values = list(periods.values())
    top = max(ok + failed for ok, failed in values) or 1
    step = width / len(values)
    bar = max(step - 0.5, 0.5)
    shapes = []
    for index, (ok, failed) in enumerate(values):
        x = index * step
        h_ok, h_failed = height * ok / top, height * failed / top
        if failed and h_failed < MIN_FAILURE_PIXELS:  # a few failures stay visible beside many successes
            h_failed = min(MIN_FAILURE_PIXELS, height)
            h_ok = min(h_ok, height - h_failed)
        if ok:
            shapes.append(f'<rect x="{x:.1f}" y="{height - h_ok:.1f}" width="{bar:.1f}" height="{h_ok:.1f}"/>')
        if failed:
            y = height - h_ok - h_failed
            shapes.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h_failed:.1f}" fill="{FAILURE_COLOR}"/>'
            )
    first, last = next(iter(periods)), next(reversed(periods))
    label = f"sessions per {unit}, {first} to {last}: green successful, red failed"
    return (
        f'<svg class="spark" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'fill="{SUCCESS_COLOR}"><title>{html.escape(label)}</title>{"".join(shapes)}</svg>'
    )


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


def _pairs(by_day: dict[str, dict[str, int]]) -> dict[str, tuple[int, int]]:
    return {day: (c["successful"], c["failed"]) for day, c in by_day.items()}


def domain_section(d: DomainSummary, level: int = 2) -> str:
    """One policy domain: heading with totals and a per-day sparkline, then its tables (per day, result, sender, MX)."""
    pair = ("Successful", "Failed", "Success rate")
    rows = [
        _table(
            "Sessions per UTC day",
            ("Day", *pair),
            [
                (day, c["successful"], Failed(c["failed"]), _rate(c["successful"], c["failed"]))
                for day, c in sorted(d.by_day.items())
            ],
        ),
        _table(
            "Sessions by policy type",
            ("Policy type", *pair),
            [
                (kind, c["successful"], Failed(c["failed"]), _rate(c["successful"], c["failed"]))
                for kind, c in sorted(d.by_policy_type.items())
            ],
        ),
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
            [
                (
                    row["result_type"],
                    row["policy_type"],
                    row["receiving_mx"],
                    row["sending_mta_ip"] or "-",
                    row["receiving_ip"] or "-",
                    row["failure_reason_code"] or "-",
                    Failed(row["failed_sessions"]),
                    ", ".join(f"{org} ({n})" for org, n in row["organizations"].items()),
                )
                for row in d.failure_details
            ],
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
        _table(
            "Sessions by sending organization",
            ("Organization", *pair),
            [
                (org, c["successful"], Failed(c["failed"]), _rate(c["successful"], c["failed"]))
                for org, c in sorted(d.by_organization.items())
            ],
        ),
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
    charts = [chart_block("sessions-over-time", _over_time(by_day, "all policy domains"))]
    if any(by_result.values()):  # no failures: no empty bar charts, one sentence says so
        charts += [
            chart_block("failures-by-result-type", _bars("Failures by result type", by_result)),
            chart_block("failures-by-organization", _bars("Failures by sending organization", by_org)),
            chart_block("failures-by-mx", _bars("Failures by receiving MX", by_mx)),
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
