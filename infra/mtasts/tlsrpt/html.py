"""One self-contained HTML page of charts (plotly, its library inlined: the page requests nothing from any host)."""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from .aggregate import Summary

#: Written by the page's script once every chart has rendered; browser tests wait for it.
RENDERED_MARKER = "mtasts-charts-rendered"


def _figures(summary: Summary) -> list[tuple[str, go.Figure]]:
    days = sorted({day for d in summary.domains.values() for day in d.by_day})
    over_time = go.Figure()
    for name in sorted(summary.domains):
        d = summary.domains[name]
        over_time.add_bar(
            name=f"{name} successful", x=days, y=[d.by_day.get(day, {}).get("successful", 0) for day in days]
        )
        over_time.add_bar(name=f"{name} failed", x=days, y=[d.by_day.get(day, {}).get("failed", 0) for day in days])
    over_time.update_layout(barmode="stack", title="Sessions per UTC day", xaxis_title="day", yaxis_title="sessions")

    def bars(title: str, rows: dict[str, int]) -> go.Figure:
        figure = go.Figure(go.Bar(x=list(rows.values()), y=list(rows.keys()), orientation="h"))
        figure.update_layout(title=title, xaxis_title="failed sessions")
        return figure

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
        ("sessions-over-time", over_time),
        ("failures-by-result-type", bars("Failures by result type", by_result)),
        ("failures-by-organization", bars("Failures by sending organization", by_org)),
        ("failures-by-mx", bars("Failures by receiving MX", by_mx)),
    ]


def _table(summary: Summary) -> str:
    rows = []
    for name in sorted(summary.domains):
        d = summary.domains[name]
        total = d.successful + d.failed
        rate = f"{d.successful / total:.2%}" if total else "-"
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{d.successful}</td><td>{d.failed}</td><td>{rate}</td></tr>")
        for key, counts in sorted(d.by_organization.items()):
            rows.append(
                f"<tr class='sub'><td>sender {html.escape(key)}</td><td>{counts['successful']}</td>"
                f"<td>{counts['failed']}</td><td></td></tr>"
            )
        for key, count in sorted(d.by_result_type.items()):
            rows.append(f"<tr class='sub'><td>result {html.escape(key)}</td><td></td><td>{count}</td><td></td></tr>")
    return (
        "<table><thead><tr><th>Domain</th><th>Successful</th><th>Failed</th><th>Success rate</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
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
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right} td:first-child{text-align:left} "
        "tr.sub td{color:#555;font-size:90%}</style></head><body>"
        f"<h1>TLS-RPT summary</h1><p>{summary.reports} report(s), {len(summary.rejected)} rejected.</p>"
        + "".join(divs)
        + f"<h2>Tables</h2>{_table(summary)}"
        + (f"<h2>Rejected</h2><ul>{rejected}</ul>" if rejected else "")
        + script
        + "</body></html>"
    )


def write_html(summary: Summary, path: Path) -> None:
    """Write :func:`render_html` to ``path``."""
    path.write_text(render_html(summary), encoding="utf-8")
