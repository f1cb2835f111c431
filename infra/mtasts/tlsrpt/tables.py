"""Terminal tables (rich) of a TLS-RPT summary."""

from __future__ import annotations

from rich.table import Table

from ..output import console
from .aggregate import Summary


def _rate(successful: int, failed: int) -> str:
    total = successful + failed
    return f"{successful / total:.2%}" if total else "-"


#: Most rows of a per-day table; longer spans are shown per week or per month (the JSON keeps every day).
MAX_DAY_ROWS = 62


def _per_day(name: str, by_day: dict[str, dict[str, int]]) -> Table:
    """Sessions per UTC day of one domain, or per week / month when the span has more than MAX_DAY_ROWS days."""
    from .html import per_period

    unit, periods = per_period({day: (c["successful"], c["failed"]) for day, c in by_day.items()}, MAX_DAY_ROWS)
    heading = {"day": "UTC day", "week": "UTC week (from Monday)", "month": "UTC month"}[unit]
    table = Table(title=f"{name}: sessions per {heading}", title_justify="left")
    table.add_column(unit.capitalize())
    for column in ("Successful", "Failed", "Success rate"):
        table.add_column(column, justify="right")
    for period, (successful, failed) in periods.items():
        table.add_row(period, str(successful), str(failed), _rate(successful, failed))
    return table


def print_summary(summary: Summary) -> None:
    """Per domain: totals, then failures by result type, sending organization and MX."""
    out = console()
    out.print(
        f"{summary.reports} report(s) accepted, {len(summary.rejected)} rejected, {summary.duplicates} duplicate(s)"
    )
    totals = Table(title="Sessions per policy domain", title_justify="left")
    for column in ("Domain", "Successful", "Failed", "Success rate"):
        totals.add_column(column, justify="right" if column != "Domain" else "left")
    for name in sorted(summary.domains):
        d = summary.domains[name]
        totals.add_row(name, str(d.successful), str(d.failed), _rate(d.successful, d.failed))
    out.print(totals)
    for name in sorted(summary.domains):
        d = summary.domains[name]
        detail = Table(title=f"{name}", title_justify="left")
        for column in ("By", "Key", "Successful", "Failed", "Success rate"):
            detail.add_column(column)
        for result, count in sorted(d.by_result_type.items(), key=lambda kv: -kv[1]):
            detail.add_row("result type", result, "", str(count), "")
        for org, counts in sorted(d.by_organization.items()):
            detail.add_row("sender", org, str(counts["successful"]), str(counts["failed"]), _rate(**counts))
        for mx, counts in sorted(d.by_mx.items()):
            detail.add_row("receiving MX", mx, str(counts["successful"]), str(counts["failed"]), _rate(**counts))
        out.print(detail)
        out.print(_per_day(name, d.by_day))
    if summary.rejected:
        rejected = Table(title="Rejected", title_justify="left")
        rejected.add_column("Source", overflow="fold")
        rejected.add_column("Reason", overflow="fold")
        for item in summary.rejected:
            rejected.add_row(item["source"], item["reason"])
        out.print(rejected)
