"""Contracts that hold on every command: one clear line per mistake, naming its cause and line (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mtasts.cli import main


def plan(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["plan", "--config", str(path)])
    return result.exit_code, result.output


def test_a_tab_is_named_with_its_line(tmp_path: Path) -> None:
    """A tab in the indentation says "tab", with the line and column, not the scanner's token talk."""
    code, out = plan(tmp_path, "config:\n  mta-sts:domains:\n    example.com:\n\t  mode: testing\n")
    assert code == 2
    assert out.startswith(f"error: {tmp_path / 'Pulumi.t.yaml'}:4: invalid YAML: a tab at column 1")
    assert "spaces" in out


def test_a_bad_indent_points_at_the_wrong_line(tmp_path: Path) -> None:
    """The line whose indentation is wrong is the line named, and the message says to check the indentation."""
    text = "config:\n  mta-sts:domains:\n    example.com:\n      mode: testing\n     mx: [mx.example.com]\n"
    code, out = plan(tmp_path, text)
    assert code == 2
    assert ":5: invalid YAML:" in out
    assert "indentation" in out


def test_one_typo_one_error(tmp_path: Path) -> None:
    """A misspelt hostingZone is one error suggesting the right key, not also one per external domain."""
    text = (
        "config:\n  mta-sts:hostingzone: mtasts.example.net\n  mta-sts:domains:\n    example.com:\n"
        "      dns: external\n      mode: testing\n      mx: [mx.example.com]\n"
    )
    code, out = plan(tmp_path, text)
    assert code == 2
    assert out.count("error:") == 1
    assert "did you mean mta-sts:hostingZone?" in out


@pytest.mark.parametrize("extra", ["zone: example.com", "allow_overwrite: true"])
def test_dns_external_refuses_contradictory_settings(tmp_path: Path, extra: str) -> None:
    """dns: external with zone or allow_overwrite (records the kit would never write) is refused, naming the key."""
    text = (
        "config:\n  mta-sts:hostingZone: mtasts.example.net\n  mta-sts:domains:\n    example.com:\n"
        f"      dns: external\n      mode: testing\n      mx: [mx.example.com]\n      {extra}\n"
    )
    code, out = plan(tmp_path, text)
    key = extra.split(":")[0]
    assert code == 2
    assert f"error: domains.example.com.{key}: contradicts dns: external" in out


def test_missing_stack_lists_the_stacks_and_how_to_create_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--stack prod` without its file names the stacks that exist and `pulumi stack init prod`."""
    (tmp_path / "Pulumi.yaml").write_text("name: mtasts\nruntime: python\n")
    (tmp_path / "Pulumi.staging.yaml").write_text("config: {}\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["plan", "--stack", "prod"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "the stacks here are dev, staging" in result.output
    assert "`pulumi stack init prod`" in result.output
