"""``mtasts reports``: TLS-RPT reports as tables, JSON, or one self-contained HTML page of charts."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from ..inert import inert, json_text
from ..outfile import check_folder, check_output
from .aggregate import Summary
from .engines import ENGINES, athena_settings, sql_summary
from .envelope import DEFAULT_MAX_BYTES
from .reader import Reader

F = TypeVar("F", bound=Callable[..., Any])


def engine_options(func: F) -> F:
    """``--engine`` and the Athena options, shared by ``reports summarize`` and ``status``."""
    options = [
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="python",
            show_default=True,
            help="python: read raw reports (the reference); duckdb: SQL over rows (folders or s3://, see "
            "`reports backfill`); athena: SQL in Athena over the rows table (mta-sts:reports.query: athena).",
        ),
        click.option("--athena-workgroup", envvar="MTASTS_ATHENA_WORKGROUP", help="Athena workgroup (--engine athena)"),
        click.option("--athena-database", envvar="MTASTS_ATHENA_DATABASE", help="Glue database (--engine athena)."),
        click.option(
            "--athena-table", envvar="MTASTS_ATHENA_TABLE", default="tlsrpt_rows", show_default=True, help="Rows table."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextmanager
def progress_bar(label: str, unit_total: bool = True) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """(advance, listed) callbacks of a progress bar on stderr when it is a terminal, else callbacks doing nothing.

    Progress goes to stderr, so stdout (tables or --json) stays clean for pipes.
    """
    if not _stderr_is_terminal():
        yield (lambda n: None), (lambda n: None)
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=None)
        listed = 0

        def more(n: int) -> None:  # objects done out of objects listed so far
            nonlocal listed
            listed += n
            progress.update(task, total=listed)

        yield (lambda n: progress.advance(task, n)), more


@click.group()
def reports() -> None:
    """Read SMTP TLS reports (RFC 8460)."""


def _date(value: str | None, option: str) -> dt.datetime | None:
    """A ``--since`` / ``--until`` value: a UTC day (YYYY-MM-DD), or an ISO 8601 date-time (UTC if no offset)."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: expected YYYY-MM-DD (a UTC day), e.g. 2026-11-01", param_hint=option
        ) from None
    return parsed.replace(tzinfo=parsed.tzinfo or dt.UTC)


def _since(value: str | None) -> dt.datetime | None:
    return _date(value, "--since")


def _until(value: str | None) -> dt.datetime | None:
    """The first instant after ``--until``: a day counts whole (reports starting on it are in)."""
    parsed = _date(value, "--until")
    if parsed is None or value is None:
        return None
    is_day = len(value.strip()) == 10
    return parsed + dt.timedelta(days=1) if is_day else parsed


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


#: Fewest CPUs for which --jobs 0 starts worker processes. Below it the parent's share (walking, merging) and the
#: cost of sending results leave nothing to gain: on 2 CPUs, 2 workers were slower than one process
#: (bench/bench_reports.py, docs/reports.md "Benchmark").
MIN_CPUS_FOR_WORKERS = 4


def _jobs_default() -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cpus if cpus >= MIN_CPUS_FOR_WORKERS else 1


@reports.command(short_help="Per-domain summary of TLS reports (files, folders, S3).")
@click.argument("paths", nargs=-1)
@engine_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a page of charts.")
@click.option("--since", help="Only reports whose period ends on or after this day (YYYY-MM-DD, UTC).")
@click.option("--until", help="Only reports whose period starts on or before this day (YYYY-MM-DD, UTC).")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1024),
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    help="Largest decompressed report read, in bytes; a larger one is refused by name, the rest are read.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Processes that read and decode local files (0: one per CPU from 4 CPUs, else 1; 1: this process only).",
)
def summarize(
    paths: tuple[str, ...],
    engine: str,
    athena_workgroup: str | None,
    athena_database: str | None,
    athena_table: str,
    as_json: bool,
    html_path: Path | None,
    since: str | None,
    until: str | None,
    max_bytes: int,
    jobs: int,
) -> None:
    """Summarize reports from PATH... (files, folders, s3://bucket/prefix) per domain, day, result, sender and MX.

    With --engine duckdb, PATH... are rows (folders, s3://bucket/ or s3://bucket/rows/); --engine athena takes no
    PATH: it queries the rows table.
    """
    if engine == "athena" and paths:
        raise click.BadParameter("--engine athena reads the rows table; give no PATH", param_hint="PATH")
    if engine != "athena" and not paths:
        raise click.BadParameter("give at least one PATH (files, folders, s3://bucket/prefix)", param_hint="PATH")
    for path in paths:
        if not path.startswith("s3://") and not Path(path).exists():
            raise click.BadParameter(f"{path!r} does not exist", param_hint="PATH")
    summary = Summary(since=_since(since), until=_until(until))
    if summary.since and summary.until and summary.until <= summary.since:
        raise click.BadParameter(f"{until!r} is before --since {since!r}", param_hint="--until")
    if html_path is not None:
        check_output(html_path, "--html")  # mtasts.outfile: refused before the reports are read, not after
    if engine != "python":
        settings = athena_settings(athena_workgroup, athena_database, athena_table)
        label = "querying Athena (bytes scanned)" if engine == "athena" else "reading rows"
        with progress_bar(label) as (advance, _):
            sql_summary(engine, paths, summary, settings, advance=advance)
    else:
        local = any(not path.startswith("s3://") for path in paths)
        # the worker processes are forked before the progress bar's thread starts
        with (
            Reader(summary, max_bytes, (jobs or _jobs_default()) if local else 1) as reader,
            progress_bar("reading reports") as (advance, listed),
        ):
            reader.read(paths, advance, listed)
    if html_path is not None:
        from .html import write_html

        write_html(summary, html_path)
    if as_json:
        click.echo(json_text(summary.to_dict()))
    else:
        from .tables import print_summary

        print_summary(summary)


@reports.command(short_help="Write the query rows of reports stored earlier.")
@click.argument("source")
@click.option(
    "--to",
    "destination",
    help="Where rows go: s3://bucket/prefix/ (default for an s3:// SOURCE: rows/ in its bucket) or a folder "
    "(required for a folder SOURCE).",
)
@click.option("--restart", is_flag=True, help="S3: ignore the checkpoint of an earlier run and start over.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1024),
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    help="Largest decompressed report read, in bytes; a larger one is refused by name, the rest are read.",
)
def backfill(source: str, destination: str | None, restart: bool, as_json: bool, max_bytes: int) -> None:
    """Write the rows (for --engine duckdb|athena) of every report stored under SOURCE before the receiver did.

    Idempotent (the same rows objects again) and, in S3, resumable: an interrupted run goes on after the last
    finished page of 1,000 objects. Exit status 0, also when some objects held no valid report (listed).
    """
    from .backfill import backfill_local, backfill_s3

    with progress_bar("backfilling rows") as (advance, _):
        if source.startswith("s3://"):
            if destination is not None and not destination.startswith("s3://"):
                raise click.BadParameter("an s3:// SOURCE needs an s3:// destination", param_hint="--to")
            result = backfill_s3(source, destination, restart=restart, limit=max_bytes, advance=advance)
        else:
            if not Path(source).is_dir():
                raise click.BadParameter(f"{source!r} is not a folder", param_hint="SOURCE")
            if destination is None or destination.startswith("s3://"):
                raise click.BadParameter("a folder SOURCE needs --to FOLDER", param_hint="--to")
            check_folder(Path(destination), "--to")  # mtasts.outfile: refused before the reports are read
            result = backfill_local(Path(source), Path(destination), limit=max_bytes, advance=advance)
    if as_json:
        click.echo(json_text(result.to_dict()))
        return
    resumed = f" (resumed after {inert(result.resumed_after)})" if result.resumed_after else ""
    click.echo(f"{result.objects} objects read{resumed}, {result.rows_objects} reports' rows written")
    for item in result.rejected:
        click.echo(f"  rejected {inert(item['source'])}: {inert(item['reason'])}")


@reports.command(short_help="Merge each finished day's rows objects into one.")
@click.argument("location")
@click.option("--before", help="Compact days before this one (YYYY-MM-DD, UTC; default: two days ago).")
@click.option("--dry-run", is_flag=True, help="Say which days would be compacted; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def compact(location: str, before: str | None, dry_run: bool, as_json: bool) -> None:
    """Merge each finished day's rows objects under LOCATION (s3://bucket/ or s3://bucket/rows/) into one file.

    Athena and DuckDB then read one object per day instead of one per report. Safe to interrupt and to run again
    (the merged file is written before the merged objects are deleted; every engine counts a report once).
    """
    from .compact import compact_s3

    if not location.startswith("s3://"):
        raise click.BadParameter("expected s3://BUCKET/ (local rows: `reports backfill` writes one file per day)")
    day = None
    if before is not None:
        parsed = _date(before, "--before")
        day = parsed.date() if parsed else None
    with progress_bar("compacting rows") as (advance, _):
        result = compact_s3(location, day, dry_run=dry_run, advance=advance)
    if as_json:
        click.echo(json_text({**result.to_dict(), "dry_run": dry_run}))
        return
    verb = "would merge" if dry_run else "merged"
    click.echo(f"{len(result.days)} day(s): {verb} {result.merged} rows object(s) into one per day")
