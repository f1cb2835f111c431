"""Contracts of `plan`'s tables and of every command's help (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

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
