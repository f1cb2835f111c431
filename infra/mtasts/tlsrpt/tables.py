"""Terminal tables of a TLS-RPT summary (rendered by :mod:`mtasts.output`: plain lines off a terminal)."""

from __future__ import annotations

from collections.abc import Sequence

from ..output import Column, print_table, text
from .aggregate import ALL_MX, DomainSummary, Summary, detail_cells
from .aggregate import success_rate as _rate
from .report import DEVIATIONS


def _failed(count: int) -> str:
    """A failed-session count, in red on a terminal when there is any: small counts stay visible."""
    return f"[bold red]{count}[/]" if count else "0"


#: Most rows of the failure-detail table of a domain in the terminal (the JSON and the page keep every row).
MAX_DETAIL_ROWS = 25


#: Most rows of a per-day table; longer spans are shown per week or per month (the JSON keeps every day).
MAX_DAY_ROWS = 62


def _print_per_day(name: str, by_day: dict[str, dict[str, int]]) -> None:
    """Sessions per UTC day of one domain, or per week / month when the span has more than MAX_DAY_ROWS days."""
    from .charts import per_period

    unit, periods = per_period({day: (c["successful"], c["failed"]) for day, c in by_day.items()}, MAX_DAY_ROWS)
    heading = {"day": "UTC day", "week": "UTC week (from Monday)", "month": "UTC month"}[unit]
    columns = [
        Column(unit.capitalize(), copy=True),
        Column("Successful", justify="right"),
        Column("Failed", justify="right"),
        Column("Success rate", justify="right"),
    ]
    rows = [[period, str(ok), str(bad), _rate(ok, bad)] for period, (ok, bad) in periods.items()]
    print_table(f"{name}: sessions per {heading}", columns, rows)


def print_summary(summary: Summary) -> None:
    """Per domain: totals, then failures by result type, sending organization and MX."""
    text(f"{summary.reports} report(s) accepted, {len(summary.rejected)} rejected, {summary.duplicates} duplicate(s)")
    if summary.conflicts:
        text(
            f"{len(summary.conflicts)} duplicate(s) differ from the copy counted (same organization and report-id, "
            "other counts): a forged or corrupted copy; see the Conflicts table"
        )
    if summary.tolerated:
        tolerated = [[key, str(count), DEVIATIONS.get(key, "")] for key, count in sorted(summary.tolerated.items())]
        print_table(
            "Tolerated deviations (reports accepted and counted; see docs/reports.md)",
            [Column("Deviation", copy=True), Column("Reports", justify="right"), Column("What")],
            tolerated,
        )
    counts = [Column("Successful", justify="right"), Column("Failed", justify="right", markup=True)]
    rate = Column("Success rate", justify="right")
    totals: list[Sequence[str]] = []
    for name in sorted(summary.domains):
        d = summary.domains[name]
        totals.append([name, str(d.successful), _failed(d.failed), _rate(d.successful, d.failed)])
    print_table("Sessions per policy domain", [Column("Domain", copy=True), *counts, rate], totals)
    for name in sorted(summary.domains):
        d = summary.domains[name]
        rows: list[Sequence[str]] = []
        for kind, c in sorted(d.by_policy_type.items()):
            rows.append(["policy type", kind, str(c["successful"]), _failed(c["failed"]), _rate(**c)])
        for result, count in sorted(d.by_result_type.items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append(["result type", result, "-", _failed(count), "-"])
        for org, c in sorted(d.by_organization.items()):
            rows.append(["sender", org, str(c["successful"]), _failed(c["failed"]), _rate(**c)])
        for mx, c in sorted(d.by_mx.items()):
            if mx == ALL_MX:
                rows.append(["receiving MX", mx, str(c["successful"]), _failed(c["failed"]), _rate(**c)])
            else:  # reports count successes per policy, not per MX: no rate can be given for one MX
                rows.append(["receiving MX", mx, "-", _failed(c["failed"]), "-"])
        print_table(name, [Column("By"), Column("Key", copy=True), *counts, rate], rows)
        _print_failure_details(name, d)
        _print_per_day(name, d.by_day)
    if summary.conflicts:
        conflicts = [[item["organization"], item["report_id"]] for item in summary.conflicts]
        print_table("Conflicts (counted once)", [Column("Organization"), Column("Report-id", copy=True)], conflicts)
    if summary.rejected:
        rejected = [[item["source"], item["reason"]] for item in summary.rejected]
        print_table("Rejected", [Column("Source", copy=True), Column("Reason")], rejected)


def _print_failure_details(name: str, d: DomainSummary) -> None:
    """Where the failures are: one row per failing path, and per UTC day by result type (none: no table)."""
    rows: list[Sequence[str]] = []
    for cells in map(detail_cells, d.failure_details[:MAX_DETAIL_ROWS]):
        rows.append([*cells[:6], _failed(cells[6]), cells[7]])
    more = len(d.failure_details) - MAX_DETAIL_ROWS
    title = f"{name}: failure details" + (f" (largest {MAX_DETAIL_ROWS}; {more} more in --json)" if more > 0 else "")
    columns = [
        Column("Result type", copy=True),
        Column("Policy"),
        Column("Receiving MX", copy=True),
        Column("Sending MTA IP", copy=True),
        Column("Receiving IP", copy=True),
        Column("Reason code", copy=True),
        Column("Failed", justify="right", markup=True),
        Column("Reported by"),
    ]
    print_table(title, columns, rows)
    daily = [
        [day, result, _failed(count)]
        for day, counts in sorted(d.failures_by_day.items())
        for result, count in sorted(counts.items())
        if count
    ]
    print_table(
        f"{name}: failures per UTC day by result type",
        [Column("Day", copy=True), Column("Result type", copy=True), Column("Failed", justify="right", markup=True)],
        daily,
    )
