"""The evidence table, for the terminal (rich) and for pull-request bodies (markdown). Formatting only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..inert import md_text
from ..names import to_unicode
from ..output import is_terminal
from .promote import Step
from .status import VERDICTS, DomainStatus, FleetStatus, duration

__all__ = ["diff_evidence_markdown", "evidence_markdown", "print_fleet", "print_promotion"]

_COLOUR = {
    "ready": "green",
    "ok": "green",
    "hold": "yellow",
    "action-needed": "red",
    "pending": "cyan",
    "retiring": "dim",
    "unknown": "magenta",
    "not-deployed": "blue",
}


def _name(domain: str) -> str:
    unicode = to_unicode(domain)
    return domain if unicode == domain else f"{unicode} ({domain})"


def _next(s: DomainStatus) -> str:
    return f"{s.next['mode']} {duration(s.next['max_age'])}" if s.next else "-"


def _live(s: DomainStatus) -> str:
    live = s.live
    if not live.checked:
        return "not checked"
    if live.pending:
        return f"waiting for {len(live.pending)} CNAME(s)"
    if not live.deployed:
        return "nothing published"
    if "sts-record" in live.unread or "policy-fetch" in live.unread:
        return "could not be read (DNS)"
    bad = len(live.uncovered) + sum(1 for reason in live.starttls.values() if reason)
    parts = [
        "id ok" if live.txt_id_live else "id drift",
        "policy ok" if live.policy_equal else ("policy drift" if live.policy_served else "policy unreachable"),
        f"{len(live.mx)} MX" + (f", {bad} failing" if bad else ""),
    ]
    return ", ".join(parts)


def _reports(s: DomainStatus) -> tuple[str, str, str, str]:
    r = s.reports
    return (
        str(len(r.days)),
        f"{r.successful}/{r.failed}",
        f"{r.failure_rate:.2%}" if r.sessions else "-",
        ("; ".join(f"{g['result_type']}@{g['mx']} ×{g['sessions']}" for g in r.failures[:2]) or "-"),
    )


#: Rows ``mtasts status`` prints by default; the rest are counted by verdict (``--rows 0`` prints every domain).
TERMINAL_ROWS = 200


def attention_order(domains: Sequence[DomainStatus]) -> list[DomainStatus]:
    """Domains needing attention first: by verdict (:data:`~.status.VERDICTS` order), then name."""
    rank = {verdict: n for n, verdict in enumerate(VERDICTS)}
    return sorted(domains, key=lambda s: (rank[s.verdict], s.domain))


def print_fleet(fleet: FleetStatus, rows: int = 0) -> None:
    """One row per domain, those needing attention first: plan, live, reports, verdict and reasons.

    With ``rows``, at most that many rows are printed and the domains left out are counted by verdict, so that a
    fleet of 10,000 domains prints what needs attention and one line about the rest.
    """
    from ..output import Column, console, print_table

    out = console()
    columns = [
        Column("Domain", copy=True),
        Column("Mode"),
        Column("max_age"),
        Column("Live"),
        Column("Days", justify="right"),
        Column("OK/failed", justify="right"),
        Column("Fail rate", justify="right"),
        Column("Top failures", copy=True),
        Column("Verdict", markup=True),
        Column("Next / reasons"),
    ]
    ordered = attention_order(fleet.domains)
    shown, rest = (ordered[:rows], ordered[rows:]) if rows else (ordered, [])
    table: list[Sequence[str | Sequence[str]]] = []
    for s in shown:
        days, sessions, rate, top = _reports(s)
        verdict = f"[{_COLOUR[s.verdict]}]{s.verdict}[/]"
        detail = [*([_next(s)] if s.next else s.reasons), *(f"warning: {w}" for w in s.warnings)]
        row = [_name(s.domain), s.plan.config.mode, duration(s.plan.config.max_age), _live(s), days, sessions, rate]
        table.append([*row, top, verdict, "; ".join(detail) if not is_terminal() else detail])
    title = f"Fleet status, reports {fleet.first_day} to {fleet.last_day} ({fleet.report_count} accepted)"
    print_table(title, columns, table, out)
    if rest:
        left: dict[str, int] = {}
        for s in rest:
            left[s.verdict] = left.get(s.verdict, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in left.items())
        out.print(f"{len(rest)} more domain(s) not listed: {summary} (--rows 0 lists every domain; --json, --html)")
    counts = ", ".join(f"{n} {v}" for v, n in fleet.counts.items() if n)
    out.print(f"{len(fleet.domains)} domain(s): {counts or 'none'}")
    if fleet.rejected:
        out.print(f"{len(fleet.rejected)} report file(s) rejected (see --json for the reasons)")


def print_promotion(steps: Sequence[Step], refused: Sequence[tuple[DomainStatus, list[str]]], dry_run: bool) -> None:
    """What changed (or would) and every domain refused, with its reasons (plain lines, printed literally)."""
    from ..output import text

    verb = "would change" if dry_run else "changed"
    for step in steps:
        text(
            f"{step.why}: {_name(step.domain)}: {step.old_mode} {duration(step.old_max_age)} → "
            f"{step.mode} {duration(step.max_age)} ({verb})"
        )
    for s, reasons in refused:
        text(f"refused: {_name(s.domain)}")
        for reason in reasons:
            text(f"  - {reason}")
    text(f"{len(steps)} domain(s) {verb}, {len(refused)} refused")


def _cell(text: str) -> str:
    """A table cell that renders literally (:func:`mtasts.inert.md_text`).

    Reasons, MX names and failure types come from reports and live answers: none may add a link, image, HTML,
    mention, ``|`` or code fence.
    """
    if text.startswith("**") and text.endswith("**") and len(text) > 4:  # the kit's bold verdict
        return f"**{md_text(text[2:-2])}**"
    return "<br>".join(md_text(line) for line in text.split("\n"))


#: Rows of unchanged domains in a pull-request body; GitHub caps a body at 65,536 characters.
MAX_ROWS = 100
_ORDER = {v: i for i, v in enumerate(VERDICTS)}


def evidence_markdown(
    fleet: FleetStatus, domains: Sequence[str] | None = None, steps: Sequence[Step] = (), limit: int | None = None
) -> str:
    """A markdown evidence table (pull-request bodies): one row per domain, or per domain of ``domains``.

    With ``limit``, changed domains come first and all of them are shown, then at most ``limit`` others, most
    urgent verdict first; the rest are counted in a last line.
    """
    wanted = set(domains) if domains is not None else None
    moved = {s.domain: s for s in steps}
    shown = [s for s in fleet.domains if wanted is None or s.domain in wanted]
    left_out = 0
    if limit is not None:
        shown.sort(key=lambda s: (s.domain not in moved, _ORDER[s.verdict]))
        changed = sum(1 for s in shown if s.domain in moved)
        left_out = max(0, len(shown) - changed - limit)
        shown = shown[: len(shown) - left_out]
    lines = [
        f"Evidence: TLS-RPT reports {fleet.first_day} to {fleet.last_day} ({fleet.report_count} accepted), "
        f"live state as checked by `mtasts status`.",
        "",
        "| Domain | Mode | max_age | Change | Live | Days | OK / failed | Fail rate | Top failures | Verdict "
        "| Reasons |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for s in shown:
        days, sessions, rate, top = _reports(s)
        step = moved.get(s.domain)
        change = f"→ {step.mode} {duration(step.max_age)}" if step else "-"
        row = [
            _name(s.domain),
            s.plan.config.mode,
            duration(s.plan.config.max_age),
            change,
            _live(s),
            days,
            sessions,
            rate,
            top,
            f"**{s.verdict}**",
            "; ".join([*s.reasons, *(f"warning: {w}" for w in s.warnings)]),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if left_out:
        lines.append(f"| … {left_out} more domain(s), in the fleet-status artifact | | | | | | | | | | |")
    rules = fleet.rules
    lines += [
        "",
        f"Rules (`mta-sts:promotion`): to enforce, ≥ {rules.min_report_days} days with reports, ≥ "
        f"{rules.min_sessions} sessions, enforce-failure rate ≤ {rules.max_failure_rate:.2%}, every live MX covered "
        f"and passing STARTTLS; max_age ladder {' → '.join(duration(x) for x in rules.ladder)}, one step per "
        f"{rules.clean_days} clean days.",
    ]
    return "\n".join(lines) + "\n"


def diff_evidence_markdown(changes: Sequence[tuple[str, str, int, str, int]], document: dict[str, Any]) -> str:
    """Evidence rows for ``mtasts diff --markdown --evidence``: one per domain whose mode or max_age changes.

    ``changes`` are (domain, old mode, old max_age, new mode, new max_age); ``document`` is a ``mtasts status
    --json`` (or ``promote --json``) document. A change is shown with its evidence only when that evidence
    proposed exactly this step (``next``, or ``demote``); any other change is listed as having none.
    """
    if not changes:
        return ""
    rows = {d.get("domain"): d for d in document.get("domains", []) if isinstance(d, dict)}
    window = document.get("window") or {}
    lines = [
        "",
        f"**Evidence** (`mtasts status`, reports {md_text(window.get('first_day', '?'))} to "
        f"{md_text(window.get('last_day', '?'))})",
        "",
        "| Domain | Change | Verdict | Days | OK / failed | Fail rate | Top failures | Reasons |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for domain, old_mode, old_age, new_mode, new_age in changes:
        change = f"{old_mode} {duration(old_age)} → {new_mode} {duration(new_age)}"
        row = rows.get(domain)
        proposed = [p for p in ((row or {}).get("next"), (row or {}).get("demote")) if isinstance(p, dict)]
        if row is None or {"mode": new_mode, "max_age": new_age} not in proposed:
            why = "no evidence proposed this step: run `mtasts status` before merging"
            lines.append("| " + " | ".join(_cell(c) for c in [_name(domain), change, "—", "", "", "", "", why]) + " |")
            continue
        r = row.get("reports") or {}
        top = "; ".join(
            f"{g.get('result_type')}@{g.get('mx')} ×{g.get('sessions')}" for g in (r.get("top_failures") or [])[:2]
        )
        cells = [
            _name(domain),
            change,
            f"**{row.get('verdict')}**",
            str(r.get("days", 0)),
            f"{r.get('successful', 0)}/{r.get('failed', 0)}",
            f"{float(r.get('failure_rate', 0)):.2%}",
            top or "-",
            "; ".join(str(x) for x in row.get("reasons", [])),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
