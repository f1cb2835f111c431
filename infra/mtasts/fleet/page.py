"""``mtasts status --html``: one self-contained page for the whole fleet.

Server-side inline SVG only: no script library, no stylesheet or font from elsewhere, nothing fetched, so the
page opens offline and from a CI artifact. A fleet overview (one line per domain: verdict, mode, ``max_age``,
next step and a per-day failure sparkline) is followed by one collapsed section per domain with its reasons,
live state and charts by result type, sending organization, receiving MX and day. Sections are ``<details>``
elements, closed by default, so a browser lays out only the overview until one is opened: 1,000 domains and 30
days stay usable (docs/fleet.md has the measured size and render time). Every text from a report or the stack
file is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..names import to_unicode
from .status import VERDICTS, DomainStatus, FleetStatus, duration

__all__ = ["RENDERED_MARKER", "render_page", "write_page"]

#: The page's script sets ``data-state`` on <body> to this once it has run; the browser test looks for it.
RENDERED_MARKER = "rendered"
#: Bars drawn per chart; the rest are summed into one "N others" bar.
MAX_BARS = 12

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4}.num{text-align:right}
.v{padding:1px 6px;border-radius:3px;font-weight:600;white-space:nowrap}
.ready,.ok{background:#d9f2dd;color:#14532d}.hold{background:#fff1c2;color:#713f12}
.action-needed{background:#fcd4d4;color:#7f1d1d}.pending{background:#d6ecfa;color:#0c4a6e}
.retiring{background:#eee;color:#555}
details{margin:.4em 0;border:1px solid #ddd;border-radius:4px;padding:.3em .6em}summary{cursor:pointer}
.charts{display:flex;flex-wrap:wrap;gap:1.5em}.chart h4{margin:.6em 0 .2em}
svg text{font:11px system-ui,sans-serif}
"""
_SCRIPT = (
    "document.body.dataset.svgs=String(document.querySelectorAll('svg').length);"
    f"document.body.dataset.state='{RENDERED_MARKER}';"
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _days(fleet: FleetStatus) -> list[str]:
    count = (fleet.last_day - fleet.first_day).days + 1
    return [f"{fleet.first_day + dt.timedelta(days=i):%Y-%m-%d}" for i in range(count)]


def _anchor(domain: str) -> str:
    return "d-" + domain.replace(".", "-")


def sparkline(values: Sequence[int], flagged: Sequence[int], width: int = 120, height: int = 22) -> str:
    """Per-day bars of failed sessions; days with failures enforce would refuse in red, others in amber."""
    top = max(values, default=0) or 1
    step = width / max(len(values), 1)
    bars = []
    for i, (value, bad) in enumerate(zip(values, flagged, strict=True)):
        if not value:
            continue
        h = max(1.5, value / top * (height - 2))
        colour = "#c0392b" if bad else "#e6a118"
        bars.append(
            f'<rect x="{i * step:.1f}" y="{height - h:.1f}" width="{max(step - 1, 1):.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{value}</title></rect>'
        )
    baseline = f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#bbb"/>'
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="failed sessions per day">{baseline}{"".join(bars)}</svg>'
    )


def _bars(title: str, rows: Iterable[tuple[str, int]], colour: str = "#c0392b") -> str:
    """A horizontal bar chart of (label, value), largest first, at most MAX_BARS bars."""
    items = sorted(((label, value) for label, value in rows if value), key=lambda kv: (-kv[1], kv[0]))
    if len(items) > MAX_BARS:
        rest = items[MAX_BARS - 1 :]
        items = [*items[: MAX_BARS - 1], (f"{len(rest)} others", sum(v for _, v in rest))]
    if not items:
        return f'<div class="chart"><h4>{_e(title)}</h4><p>none</p></div>'
    top = items[0][1]
    row, label_w, bar_w = 16, 230, 220
    parts = []
    for i, (label, value) in enumerate(items):
        y = i * row
        w = max(1.0, value / top * bar_w)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{_e(label[:40])}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 4}" fill="{colour}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{value}</text>'
        )
    width, height = label_w + bar_w + 60, len(items) * row
    return (
        f'<div class="chart"><h4>{_e(title)}</h4><svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">{"".join(parts)}</svg></div>'
    )


def _per_day(s: DomainStatus, days: Sequence[str]) -> str:
    """Stacked columns per day: successful (green) and failed (red) sessions, on a shared scale."""
    by_day = s.reports.by_day
    totals = [by_day.get(d, {}).get("successful", 0) + by_day.get(d, {}).get("failed", 0) for d in days]
    top = max(totals, default=0) or 1
    height, step = 80, 12
    parts = []
    for i, day in enumerate(days):
        counts = by_day.get(day)
        if not counts:
            continue
        ok_h = counts["successful"] / top * height
        bad_h = max(counts["failed"] / top * height, 1.5 if counts["failed"] else 0)
        x = i * step
        parts.append(
            f"<g><title>{day}: {counts['successful']} ok, {counts['failed']} failed</title>"
            f'<rect x="{x}" y="{height - ok_h - bad_h:.1f}" width="{step - 2}" height="{ok_h:.1f}" fill="#3c9d5d"/>'
            f'<rect x="{x}" y="{height - bad_h:.1f}" width="{step - 2}" height="{bad_h:.1f}" fill="#c0392b"/></g>'
        )
    width = max(len(days) * step, 60)
    label = f"{days[0]} … {days[-1]}" if days else ""
    return (
        f'<div class="chart"><h4>Sessions per day (green ok, red failed)</h4><svg width="{width}" '
        f'height="{height + 14}" viewBox="0 0 {width} {height + 14}" role="img" aria-label="sessions per day">'
        f'{"".join(parts)}<text x="0" y="{height + 12}">{_e(label)}</text></svg></div>'
    )


def _section(s: DomainStatus, days: Sequence[str]) -> str:
    c, r, live = s.plan.config, s.reports, s.live
    name = to_unicode(s.domain)
    reasons = "".join(f"<li>{_e(x)}</li>" for x in s.reasons)
    reasons += "".join(f"<li>warning: {_e(x)}</li>" for x in s.warnings)
    nxt = f"next: {_e(s.next['mode'])} {duration(s.next['max_age'])}" if s.next else ""
    if live.checked:
        starttls = ", ".join(f"{_e(h)}: {'ok' if not why else _e(why)}" for h, why in live.starttls.items()) or "-"
        live_html = (
            f"<p>TXT id live: {'yes' if live.txt_id_live else 'no'}; policy served as planned: "
            f"{'yes' if live.policy_equal else 'no'}; MX: {_e(', '.join(live.mx) or '-')}; uncovered: "
            f"{_e(', '.join(live.uncovered) or 'none')}; STARTTLS: {starttls}</p>"
        )
    else:
        live_html = "<p>Live state not checked.</p>"
    charts = "".join(
        [
            _per_day(s, days),
            _bars("Failed sessions by result type", r.by_result_type.items()),
            _bars("Failed sessions by sending organization", ((o, v["failed"]) for o, v in r.by_organization.items())),
            _bars("Failed sessions by receiving MX", ((m, v["failed"]) for m, v in r.by_mx.items())),
        ]
    )
    return (
        f'<details id="{_anchor(s.domain)}"><summary><b>{_e(name)}</b> <span class="v {s.verdict}">{s.verdict}'
        f"</span> {_e(c.mode)} {duration(c.max_age)} {nxt}</summary><ul>{reasons}</ul>{live_html}"
        f"<p>{len(r.days)} day(s) with reports, {r.successful} successful and {r.failed} failed session(s), "
        f'enforce-failure rate {r.failure_rate:.2%}.</p><div class="charts">{charts}</div></details>'
    )


def render_page(fleet: FleetStatus) -> str:
    """The whole page as one string."""
    days = _days(fleet)
    counts = " · ".join(f'<span class="v {v}">{v}</span> {n}' for v, n in fleet.counts.items() if n)
    rows = []
    for s in fleet.domains:
        by_day = s.reports.by_day
        failed = [by_day.get(d, {}).get("failed", 0) for d in days]
        flagged = [by_day.get(d, {}).get("enforce_failed", 0) for d in days]
        nxt = f"{s.next['mode']} {duration(s.next['max_age'])}" if s.next else ""
        rate = f"{s.reports.failure_rate:.2%}" if s.reports.sessions else "-"
        rows.append(
            f'<tr><td><a href="#{_anchor(s.domain)}">{_e(to_unicode(s.domain))}</a></td>'
            f'<td><span class="v {s.verdict}">{s.verdict}</span></td><td>{_e(s.plan.config.mode)}</td>'
            f'<td class="num">{duration(s.plan.config.max_age)}</td><td>{_e(nxt)}</td>'
            f'<td class="num">{len(s.reports.days)}</td><td class="num">{rate}</td>'
            f"<td>{sparkline(failed, flagged)}</td><td>{_e(s.reasons[0] if s.reasons else '')}</td></tr>"
        )
    sections = "".join(_section(s, days) for s in fleet.domains)
    order = ", ".join(VERDICTS)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MTA-STS fleet status</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>MTA-STS fleet status</h1><p>Reports {fleet.first_day} to {fleet.last_day}: {fleet.report_count} "
        f"accepted, {len(fleet.rejected)} rejected. {len(fleet.domains)} domain(s): {counts}</p>"
        f'<h2>Overview</h2><table id="overview"><thead><tr><th>Domain</th><th>Verdict</th><th>Mode</th>'
        "<th>max_age</th><th>Next</th><th>Days</th><th>Fail rate</th><th>Failed per day</th><th>Reason</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table><p>Verdicts: {order}.</p>"
        f"<h2>Domains</h2>{sections}<script>{_SCRIPT}</script></body></html>\n"
    )


def write_page(fleet: FleetStatus, path: Path) -> None:
    """Write the page to ``path``; :class:`OSError` if it cannot be written."""
    path.write_text(render_page(fleet), encoding="utf-8")
