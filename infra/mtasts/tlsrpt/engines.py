"""Which engine counts: the Python reader over raw reports (the reference), or SQL over rows (DuckDB, Athena).

``reports summarize`` and ``status`` call :func:`sql_summary` for ``--engine duckdb|athena``; it fills the same
:class:`~mtasts.tlsrpt.aggregate.Summary` the Python reader fills, so everything downstream is shared.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence

from .aggregate import Summary
from .athena import AthenaSettings
from .sql import Window, fill_summary

__all__ = ["ENGINES", "athena_settings", "sql_summary"]

#: ``--engine`` values; python is the default and the reference.
ENGINES = ("python", "duckdb", "athena")


def athena_settings(workgroup: str | None, database: str | None, table: str | None) -> AthenaSettings:
    """Options, else the MTASTS_ATHENA_* environment variables (an empty value: not configured)."""
    return AthenaSettings(
        workgroup=workgroup or os.environ.get("MTASTS_ATHENA_WORKGROUP", ""),
        database=database or os.environ.get("MTASTS_ATHENA_DATABASE", ""),
        table=table or os.environ.get("MTASTS_ATHENA_TABLE", "") or "tlsrpt_rows",
    )


def sql_summary(
    engine: str,
    locations: Sequence[str],
    summary: Summary,
    athena: AthenaSettings | None = None,
    details: Counter[tuple[str, str, str, str, str]] | None = None,
    advance: Callable[[int], None] | None = None,
) -> None:
    """Fill ``summary`` (window: its since/until) from the rows with ``engine`` (duckdb or athena).

    ``advance(n)``: DuckDB fetched n more S3 rows objects, or Athena has scanned n more bytes.
    """
    window = Window(summary.since, summary.until)
    if engine == "duckdb":
        from .duck import duckdb_records

        records = duckdb_records(locations, window, advance=advance)
    elif engine == "athena":
        from .athena import athena_records

        done = 0

        def scanned(total: int) -> None:
            nonlocal done
            if advance is not None and total > done:
                advance(total - done)
            done = max(done, total)

        records = athena_records(athena or athena_settings(None, None, None), window, scanned=scanned)
    else:
        raise ValueError(f"no SQL engine {engine!r}")
    fill_summary(summary, records, details)
