"""Terminal tables of a TLS-RPT summary (rendered by :mod:`mtasts.output`: plain lines off a terminal)."""

from __future__ import annotations

from collections.abc import Sequence

from ..output import Column, print_table, text
from .aggregate import Summary


def _rate(successful: int, failed: int) -> str:
    total = successful + failed
    return f"{successful / total:.2%}" if total else "-"


def print_summary(summary: Summary) -> None:
    """Per domain: totals, then failures by result type, sending organization and MX."""
    text(f"{summary.reports} report(s) accepted, {len(summary.rejected)} rejected, {summary.duplicates} duplicate(s)")
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
    if summary.rejected:
        rejected = [[item["source"], item["reason"]] for item in summary.rejected]
        print_table("Rejected", [Column("Source", copy=True), Column("Reason")], rejected)
