"""No control byte of a stranger's value reaches stdout or stderr, on a terminal or piped, from any command.

Outside text reaches the terminal through policy files (``validate-policy``), live answers (``check``: DNS,
HTTPS, SMTP and certificates, all shown through ``mtasts.output.print_table``) and error lines; each is fed the
hostile corpus (tests/hostile_corpus.py). tests/fleet/test_hostile_text.py runs ``reports summarize``, ``status``
and ``promote`` the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import mtasts.output
from hostile_corpus import CORPUS, forbidden_in
from mtasts.cli import main

sys.path.insert(0, str(Path(__file__).parent / "tlsrpt"))


@pytest.fixture(params=["terminal", "piped"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run once as if stdout were a terminal (rich tables, no colour so any ESC is a stranger's) and once piped."""
    if request.param == "terminal":
        monkeypatch.setattr(mtasts.output, "is_terminal", lambda: True)
        monkeypatch.setattr(
            mtasts.output,
            "console",
            lambda: Console(file=sys.stdout, width=160, highlight=False, color_system=None, force_terminal=True),
        )
    return str(request.param)


def _assert_inert(result: object) -> None:
    stdout, stderr = result.stdout, result.stderr  # type: ignore[attr-defined]
    assert not forbidden_in(stdout), sorted(forbidden_in(stdout))
    assert not forbidden_in(stderr), sorted(forbidden_in(stderr))


def test_validate_policy_quotes_hostile_lines_inert(tmp_path: Path, mode: str) -> None:
    """A policy file from outside: every error and warning line quoting it is escaped."""
    body = "version: STSv1\nmode: enforce\n" + "".join(f"mx: {c.value}\n" for c in CORPUS if "\n" not in c.value)
    body += "max_age: 86400\n\x1b]0;OWNED\x07: x\n"
    policy = tmp_path / "\x1b[2Jpolicy.txt"
    policy.write_bytes(body.encode("utf-8", "surrogatepass"))
    result = CliRunner().invoke(main, ["validate-policy", str(policy)])
    assert result.exit_code == 1
    _assert_inert(result)
    assert "\\x1b[2Jpolicy.txt" in result.stderr


def test_check_table_shows_hostile_answers_inert(capsys: pytest.CaptureFixture[str], mode: str) -> None:
    """`check`'s table of DNS, HTTPS, SMTP and certificate findings (details quote peers) prints escaped."""
    from mtasts.checker.checks import Check, DomainReport
    from mtasts.checker.cli import print_reports

    checks = [Check(f"check-{c.name}", "fail", f"server said {c.value!s}") for c in CORPUS]
    print_reports([DomainReport("a.example", checks), DomainReport(CORPUS[0].value, checks[:2])])
    out = capsys.readouterr()
    assert not forbidden_in(out.out)
    assert not forbidden_in(out.err)
    assert "\\x1b]0;OWNED\\x07" in out.out


def test_error_lines_quoting_outside_values_are_inert(tmp_path: Path) -> None:
    """An error line that quotes a path or value (here a hostile --config path) is escaped on stderr."""
    result = CliRunner().invoke(main, ["plan", "--config", str(tmp_path / "\x1b]52;c;eA==\x07.yaml")])
    assert result.exit_code == 2
    assert not forbidden_in(result.stderr)
    assert "\\x1b]52" in result.stderr
