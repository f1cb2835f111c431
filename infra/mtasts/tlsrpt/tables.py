"""Terminal tables of a TLS-RPT summary (rendered by :mod:`mtasts.output`: plain lines off a terminal)."""

from __future__ import annotations

from collections.abc import Sequence

from ..output import Column, print_table, text
from .aggregate import Summary


def _rate(successful: int, failed: int) -> str:
    total = successful + failed
    return f"{successful / total:.2%}" if total else "-"


#: Most rows of a per-day table; longer spans are shown per week or per month (the JSON keeps every day).
MAX_DAY_ROWS = 62


def _print_per_day(name: str, by_day: dict[str, dict[str, int]]) -> None:
    """Sessions per UTC day of one domain, or per week / month when the span has more than MAX_DAY_ROWS days."""
    from .html import per_period

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
    counts = [Column("Successful", justify="right"), Column("Failed", justify="right")]
    rate = Column("Success rate", justify="right")
    totals: list[Sequence[str]] = []
    for name in sorted(summary.domains):
        d = summary.domains[name]
        totals.append([name, str(d.successful), str(d.failed), _rate(d.successful, d.failed)])
    print_table("Sessions per policy domain", [Column("Domain", copy=True), *counts, rate], totals)
    for name in sorted(summary.domains):
        d = summary.domains[name]
        rows: list[Sequence[str]] = []
        for result, count in sorted(d.by_result_type.items(), key=lambda kv: -kv[1]):
            rows.append(["result type", result, "", str(count), ""])
        for org, c in sorted(d.by_organization.items()):
            rows.append(["sender", org, str(c["successful"]), str(c["failed"]), _rate(**c)])
        for mx, c in sorted(d.by_mx.items()):
            rows.append(["receiving MX", mx, str(c["successful"]), str(c["failed"]), _rate(**c)])
        print_table(name, [Column("By"), Column("Key", copy=True), *counts, rate], rows)
        _print_per_day(name, d.by_day)
    if summary.conflicts:
        conflicts = [[item["organization"], item["report_id"]] for item in summary.conflicts]
        print_table("Conflicts (counted once)", [Column("Organization"), Column("Report-id", copy=True)], conflicts)
    if summary.rejected:
        rejected = [[item["source"], item["reason"]] for item in summary.rejected]
        print_table("Rejected", [Column("Source", copy=True), Column("Reason")], rejected)
