"""The charts of the report pages: plotly figures (sessions over time, ranked bars) and inline SVG sparklines.

Labels from reports reach plotly HTML-escaped (plotly renders pseudo-HTML in them); figures are written into the
page as JSON that no report text can end (:func:`chart_block`). Sparklines need no script, so a page with
thousands of domains stays light. The page around them is :mod:`.html`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

__all__ = [
    "FAILURE_COLOR",
    "MAX_BARS",
    "MAX_PERIODS",
    "SUCCESS_COLOR",
    "bars",
    "chart_block",
    "over_time",
    "per_period",
    "sparkline",
]

#: Bars per chart; the rest is summed into one "others" bar (the tables list every row).
MAX_BARS = 25
#: Most bars in the sessions-over-time chart: past this many days, days are summed into weeks, then months.
MAX_PERIODS = 120
SUCCESS_COLOR, FAILURE_COLOR = "#2ca02c", "#d62728"


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


def over_time(by_day: Mapping[str, Sequence[int]], scope: str) -> go.Figure:
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


def bars(title: str, rows: dict[str, int]) -> go.Figure:
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
