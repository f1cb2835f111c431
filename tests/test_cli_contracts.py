"""Contracts of `plan`'s tables and of every command's help (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from mtasts.cli import main

STACK = """config:
  mta-sts:hostingZone: mtasts.example.net
  mta-sts:domains:
    example.com:
      dns: external
      mode: testing
      mx: [mx.example.com]
    example.org:
      mode: enforce
      mx: [mx.example.org]
"""


def _plan(tmp_path: Path, *extra: str) -> str:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(STACK)
    result = CliRunner().invoke(main, ["plan", "--config", str(path), *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_plan_table_shows_each_domains_hosting_mode(tmp_path: Path) -> None:
    """The Policies table has a Hosting column: shared for the delegated domain, dedicated for the other."""
    lines = _plan(tmp_path).splitlines()
    header = next(line for line in lines if line.startswith("Domain"))
    assert "Hosting" in header.split()
    com = next(line for line in lines if line.startswith("example.com "))
    org = next(line for line in lines if line.startswith("example.org "))
    assert "shared (dns: external)" in com
    assert " dedicated " in org


def test_plan_table_names_delegated_records_as_the_json_does(tmp_path: Path) -> None:
    """Each DNS record row starts with the name `plan --json` gives it; the hosting zone is named beside it."""
    text = _plan(tmp_path)
    doc = json.loads(_plan(tmp_path, "--json"))
    records = text.split("DNS records\n", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    names = [row.split()[0] for row in records]
    assert names == [r["name"] for d in doc["domains"] for r in d["records"]]
    delegated = next(row for row in records if row.startswith("_mta-sts.example.com "))
    assert "mtasts.example.net" in delegated


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found += _commands(sub, (*path, name))
    return found


def test_every_option_of_every_command_is_described() -> None:
    """Walking click's command tree, every option (--max-bytes, check --templates, ...) has a help text."""
    bare = [
        f"mtasts {' '.join(path)} {param.opts[0]}"
        for path, command in _commands(main)
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not param.help
    ]
    assert bare == []


def test_stack_is_the_first_option_of_every_command_that_reads_a_stack() -> None:
    """--stack is listed first wherever it is accepted."""
    late = [
        " ".join(path)
        for path, command in _commands(main)
        if any("--stack" in p.opts for p in command.params)
        and next(p for p in command.params if isinstance(p, click.Option)).opts[0] != "--stack"
    ]
    assert late == []


def test_markdown_means_the_same_in_status_and_promote() -> None:
    """status and promote share one --markdown option: same help, same optional FILE."""
    options = {}
    for path, command in _commands(main):
        for param in command.params:
            if isinstance(param, click.Option) and "--markdown" in param.opts and path[0] in ("status", "promote"):
                options[path[0]] = (param.help, param.metavar, param.flag_value)
    assert set(options) == {"status", "promote"}
    assert options["status"] == options["promote"]


def test_no_command_description_is_cut_off() -> None:
    """No command list in any --help ends a description with click's "..." truncation."""
    for path, command in _commands(main):
        if not isinstance(command, click.Group):
            continue
        text = CliRunner().invoke(main, [*path, "--help"], terminal_width=80).output
        listed = text.split("Commands:\n", 1)[1]
        assert not [line for line in listed.splitlines() if line.rstrip().endswith("...")], (path, listed)


def test_markdown_file_and_bare_markdown_give_the_same_table(tmp_path: Path) -> None:
    """status, promote: `--markdown FILE` writes exactly what `--markdown` alone prints; with --json it needs FILE."""
    stack = tmp_path / "Pulumi.t.yaml"
    stack.write_text(STACK)
    for command in ("status", "promote"):
        base = [command, "--config", str(stack), "--no-live", "--as-of", "2026-11-19"]
        if command == "promote":
            base.append("--dry-run")
        printed = CliRunner().invoke(main, [*base, "--markdown"])
        assert printed.exit_code in (0, 1), printed.output
        assert printed.stdout.startswith("|") or "| Domain |" in printed.stdout, printed.stdout
        body = tmp_path / f"{command}.md"
        written = CliRunner().invoke(main, [*base, "--markdown", str(body), "--json"])
        assert written.exit_code in (0, 1), written.output
        assert body.read_text(encoding="utf-8") == printed.stdout
        json.loads(written.stdout)
        clash = CliRunner().invoke(main, [*base, "--json", "--markdown"])
        assert clash.exit_code == 2
        assert "give --markdown a FILE" in clash.stderr
