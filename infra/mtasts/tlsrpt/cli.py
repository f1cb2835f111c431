"""``mtasts reports``: TLS-RPT reports as tables, JSON, or one self-contained HTML page of charts."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click

from ..errors import MtastsError, Problem
from .aggregate import Reader, Summary
from .report import DEFAULT_MAX_BYTES


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


@reports.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a page of charts.")
@click.option("--since", help="Only reports whose period ends on or after this day (YYYY-MM-DD, UTC).")
@click.option("--until", help="Only reports whose period starts on or before this day (YYYY-MM-DD, UTC).")
@click.option("--max-bytes", type=click.IntRange(min=1024), default=DEFAULT_MAX_BYTES, show_default=True)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Processes that read and decode local files (0: one per CPU from 4 CPUs, else 1; 1: this process only).",
)
def summarize(
    paths: tuple[str, ...],
    as_json: bool,
    html_path: Path | None,
    since: str | None,
    until: str | None,
    max_bytes: int,
    jobs: int,
) -> None:
    """Summarize reports from PATH... (files, folders, s3://bucket/prefix) per domain, day, result, sender and MX."""
    for path in paths:
        if not path.startswith("s3://") and not Path(path).exists():
            raise click.BadParameter(f"{path!r} does not exist", param_hint="PATH")
    summary = Summary(since=_since(since), until=_until(until))
    if summary.since and summary.until and summary.until <= summary.since:
        raise click.BadParameter(f"{until!r} is before --since {since!r}", param_hint="--until")
    local = any(not path.startswith("s3://") for path in paths)
    # the worker processes are forked before the progress bar's thread starts
    with Reader(summary, max_bytes, (jobs or _jobs_default()) if local else 1) as reader:
        if _stderr_is_terminal():  # progress goes to stderr, so stdout (tables or --json) stays clean for pipes
            from rich.console import Console
            from rich.progress import Progress

            with Progress(console=Console(stderr=True), transient=True) as progress:
                task = progress.add_task("reading reports", total=None)
                listed = 0

                def more(n: int) -> None:  # S3: objects done out of objects listed so far
                    nonlocal listed
                    listed += n
                    progress.update(task, total=listed)

                reader.read(paths, lambda n: progress.advance(task, n), more)
        else:
            reader.read(paths)
    if html_path is not None:
        from .html import write_html

        try:
            write_html(summary, html_path)
        except OSError as exc:
            raise MtastsError(Problem("--html", f"cannot write {html_path}: {exc.strerror}")) from None
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        from .tables import print_summary

        print_summary(summary)
