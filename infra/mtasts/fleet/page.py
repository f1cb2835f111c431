"""``mtasts status --html``: one self-contained page for the whole fleet.

Inline SVG and one small inline script: no script library, no stylesheet or font from elsewhere, nothing fetched,
so the page opens offline and from a CI artifact. Domains needing attention come first (verdict order
action-needed, unknown, pending, not-deployed, hold, ready, ok, retiring). The first :data:`SERVER_DOMAINS` of them
are drawn on the server: an overview (one line per domain: verdict, mode, ``max_age``, next step and a per-day
failure sparkline) and one collapsed ``<details>`` section per domain with its reasons, live state and charts by
result type, sending organization, receiving MX and day. A larger fleet's other domains are one compact JSON
document in the page, listed by the script (search by name, filter by verdict, at most :data:`LISTED` rows at once,
``#domain=NAME`` opens one) with each domain's detail drawn when its row is opened, so 10,000 domains stay under 3
MB and usable at once (docs/fleet.md has the measurements). Every text from a report or the stack file is
HTML-escaped on the server; in the script's data it is JSON (``<`` escaped) and reaches the page only through
``textContent``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..inert import script_json
from ..names import to_unicode
from ..outfile import write_output
from .status import VERDICTS, DomainStatus, FleetStatus, duration
from .tables import attention_order

__all__ = ["RENDERED_MARKER", "render_page", "write_page"]

#: The page's script sets ``data-state`` on <body> to this once it has run; the browser test looks for it.
RENDERED_MARKER = "rendered"
#: Bars drawn per chart; the rest are summed into one "N others" bar.
MAX_BARS = 12
#: Domains drawn on the server (overview row and section with charts), attention first; the rest are data.
SERVER_DOMAINS = 100
#: Rows of the other domains the script lists at once (a search or filter narrows them).
LISTED = 200

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4}.num{text-align:right}
.v{padding:1px 6px;border-radius:3px;font-weight:600;white-space:nowrap}
.ready,.ok{background:#d9f2dd;color:#14532d}.hold{background:#fff1c2;color:#713f12}
.action-needed{background:#fcd4d4;color:#7f1d1d}.pending{background:#d6ecfa;color:#0c4a6e}
.retiring{background:#eee;color:#555}.unknown{background:#eadcf8;color:#4c1d95}
.not-deployed{background:#e0e7ff;color:#1e3a8a}
details{margin:.4em 0;border:1px solid #ddd;border-radius:4px;padding:.3em .6em}summary{cursor:pointer}
.charts{display:flex;flex-wrap:wrap;gap:1.5em}.chart h4{margin:.6em 0 .2em}
svg text{font:11px system-ui,sans-serif}
"""
_SCRIPT = (
    "document.body.dataset.svgs=String(document.querySelectorAll('svg').length);"
    # milliseconds from navigation to here: the page is laid out and listed (bench/bench_page.py reads it)
    "document.body.dataset.readyMs=String(Math.round(performance.now()));"
    f"document.body.dataset.state='{RENDERED_MARKER}';"
)
# The other domains: rows from the JSON data, filtered by name and verdict, detail drawn on demand. Every value
# goes through textContent or an SVG attribute set from a number: no outside text is ever parsed as markup.
_LIST_SCRIPT = """
(function(){
const D=JSON.parse(document.getElementById('fleet-data').textContent);
const q=document.getElementById('q'),f=document.getElementById('verdict'),body=document.getElementById('rest-rows');
const note=document.getElementById('rest-note'),NS='http://www.w3.org/2000/svg';
function el(tag,text,cls){const e=document.createElement(tag);if(text!==undefined)e.textContent=String(text);
if(cls)e.className=cls;return e;}
function spark(pairs){const s=document.createElementNS(NS,'svg');s.setAttribute('width','120');
s.setAttribute('height','22');s.setAttribute('class','spark');let top=1;for(const p of pairs)top=Math.max(top,p[1]);
const step=120/Math.max(D.days,1);for(const p of pairs){const r=document.createElementNS(NS,'rect');
const h=Math.max(1.5,p[1]/top*20);r.setAttribute('x',String(p[0]*step));r.setAttribute('y',String(22-h));
r.setAttribute('width',String(Math.max(step-1,1)));r.setAttribute('height',String(h));
r.setAttribute('fill',p[2]?'#c0392b':'#e6a118');s.appendChild(r);}
return s;}
function detail(r){const td=el('td');td.colSpan=8;const ul=el('ul');
for(const i of r[7])ul.appendChild(el('li',D.strings[i]));
td.appendChild(ul);td.appendChild(el('p',r[5]+' day(s) with reports, '+r[9]+' successful and '+r[10]+
' failed session(s).'));for(const g of r[11]){td.appendChild(el('p',D.strings[g[0]]+': '+g[1].map(
x=>D.strings[x[0]]+' '+x[1]).join(', ')));}td.appendChild(spark(r[8]));return td;}
function row(r){const tr=el('tr');const b=el('button',r[0]);b.type='button';b.title='details';
const name=el('td');name.appendChild(b);tr.appendChild(name);const v=D.verdicts[r[1]];
const vt=el('td');vt.appendChild(el('span',v,'v '+v));tr.appendChild(vt);
for(const x of [r[2],r[3],r[4],r[5],r[6]])tr.appendChild(el('td',x));
tr.appendChild(el('td',r[7].length?D.strings[r[7][0]]:''));
b.addEventListener('click',function(){const n=tr.nextSibling;if(n&&n.className==='detail'){n.remove();return;}
const d=el('tr',undefined,'detail');d.appendChild(detail(r));tr.after(d);});return tr;}
function show(){const text=q.value.trim().toLowerCase(),want=f.value;
for(const tr of document.querySelectorAll('#overview tbody tr')){tr.hidden=!((!want||tr.dataset.verdict===want)&&
tr.dataset.domain.toLowerCase().includes(text));}
body.textContent='';let shown=0,matched=0;for(const r of D.rest){if(want&&D.verdicts[r[1]]!==want)continue;
if(text&&!r[0].toLowerCase().includes(text))continue;matched++;if(shown<D.listed){body.appendChild(row(r));shown++;}}
note.textContent=matched>shown?(matched-shown)+' more match: narrow the search or the filter.':'';}
q.addEventListener('input',show);f.addEventListener('change',show);
const h=decodeURIComponent(location.hash.slice(1));if(h.startsWith('domain=')){q.value=h.slice(7);}show();
document.body.dataset.listed=String(body.children.length);
for(const b of body.querySelectorAll('button')){if(h==='domain='+b.textContent)b.click();}
})();
"""


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


def _overview_row(s: DomainStatus, days: Sequence[str]) -> str:
    by_day = s.reports.by_day
    failed = [by_day.get(d, {}).get("failed", 0) for d in days]
    flagged = [by_day.get(d, {}).get("enforce_failed", 0) for d in days]
    nxt = f"{s.next['mode']} {duration(s.next['max_age'])}" if s.next else ""
    rate = f"{s.reports.failure_rate:.2%}" if s.reports.sessions else "-"
    name = to_unicode(s.domain)
    return (
        f'<tr data-domain="{_e(name)}" data-verdict="{s.verdict}"><td><a href="#{_anchor(s.domain)}">{_e(name)}</a>'
        f'</td><td><span class="v {s.verdict}">{s.verdict}</span></td><td>{_e(s.plan.config.mode)}</td>'
        f'<td class="num">{duration(s.plan.config.max_age)}</td><td>{_e(nxt)}</td>'
        f'<td class="num">{len(s.reports.days)}</td><td class="num">{rate}</td>'
        f"<td>{sparkline(failed, flagged)}</td><td>{_e(s.reasons[0] if s.reasons else '')}</td></tr>"
    )


def _compact(domains: Sequence[DomainStatus], days: Sequence[str]) -> str:
    """The other domains as one JSON document for the script: repeated texts once, in a table of strings.

    A domain: [name, verdict index, mode, max_age, next, days with reports, failure rate, [reason and warning
    string ids], [[day index, failed, enforce-failed?], ...], successful, failed, [[title id, [[label id,
    failed], ...]], ...]]. Every ``<`` is written as a JSON escape, so no text can close the script element.
    """
    strings: dict[str, int] = {}

    def sid(text: str) -> int:
        return strings.setdefault(text, len(strings))

    index = {day: i for i, day in enumerate(days)}
    rest = []
    for s in domains:
        r = s.reports
        nxt = f"{s.next['mode']} {duration(s.next['max_age'])}" if s.next else ""
        failed = [
            [index[d], c["failed"], 1 if c.get("enforce_failed") else 0]
            for d, c in r.by_day.items()
            if c.get("failed") and d in index
        ]
        groups = []
        for title, items in (
            ("by result type", list(r.by_result_type.items())),
            ("by sending organization", [(o, v["failed"]) for o, v in r.by_organization.items()]),
            ("by receiving MX", [(m, v["failed"]) for m, v in r.by_mx.items()]),
        ):
            top = sorted(((k, v) for k, v in items if v), key=lambda kv: (-kv[1], kv[0]))[:MAX_BARS]
            if top:
                groups.append([sid(f"Failed sessions {title}"), [[sid(k), v] for k, v in top]])
        rest.append(
            [
                to_unicode(s.domain),
                VERDICTS.index(s.verdict),
                s.plan.config.mode,
                duration(s.plan.config.max_age),
                nxt,
                len(r.days),
                f"{r.failure_rate:.2%}" if r.sessions else "-",
                [sid(x) for x in s.reasons] + [sid(f"warning: {x}") for x in s.warnings],
                failed,
                r.successful,
                r.failed,
                groups,
            ]
        )
    document = {"days": len(days), "listed": LISTED, "verdicts": VERDICTS, "strings": list(strings), "rest": rest}
    return script_json(document)  # ASCII: a lone surrogate or U+2028 cannot break the page or the file's encoding


def render_page(fleet: FleetStatus) -> str:
    """The whole page as one string."""
    days = _days(fleet)
    counts = " · ".join(f'<span class="v {v}">{v}</span> {n}' for v, n in fleet.counts.items() if n)
    ordered = attention_order(fleet.domains)
    drawn, rest = ordered[:SERVER_DOMAINS], ordered[SERVER_DOMAINS:]
    rows = "".join(_overview_row(s, days) for s in drawn)
    sections = "".join(_section(s, days) for s in drawn)
    order = ", ".join(VERDICTS)
    listing = ""
    if rest:
        left = " · ".join(
            f'<span class="v {v}">{v}</span> {n}' for v in VERDICTS if (n := sum(1 for s in rest if s.verdict == v))
        )
        options = "".join(f'<option value="{v}">{v}</option>' for v in VERDICTS)
        listing = (
            f"<h2>The other {len(rest)} domain(s)</h2><p>{left}. Open a row for its detail.</p>"
            '<p><input id="q" type="search" placeholder="search domains" aria-label="search domains"> '
            f'<select id="verdict" aria-label="verdict"><option value="">every verdict</option>{options}</select></p>'
            '<table id="rest"><thead><tr><th>Domain</th><th>Verdict</th><th>Mode</th><th>max_age</th><th>Next</th>'
            '<th>Days</th><th>Fail rate</th><th>Reason</th></tr></thead><tbody id="rest-rows"></tbody></table>'
            '<p id="rest-note"></p>'
            f'<script type="application/json" id="fleet-data">{_compact(rest, days)}</script>'
            f"<script>{_LIST_SCRIPT}</script>"
        )
    shown = f"the first {len(drawn)} of {len(ordered)}, " if rest else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MTA-STS fleet status</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>MTA-STS fleet status</h1><p>Reports {fleet.first_day} to {fleet.last_day}: {fleet.report_count} "
        f"accepted, {len(fleet.rejected)} rejected. {len(fleet.domains)} domain(s): {counts}</p>"
        f"<h2>Overview</h2><p>Domains needing attention first ({shown}by verdict: {order}).</p>"
        '<table id="overview"><thead><tr><th>Domain</th><th>Verdict</th><th>Mode</th>'
        "<th>max_age</th><th>Next</th><th>Days</th><th>Fail rate</th><th>Failed per day</th><th>Reason</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>{listing}"
        f"<h2>Domains</h2>{sections}<script>{_SCRIPT}</script></body></html>\n"
    )


def write_page(fleet: FleetStatus, path: Path) -> None:
    """Write the page to ``path`` as ``--html`` (:func:`mtasts.outfile.write_output`: atomic, never through a link).

    A lone surrogate from a live answer (no UTF-8 form) is written as its escape text, as the terminal shows it.
    """
    write_output(path, render_page(fleet).encode("utf-8", "backslashreplace"), "--html")
