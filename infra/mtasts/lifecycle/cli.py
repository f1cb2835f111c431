"""``mtasts diff``: what a pull request changes for senders."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli import stack_options, stack_path, warn
from ..config import TemplateStore
from ..inert import json_text, md_code, md_text
from ..names import to_unicode
from ..plan import plan_stack_file
from .diff import DomainDiff, StackDiff, diff_plans, plan_at_ref, with_live_mx


def _describe(d: DomainDiff) -> list[str]:
    """One short line per change, for tables and markdown."""
    lines: list[str] = []
    for name, old, new in d.changes:
        lines.append(f"{name}: {old} → {new}")
    lines += [f"mx + {p}" for p in d.mx_added] + [f"mx − {p}" for p in d.mx_removed]
    lines += [f"rua + {u}" for u in d.rua_added] + [f"rua − {u}" for u in d.rua_removed]
    if d.status == "added" and d.new:
        c = d.new.config
        lines.insert(0, f"new: mode {c.mode}, max_age {c.max_age}, mx {', '.join(c.mx) or '-'}")
    if d.status == "removed" and d.old:
        lines.insert(0, f"removed (was mode {d.old.config.mode}, max_age {d.old.config.max_age})")
    return lines


def render_markdown(diff: StackDiff, stack: str) -> str:
    """The pull-request comment body."""
    out = [f"### MTA-STS changes for stack {md_code(stack)} (against {md_code(diff.base)})", ""]
    changed = diff.changed
    if not changed:
        out.append("No change for senders: every policy, id and record stays as it is.")
        return "\n".join(out) + "\n"
    out += ["| domain | status | policy id | changes |", "| --- | --- | --- | --- |"]
    for d in changed:
        old_id = d.old.policy_id[:12] if d.old else "—"
        new_id = d.new.policy_id[:12] if d.new else "—"
        name = d.domain if to_unicode(d.domain) == d.domain else f"{d.domain} ({to_unicode(d.domain)})"
        described = "<br>".join(md_text(line) for line in _describe(d)) or "—"
        out.append(f"| {md_code(name)} | {d.status} | {md_code(old_id)} → {md_code(new_id)} | {described} |")
    if diff.warnings:  # a warning may quote a live MX host name (--preflight): escaped like every value
        out += ["", "**Warnings**", ""]
        out += [f"- ⚠️ {md_code(w.path)}: {md_text(w.message)}" for w in diff.warnings]
    unchanged = len(diff.domains) - len(changed)
    out += ["", f"{len(changed)} domain(s) change, {unchanged} unchanged."]
    return "\n".join(out) + "\n"


def print_table(diff: StackDiff) -> None:
    """Readable terminal output (plain lines when stdout is not a terminal); warnings go to stderr."""
    from ..output import Column, text
    from ..output import print_table as show

    changed = diff.changed
    if not changed:
        text(f"No change for senders against {diff.base}.")
        return
    rows = []
    for d in changed:
        ids = [d.old.policy_id if d.old else "-", f"→ {d.new.policy_id if d.new else '-'}"]
        rows.append([d.domain, d.status, ids, _describe(d)])
    columns = [Column("Domain", copy=True), Column("Status"), Column("Policy id", copy=True), Column("Changes")]
    show(f"Changes against {diff.base}", columns, rows)


@click.command()
@stack_options
@click.option("--base", "base", required=True, help="Git ref to compare against, e.g. origin/main.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the pull-request comment body.")
@click.option(
    "--preflight", is_flag=True, help="Warn when an MX pattern removed from an enforce policy still covers a live MX."
)
@click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]", help="Resolver for --preflight.")
@click.option(
    "--evidence",
    "evidence_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A `mtasts status --json` document: --markdown adds its evidence for each mode or max_age change.",
)
def diff(
    stack: str | None,
    config_path: Path | None,
    templates_dir: Path | None,
    base: str,
    as_json: bool,
    as_markdown: bool,
    preflight: bool,
    nameservers: tuple[str, ...],
    evidence_path: Path | None = None,
) -> None:
    """Show, offline, what the working tree's stack config changes for senders against --base.

    Per domain: mode, max_age, MX patterns and rua added or removed, old and
    new policy id, domains added or removed, and warnings for changes that
    can strand mail or leave old policies cached.
    """
    if as_json and as_markdown:
        raise click.UsageError("--json and --markdown exclude each other")
    path = stack_path(stack, config_path)
    new = plan_stack_file(path, TemplateStore(templates_dir) if templates_dir else None)
    old = plan_at_ref(path, base, templates_dir)
    result = diff_plans(old, new, base)
    if preflight:
        from ..checker.cli import make_network

        result = with_live_mx(result, make_network(nameservers, None, (), 15.0))
    # Each warning is printed once: inside the JSON or markdown document, or on stderr beside the table.
    if as_json:
        click.echo(json_text(result.to_dict()))
    elif as_markdown:
        text = render_markdown(result, stack or path.name)
        if evidence_path is not None:
            from ..fleet.cli import diff_evidence  # docs/fleet.md: the evidence behind a promotion

            text += diff_evidence(result, evidence_path)
        click.echo(text, nl=False)
    else:
        warn(result.warnings)
        print_table(result)
