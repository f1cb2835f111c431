"""One self-contained HTML page of charts (plotly, its library inlined: the page requests nothing from any host)."""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from .aggregate import ALL_MX, Summary

#: Written by the page's script once every chart has rendered; browser tests wait for it.
RENDERED_MARKER = "mtasts-charts-rendered"


#: Bars per chart; the rest is summed into one "others" bar (the tables list every row).
MAX_BARS = 25
SUCCESS_COLOR, FAILURE_COLOR = "#2ca02c", "#d62728"


def _over_time(summary: Summary) -> go.Figure:
    """Successful and failed sessions per UTC day (stacked), and the success rate on a second axis."""
    totals: dict[str, list[int]] = {}
    for d in summary.domains.values():
        for day, counts in d.by_day.items():
            pair = totals.setdefault(day, [0, 0])
            pair[0] += counts["successful"]
            pair[1] += counts["failed"]
    days = sorted(totals)
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(name="successful", x=days, y=[totals[d][0] for d in days], marker_color=SUCCESS_COLOR)
    figure.add_bar(name="failed", x=days, y=[totals[d][1] for d in days], marker_color=FAILURE_COLOR)
    rates = [100 * ok / (ok + failed) if ok + failed else None for ok, failed in (totals[d] for d in days)]
    figure.add_scatter(name="success rate", x=days, y=rates, mode="lines+markers", secondary_y=True)
    figure.update_layout(barmode="stack", title="Sessions per UTC day, all policy domains", xaxis_title="day")
    figure.update_yaxes(title_text="sessions", secondary_y=False)
    figure.update_yaxes(title_text="success rate (%)", range=[0, 100.5], dtick=20, secondary_y=True)
    return figure


def _bars(title: str, rows: dict[str, int]) -> go.Figure:
    """Horizontal bars, largest on top, at most :data:`MAX_BARS` (plus "others"), tall enough for every label."""
    ranked = sorted(rows.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > MAX_BARS:
        rest = ranked[MAX_BARS - 1 :]
        ranked = [*ranked[: MAX_BARS - 1], (f"{len(rest)} others", sum(count for _, count in rest))]
    ranked.reverse()  # plotly draws the first category at the bottom
    figure = go.Figure(
        go.Bar(x=[c for _, c in ranked], y=[k for k, _ in ranked], orientation="h", marker_color=FAILURE_COLOR)
    )
    figure.update_layout(title=title, xaxis_title="failed sessions", height=160 + 24 * max(len(ranked), 3))
    figure.update_yaxes(automargin=True, type="category")
    return figure


def _figures(summary: Summary) -> list[tuple[str, go.Figure]]:
    by_result: dict[str, int] = {}
    by_org: dict[str, int] = {}
    by_mx: dict[str, int] = {}
    for d in summary.domains.values():
        for key, count in d.by_result_type.items():
            by_result[key] = by_result.get(key, 0) + count
        for key, counts in d.by_organization.items():
            by_org[key] = by_org.get(key, 0) + counts["failed"]
        for key, counts in d.by_mx.items():
            by_mx[key] = by_mx.get(key, 0) + counts["failed"]
    return [
        ("sessions-over-time", _over_time(summary)),
        ("failures-by-result-type", _bars("Failures by result type", by_result)),
        ("failures-by-organization", _bars("Failures by sending organization", by_org)),
        ("failures-by-mx", _bars("Failures by receiving MX", by_mx)),
    ]


def _rate(successful: int, failed: int) -> str:
    total = successful + failed
    return f"{successful / total:.2%}" if total else "-"


def _table(title: str, headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<h3>{html.escape(title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _tables(summary: Summary) -> str:
    """The numbers behind each chart, per policy domain."""
    domains = [summary.domains[name] for name in sorted(summary.domains)]
    pair = ("Successful", "Failed", "Success rate")
    return "".join(
        [
            _table(
                "Sessions per policy domain",
                ("Domain", *pair),
                [(d.domain, d.successful, d.failed, _rate(d.successful, d.failed)) for d in domains],
            ),
            _table(
                "Sessions per UTC day",
                ("Domain", "Day", *pair),
                [
                    (d.domain, day, c["successful"], c["failed"], _rate(c["successful"], c["failed"]))
                    for d in domains
                    for day, c in sorted(d.by_day.items())
                ],
            ),
            _table(
                "Failures by result type",
                ("Domain", "Result type", "Failed"),
                [(d.domain, key, count) for d in domains for key, count in sorted(d.by_result_type.items())],
            ),
            _table(
                "Sessions by sending organization",
                ("Domain", "Organization", *pair),
                [
                    (d.domain, org, c["successful"], c["failed"], _rate(c["successful"], c["failed"]))
                    for d in domains
                    for org, c in sorted(d.by_organization.items())
                ],
            ),
            _table(
                f"Sessions by receiving MX (reports count successful sessions per policy, listed under {ALL_MX})",
                ("Domain", "MX", "Successful", "Failed"),
                [(d.domain, mx, c["successful"], c["failed"]) for d in domains for mx, c in sorted(d.by_mx.items())],
            ),
        ]
    )


def render_html(summary: Summary) -> str:
    """The page: plotly.js once, one div per chart, the tables, and a marker set after rendering."""
    figures = _figures(summary)
    divs = []
    for index, (name, figure) in enumerate(figures):
        divs.append(
            pio.to_html(
                figure, include_plotlyjs=index == 0, full_html=False, div_id=name, config={"displaylogo": False}
            )
        )
    rejected = "".join(f"<li>{html.escape(r['source'])}: {html.escape(r['reason'])}</li>" for r in summary.rejected)
    ids = [name for name, _ in figures]
    script = (
        "<script>window.addEventListener('load', function () {"
        f"var ids = {ids!r};"
        "var done = ids.every(function (id) { var el = document.getElementById(id);"
        " return el && el.querySelector('.main-svg'); });"
        f"if (done) {{ document.body.setAttribute('data-state', '{RENDERED_MARKER}'); }} }});</script>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>TLS-RPT summary</title>"
        "<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} "
        "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>"
        f"<h1>TLS-RPT summary</h1><p>{summary.reports} report(s), {len(summary.rejected)} rejected.</p>"
        + "".join(divs)
        + f"<h2>Tables</h2>{_tables(summary)}"
        + (f"<h2>Rejected</h2><ul>{rejected}</ul>" if rejected else "")
        + script
        + "</body></html>"
    )


def write_html(summary: Summary, path: Path) -> None:
    """Write :func:`render_html` to ``path``: rendered and encoded first, so a failure never leaves a partial file."""
    path.write_bytes(render_html(summary).encode("utf-8"))
