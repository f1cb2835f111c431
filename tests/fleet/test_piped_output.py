"""`mtasts status` and `mtasts promote` piped: plain aligned lines, as the other commands print (issue 17)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fleetworld import AS_OF, DOMAINS, network_args
from loopback import Loopback

from mtasts.cli import main

BOX = set("│┃┏┓┗┛━─┡┩╇╭╮╰╯")


def test_status_piped_prints_plain_lines_one_per_domain(world: Loopback, report_dir: Path, stack: Path) -> None:
    """No box drawing, a header line, then one line per domain that starts with its name."""
    args = ["status", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF)]
    result = CliRunner().invoke(main, [*args, *network_args(world)])
    assert result.exit_code in (0, 1), result.output
    lines = result.stdout.splitlines()
    assert not BOX & set(result.stdout)
    header = lines.index(next(line for line in lines if line.startswith("Domain ")))
    assert lines[header].split()[:3] == ["Domain", "Mode", "max_age"]
    rows = lines[header + 1 : header + 1 + len(DOMAINS)]
    assert sorted(row.split()[0] for row in rows) == sorted(DOMAINS)


def test_promote_dry_run_piped_prints_plain_lines(world: Loopback, report_dir: Path, stack: Path) -> None:
    """promote --dry-run piped: the same plain table, then one literal line per change or refusal."""
    args = ["promote", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF), "--dry-run"]
    result = CliRunner().invoke(main, [*args, *network_args(world)])
    assert result.exit_code in (0, 1), result.output
    assert not BOX & set(result.stdout)
    assert any(line.startswith("Domain ") for line in result.stdout.splitlines())
    assert result.stdout.rstrip().splitlines()[-1].endswith("refused")
