"""``mtasts status`` and ``mtasts promote``: the fleet in one pane, and the next safe step as one edit."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import click

from ..alerts.cli import EXIT_NOTIFY, notify_options, state_file, targets_from_options
from ..alerts.cli import notify as run_notifications
from ..alerts.settings import alerts_from_settings
from ..alerts.webhooks import Sender
from ..checker.cli import certificate_options, certificate_thresholds, make_network, network_options
from ..cli import EXIT_FAILED, stack_options, stack_path, warn
from ..config import TemplateStore
from ..errors import ConfigError, MtastsError, Problem
from ..inert import json_text
from ..names import HostnameError, normalize_hostname
from ..outfile import check_output, write_output
from ..plan import StackPlan, plan_stack_file
from ..tlsrpt.cli import engine_options
from ..tlsrpt.engines import athena_settings
from ..tlsrpt.envelope import DEFAULT_MAX_BYTES
from .evidence import read_live, report_evidence, window
from .history import step_starts
from .rules import rules_from_settings
from .status import FleetStatus, evaluate_fleet
from .tables import TERMINAL_ROWS

F = TypeVar("F", bound=Callable[..., Any])
EXIT_NOTHING = 1
#: From this many domains on, reports are read in a second process while the live checks run (starting one costs
#: about 0.3 s; bench/bench_status.py measures what it saves at 1,000 domains).
SEPARATE_PROCESS_FROM = 100


#: ``--markdown`` of ``status`` and ``promote``: the same evidence table, to a file or (alone) to stdout.
markdown_option = click.option(
    "--markdown",
    "markdown_path",
    metavar="[FILE]",
    is_flag=False,
    flag_value="-",
    help="Write the evidence table (the pull-request body) as markdown to FILE; alone, print it instead of the tables.",
)


def evidence_options(func: F) -> F:
    """Options shared by ``status`` and ``promote``: where the evidence comes from and the window."""
    options = [
        click.option(
            "--reports",
            "report_paths",
            multiple=True,
            metavar="PATH|s3://BUCKET/PREFIX",
            help="TLS-RPT reports: files, folders or S3 prefixes (repeatable).",
        ),
        click.option("--days", type=click.IntRange(1, 400), help="Days of reports (default: window_days, 30)."),
        click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Last day of the window (default: today, UTC)."),
        click.option("--no-live", is_flag=True, help="Skip the live checks (verdicts cannot be ready then)."),
        click.option("--no-starttls", is_flag=True, help="Do not connect to MX hosts on port 25."),
        click.option(
            "--max-bytes",
            type=click.IntRange(min=1024),
            default=DEFAULT_MAX_BYTES,
            show_default=True,
            help="Largest decompressed report read, in bytes; a larger one is refused by name, the rest are read.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return stack_options(certificate_options(network_options(engine_options(func))))  # --stack listed first


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(Problem("--as-of", f"{value!r} is not a date (YYYY-MM-DD)")) from None


def _check_options(options: dict[str, Any]) -> None:
    """Bad option values fail before anything is read."""
    _as_of(options["as_of"])
    for path in options["report_paths"]:
        if not path.startswith("s3://") and not Path(path).exists():
            raise ConfigError(Problem("--reports", f"{path!r} does not exist"))
    if options["engine"] == "athena" and options["report_paths"]:
        raise ConfigError(Problem("--reports", "--engine athena reads the rows table; give no --reports"))


def gather(plan: StackPlan, options: dict[str, Any]) -> FleetStatus:
    """Read the reports and the live state, and judge every domain of ``plan``."""
    rules = rules_from_settings(plan.config.settings)
    alerts = certificate_thresholds(
        alerts_from_settings(plan.config.settings), options.get("cert_warn_days"), options.get("cert_action_days")
    )
    first, last = window(_as_of(options["as_of"]), options["days"] or rules.window_days)
    paths, limit = list(options["report_paths"]), options["max_bytes"]
    engine = options["engine"]
    athena = athena_settings(options["athena_workgroup"], options["athena_database"], options["athena_table"])
    live = None
    if options["no_live"] or not plan.domains:
        accepted, rejected, reports = report_evidence(paths, first, last, limit, engine, athena)
    else:
        net = make_network(options["nameservers"], options["ca_file"], options["connect_to"], options["timeout"])
        # SQL engines answer in seconds (DuckDB) or in AWS (Athena): only the Python reader gets its own process
        if engine == "python" and paths and len(plan.domains) >= SEPARATE_PROCESS_FROM:
            # The report part runs in a process of its own while this one checks live: both can keep a core busy
            # (TLS handshakes here, JSON decoding there) without contending for one interpreter lock.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                future = pool.submit(report_evidence, paths, first, last, limit)
                live = read_live(plan.domains, net, starttls=not options["no_starttls"], alerts=alerts)
                accepted, rejected, reports = future.result()
        else:
            accepted, rejected, reports = report_evidence(paths, first, last, limit, engine, athena)
            live = read_live(plan.domains, net, starttls=not options["no_starttls"], alerts=alerts)
    starts = step_starts(options["path"], [str(d.config.key) for d in plan.domains], first, last)
    statuses = evaluate_fleet(plan.domains, live, reports, rules, starts)
    return FleetStatus(statuses, rules, first, last, accepted, rejected)


def _load(options: dict[str, Any]) -> tuple[Path, StackPlan, TemplateStore | None]:
    _check_options(options)
    path = stack_path(options["stack"], options["config_path"])
    templates = TemplateStore(options["templates_dir"]) if options["templates_dir"] else None
    plan = plan_stack_file(path, templates)
    warn(plan.warnings)
    options["path"] = path
    return path, plan, templates


@click.command()
@evidence_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@markdown_option
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the fleet page.")
@click.option(
    "--rows",
    type=click.IntRange(min=0),
    default=TERMINAL_ROWS,
    show_default=True,
    help="Domains listed in the terminal, those needing attention first; the rest are counted (0: all).",
)
@notify_options
def status(
    as_json: bool, markdown_path: str | None, html_path: Path | None, rows: int, notify: tuple[str, ...],
    notify_state: Path | None, **options: Any,
) -> None:  # fmt: skip
    """Every domain of the stack: planned, live, reported, and a verdict with its reasons.

    Verdicts: ready (next step safe), hold (not yet, and why), ok (top of the ladder), action-needed, unknown
    (the live state could not be read), pending, not-deployed (nothing published yet), retiring. With --notify,
    posts the domains whose verdict changed since the last run (docs/alerts.md). Exit status 0 when no domain is
    action-needed, 1 when one is, 3 when a notification could not be delivered, 2 on bad input.
    """
    if as_json and markdown_path == "-":
        raise click.UsageError("--json and --markdown without a FILE both print to stdout; give --markdown a FILE")
    if notify_state is not None and not notify:
        raise click.UsageError("--notify-state needs --notify")
    targets, secret = targets_from_options(notify)
    markdown_file = _markdown_file(markdown_path)
    for output, option in ((html_path, "--html"), (markdown_file, "--markdown")):
        if output is not None:
            check_output(output, option)  # mtasts.outfile: refused before minutes of reading, not after
    path, plan, _ = _load(options)
    stack = options["stack"] or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    if targets:
        check_output(state_file(notify_state, stack), "--notify-state", parents=True)
    fleet = gather(plan, options)
    if html_path is not None:
        from .page import write_page

        write_page(fleet, html_path)
    if markdown_file is not None:
        from .tables import evidence_markdown

        write_output(markdown_file, evidence_markdown(fleet).encode("utf-8"), "--markdown")
    if as_json:
        click.echo(json_text(fleet.to_dict()))
    elif markdown_path == "-":
        from .tables import evidence_markdown

        click.echo(evidence_markdown(fleet), nl=False)
    else:
        from .tables import print_fleet

        print_fleet(fleet, rows)
    if targets and not run_notifications(fleet.to_dict(), stack, targets, notify_state, Sender(secret)):
        sys.exit(EXIT_NOTIFY)
    if fleet.counts["action-needed"]:
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("domains", nargs=-1)
@evidence_options
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--demote", is_flag=True, help="Also propose testing for enforcing domains whose mail fails.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@markdown_option
def promote(
    domains: tuple[str, ...], dry_run: bool, demote: bool, as_json: bool, markdown_path: str | None, **options: Any
) -> None:
    """Apply the next step to every ready DOMAIN (default: all) by editing Pulumi.<stack>.yaml in place.

    Only the changed values differ in the file; comments, order, quoting and layout stay. Exit status 0 when
    something changed (or would, with --dry-run), 1 when nothing was ready, 2 on bad input.
    """
    from .promote import apply_steps, choose_steps
    from .tables import MAX_ROWS, evidence_markdown, print_fleet, print_promotion

    if as_json and markdown_path == "-":
        raise click.UsageError("--json and --markdown without a FILE both print to stdout; give --markdown a FILE")
    markdown_file = _markdown_file(markdown_path)
    if markdown_file is not None:
        check_output(markdown_file, "--markdown")  # before the stack file is edited: all or nothing
    path, plan, templates = _load(options)
    selected = plan
    if domains:
        names = []
        for domain in domains:
            try:
                names.append(normalize_hostname(domain))
            except HostnameError as exc:
                raise ConfigError(Problem(domain, str(exc))) from None
        unknown = [n for n in names if n not in {d.domain for d in plan.domains}]
        if unknown:
            raise ConfigError([Problem(f"domains.{n}", f"is not in {path}") for n in unknown])
        selected = StackPlan(plan.config, tuple(d for d in plan.domains if d.domain in names))
    fleet = gather(selected, options)
    steps, refused = choose_steps(fleet.domains, demote)
    if steps:
        apply_steps(path, plan, steps, templates, write=not dry_run)
    if markdown_file is not None:
        text = evidence_markdown(fleet, steps=steps, limit=MAX_ROWS)
        write_output(markdown_file, text.encode("utf-8"), "--markdown")
    if as_json:
        document = fleet.to_dict()
        document["changes"] = [s.to_dict() for s in steps]
        document["refused"] = [{"domain": s.domain, "reasons": reasons} for s, reasons in refused]
        document["dry_run"] = dry_run
        click.echo(json_text(document))
    elif markdown_path == "-":
        click.echo(evidence_markdown(fleet, steps=steps, limit=MAX_ROWS), nl=False)
    else:
        print_fleet(fleet)
        print_promotion(steps, refused, dry_run)
    if not steps:
        sys.exit(EXIT_NOTHING)


def _markdown_file(markdown_path: str | None) -> Path | None:
    """The FILE of ``--markdown FILE``; None for no ``--markdown`` or ``--markdown`` alone (stdout).

    Written by :func:`mtasts.outfile.write_output`: atomic, never through a symbolic link, inside the working tree
    in CI unless ``MTASTS_ALLOW_WRITE`` names it (docs/fleet.md, "Files the commands write").
    """
    return None if markdown_path in (None, "-") else Path(str(markdown_path))


def diff_evidence(diff: Any, path: Path) -> str:
    """For ``mtasts diff --markdown --evidence FILE``: the evidence rows of every mode or max_age change in ``diff``.

    ``diff`` is a :class:`mtasts.lifecycle.diff.StackDiff`; ``path`` a ``mtasts status --json`` document (an
    unreadable or invalid one is a one-line error).
    """
    from .tables import diff_evidence_markdown

    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise MtastsError(Problem("--evidence", f"cannot read {path}: {exc.strerror}")) from None
    except ValueError as exc:
        raise MtastsError(Problem("--evidence", f"{path} is not a `mtasts status --json` document: {exc}")) from None
    if not isinstance(document, dict):
        raise MtastsError(Problem("--evidence", f"{path} is not a `mtasts status --json` document"))
    changes = []
    for d in diff.domains:
        if d.old is None or d.new is None:
            continue
        old, new = d.old.config, d.new.config
        if (old.mode, old.max_age) != (new.mode, new.max_age):
            changes.append((d.domain, old.mode, old.max_age, new.mode, new.max_age))
    return diff_evidence_markdown(changes, document)
