r"""Terminal rendering of what the commands found. Formatting only, no logic.

Every table of every command (plan, diff, check, reports) goes through :func:`print_table`, so one rule holds
everywhere: a value a user copies (a policy id, a TXT value, a URL, a host name) is never split.

- stdout is not a terminal (a pipe, a file, CI logs): plain lines, one per row, columns padded with spaces,
  no box drawing, no colour and no wrapping at any width.
- A terminal wide enough for the table with those columns unbroken: a rich table; only prose columns wrap,
  at word boundaries.
- Every cell, title and line is rendered inert first (:func:`mtasts.inert.inert`): values from reports, DNS, HTTP
  and SMTP peers are shown with their control characters escaped (``\x1b``), never raw, in every one of the layouts
  below. A cell's own line breaks (several values) are kept; every other control is escaped.
- More than :data:`MAX_TABLE_ROWS` rows, or a terminal too narrow for the table: the plain lines above when they
  fit the terminal's width, else one block per row, ``Column: value`` per line, each value on one line (the
  terminal may soft-wrap a long line on screen, but copying it gives the value whole).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .inert import inert, inert_lines
from .names import to_unicode
from .plan import StackPlan

__all__ = ["SECTION", "Column", "console", "is_terminal", "print_plan", "print_table", "text"]


def is_terminal() -> bool:
    """Whether stdout is a terminal (tables) rather than a pipe or a file (plain lines)."""
    return sys.stdout.isatty()


def console() -> Console:
    """A stdout console; when stdout is not a terminal it never wraps or colours what it prints."""
    if is_terminal():
        return Console(highlight=False)
    return Console(highlight=False, soft_wrap=True, no_color=True, width=100_000, color_system=None)


def text(line: str) -> None:
    """Print prose to stdout, literally and inert; never hard-wrapped when stdout is not a terminal."""
    console().print(inert_lines(line), markup=False)


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    header: str
    """Column heading."""
    copy: bool = False
    """Holds values people copy (ids, TXT values, URLs, host names): never split across lines."""
    justify: Literal["left", "right"] = "left"
    """Alignment of the cells."""
    markup: bool = False
    """Cells carry rich markup (e.g. ``[green]pass[/]``); otherwise they are shown literally."""


Cell = str | Sequence[str]
"""A cell: one value, or several (shown one per line in a table, separated by ``, `` on a plain line)."""


def _lines(cell: Cell) -> list[str]:
    """A cell's values, one per line, each rendered inert (a value's own line breaks and controls are escaped)."""
    return [inert(c) for c in cell.split("\n")] if isinstance(cell, str) else [inert(c) for c in cell]


def _plain(cell: Cell, markup: bool = False) -> str:
    """A cell as one plain line: markup removed, several values joined without breaking any of them."""
    parts = [Text.from_markup(line).plain if markup else line for line in _lines(cell)]
    joined = ""
    for part in parts:
        if not joined:
            joined = part
        elif part.startswith(("(", "→")):
            joined += " " + part
        else:
            joined += ", " + part
    return joined or "-"


def _rich_table(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> Table:
    table = Table(title=escape(inert_lines(title)) if title else None, title_justify="left")
    for column in columns:
        if column.copy:
            table.add_column(column.header, justify=column.justify, no_wrap=True, overflow="ignore")
        else:
            table.add_column(column.header, justify=column.justify, overflow="fold")
    for row in rows:
        if row is SECTION:
            table.add_section()
            continue
        cells = []
        for column, cell in zip(columns, row, strict=True):
            lines = _lines(cell)
            cells.append("\n".join(lines) if column.markup else "\n".join(escape(line) for line in lines))
        table.add_row(*cells)
    return table


#: Longer tables print as aligned plain lines on a terminal too: a boxed table of hundreds of rows is no easier
#: to read, and rich takes about 2 ms per row to lay it out (bench/bench_plan.py).
MAX_TABLE_ROWS = 200

#: Pass as a row to draw a separator between groups of rows (ignored on plain lines).
SECTION: Sequence[Cell] = ()


def print_table(
    title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], out: Console | None = None
) -> None:
    """Print a table by the module's rule: plain lines off a terminal, a table or blocks on one; no rows: nothing."""
    out = out or console()
    title = inert_lines(title) if title else title
    body = [row for row in rows if row is not SECTION]
    if not body:  # an empty table says nothing a heading alone would not; callers say "none" in prose if it matters
        return
    if not is_terminal():
        _print_plain(title, columns, body)
        return
    if len(body) <= MAX_TABLE_ROWS and _min_width(columns, body) <= out.width:
        out.print(_rich_table(title, columns, rows))
        return
    lines = _plain_lines(columns, body)
    if max(cell_len(line) for line in lines) <= out.width:
        out.print(Text("\n".join([title, *lines] if title else lines) + "\n"), soft_wrap=True)
        return
    width = max(len(c.header) for c in columns)
    blocks = [title] if title else []
    for row in body:
        for column, cell in zip(columns, row, strict=True):
            blocks.append(f"{column.header + ':':<{width + 1}} {_plain(cell, column.markup)}")
        blocks.append("")
    out.print(Text("\n".join(blocks)), soft_wrap=True)


def _min_width(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> int:
    """Columns a rich table needs with copied values whole and prose wrapped at words (borders and padding too)."""
    total = 1
    for index, column in enumerate(columns):
        texts = [column.header, *(_plain(line, column.markup) for row in rows for line in _lines(row[index]))]
        pieces = texts if column.copy else [word for t in texts for word in t.split()]
        total += max((cell_len(piece) for piece in pieces), default=0) + 3
    return total


def _plain_lines(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> list[str]:
    """A header line and one line per row, columns padded to their widest cell (the last one is not padded)."""
    cells = [[_plain(cell, column.markup) for column, cell in zip(columns, row, strict=True)] for row in rows]
    widths = [max([len(c.header), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.rjust(widths[i]) if columns[i].justify == "right" else value.ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return "  ".join(padded).rstrip()

    return [line([c.header for c in columns]), *(line(r) for r in cells)]


def _print_plain(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> None:
    """Plain lines for pipes and files: no box drawing, no colour, no wrapping."""
    lines = [title] if title else []
    lines += _plain_lines(columns, rows)
    sys.stdout.write("\n".join(lines) + "\n\n")
    sys.stdout.flush()


def _duration(seconds: int) -> str:
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600)):
        if seconds and seconds % size == 0:
            return f"{seconds} ({seconds // size}{unit})"
    return str(seconds)


def print_plan(plan: StackPlan) -> None:
    """One summary table of domains, then every DNS record to publish."""
    if not plan.domains:
        text("No domains in the stack config.")
        return
    rows: list[Sequence[Cell]] = []
    for d in plan.domains:
        name = d.domain if to_unicode(d.domain) == d.domain else f"{d.domain}\n({to_unicode(d.domain)})"
        hosting = f"{d.config.hosting}\n(dns: external)" if d.external else d.config.hosting
        rows.append(
            [
                name,
                d.config.mode,
                hosting,
                _duration(d.config.max_age),
                list(d.config.mx) or "-",
                d.policy_id,
                d.policy_url,
            ]
        )
    print_table(
        "Policies",
        [
            Column("Domain", copy=True),
            Column("Mode"),
            Column("Hosting"),
            Column("max_age"),
            Column("MX patterns", copy=True),
            Column("Policy id", copy=True),
            Column("Policy URL", copy=True),
        ],
        rows,
    )
    records: list[Sequence[Cell]] = []
    for d in plan.domains:
        for r in d.records:  # named as senders resolve them, as in `plan --json`; the zone says where it is written
            zone, written = d.location(r.name)
            where = zone if written == r.name else f"{zone}\n(as {written})"
            records.append([r.name, r.type, str(r.ttl), where, r.value])
    columns = [Column("Name", copy=True), Column("Type"), Column("TTL"), Column("Zone"), Column("Value", copy=True)]
    print_table("DNS records", columns, records)
    delegated = [d for d in plan.domains if d.delegation]
    if delegated:
        owner: list[Sequence[Cell]] = []
        for d in delegated:
            owner += [[r.name, r.type, r.value] for r in d.delegation]
        print_table(
            "CNAMEs each domain owner publishes once (dns: external)",
            [Column("Name", copy=True), Column("Type"), Column("Value", copy=True)],
            owner,
        )
    print_quotas(plan)


def print_quotas(plan: StackPlan) -> None:
    """What the stack needs of each AWS quota next to the value it assumes (mtasts.resources.quotas)."""
    rows: list[Sequence[Cell]] = []
    for need in plan.quota_needs():
        q = need.quota
        flag = "" if need.ok else "  EXCEEDED"
        rows.append([q.key, f"{need.needed}{flag}", str(need.limit), str(q.default), need.note])
    columns = [
        Column("Quota", copy=True),
        Column("Needed", justify="right"),
        Column("Limit", justify="right"),
        Column("AWS default", justify="right"),
        Column("Counts"),
    ]
    print_table("AWS quotas (needed / assumed limit; pulumi up checks the account's applied values)", columns, rows)
