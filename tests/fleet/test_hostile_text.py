"""Issue 21 §1: every command that prints a stranger's text prints it inert, on a terminal (rich) and piped.

The hostile values of tests/hostile_corpus.py go into every field a TLS-RPT report carries (organization, contact,
report id, MX names, failure reason codes, additional information) and into a rejected file's name; ``reports
summarize``, ``status`` and ``promote`` then run on a terminal and through a pipe, and no control byte reaches
stdout or stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fleetworld import AS_OF, network_args
from loopback import Loopback
from reports import report
from rich.console import Console

import mtasts.output

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hostile_corpus import CORPUS, TERMINAL_ATTACKS, forbidden_in
from mtasts.cli import main

#: Every markdown and HTML attack of the corpus in one value.
MARKDOWN_ATTACKS = " ".join(c.value for c in CORPUS if c.name.startswith(("md-", "html-")))

#: The SGR colour sequences rich itself writes on a terminal; everything else with ESC came from outside.
_RICH_SGR = re.compile("\x1b\\[[0-9;]*m")


def hostile_report(domain: str, day: dt.date) -> dict[str, object]:
    """A report for ``domain`` whose every stranger-written string carries the terminal attacks."""
    document = report(
        org=TERMINAL_ATTACKS,
        report_id=TERMINAL_ATTACKS,
        domain=domain,
        day=str(day),
        successful=10,
        failures=[("validation-failure", f"mx1.{domain}", 1), ("certificate-expired", TERMINAL_ATTACKS, 1)],
    )
    document["contact-info"] = TERMINAL_ATTACKS
    details = document["policies"][0]["failure-details"]  # type: ignore[index]
    details[0]["failure-reason-code"] = TERMINAL_ATTACKS
    details[0]["additional-information"] = TERMINAL_ATTACKS
    return document


@pytest.fixture(scope="module")
def hostile_reports(report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fleet's reports plus a hostile report for certexp.example and a rejected file with a hostile name."""
    folder = tmp_path_factory.mktemp("hostile-reports")
    for path in report_dir.iterdir():
        shutil.copy(path, folder / path.name)
    day = AS_OF - dt.timedelta(days=1)
    (folder / "hostile.json").write_text(json.dumps(hostile_report("certexp.example", day)))
    (folder / "\x1b]0;OWNED\x07\u202e.json").write_text("{not json \x1b[2J")
    return folder


def run(monkeypatch: pytest.MonkeyPatch, terminal: bool, *args: str) -> Result:
    """Run the CLI with stdout taken as a terminal (a colour rich console) or as a pipe."""
    monkeypatch.setattr(mtasts.output, "is_terminal", lambda: terminal)
    if terminal:
        monkeypatch.setattr(mtasts.output, "console", lambda: Console(highlight=False, force_terminal=True, width=160))
    return CliRunner().invoke(main, list(args))


def assert_inert(result: Result) -> None:
    """No control, bidi or surrogate character from outside on stdout or stderr (rich's own colours aside)."""
    for stream in (result.stdout, result.stderr):
        assert not forbidden_in(_RICH_SGR.sub("", stream)), stream[-3000:]
    assert "\\x1b]0;OWNED\\x07" in result.stdout + result.stderr


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
def test_summarize_prints_hostile_report_fields_inert(
    monkeypatch: pytest.MonkeyPatch, hostile_reports: Path, terminal: bool
) -> None:
    """`reports summarize` shows a hostile organization, MX, reason code and file name escaped, never raw."""
    result = run(monkeypatch, terminal, "reports", "summarize", str(hostile_reports))
    assert result.exit_code in (0, 1), result.output
    assert_inert(result)


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
def test_status_and_promote_print_hostile_reasons_inert(
    monkeypatch: pytest.MonkeyPatch, world: Loopback, hostile_reports: Path, stack: Path, terminal: bool
) -> None:
    """`status` and `promote --dry-run` show reasons quoting a hostile report escaped, and rich markup literally."""
    common = ["--config", str(stack), "--reports", str(hostile_reports), "--as-of", str(AS_OF), *network_args(world)]
    for command in (["status", "--rows", "0"], ["promote", "--dry-run"]):
        result = run(monkeypatch, terminal, *command, *common)
        assert result.exit_code in (0, 1), result.output
        assert_inert(result)
        assert "\x1b]8;" not in result.stdout  # rich markup in a value never becomes an OSC 8 hyperlink


def test_promote_refuses_a_stack_file_symlinked_out_of_the_repository(
    world: Loopback, report_dir: Path, tmp_path: Path
) -> None:
    """A stack file that links out of the repository is refused with one line, exit 2; the target is untouched."""
    from fleetworld import STACK

    outside = tmp_path / "elsewhere" / "Pulumi.fleet.yaml"
    outside.parent.mkdir()
    outside.write_text(STACK)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    link = repo / "Pulumi.fleet.yaml"
    link.symlink_to(outside)
    common = ["--config", str(link), "--reports", str(report_dir), "--as-of", str(AS_OF), *network_args(world)]
    result = CliRunner().invoke(main, ["promote", *common])
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "is a symbolic link to" in error
    assert "outside the repository" in error
    assert outside.read_text() == STACK
    assert link.is_symlink()


def test_promote_edits_the_target_of_a_link_inside_the_repository(
    world: Loopback, report_dir: Path, tmp_path: Path
) -> None:
    """A stack file linked to another file of the repository is edited through the link, which stays a link."""
    from fleetworld import STACK

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "stacks").mkdir()
    target = repo / "stacks" / "fleet.yaml"
    target.write_text(STACK)
    link = repo / "Pulumi.fleet.yaml"
    link.symlink_to(target)
    common = ["--config", str(link), "--reports", str(report_dir), "--as-of", str(AS_OF), *network_args(world)]
    result = CliRunner().invoke(main, ["promote", *common])
    assert result.exit_code in (0, 1), result.output
    assert link.is_symlink()
    assert target.read_text() != STACK  # the promoted values were written to the link's target


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_notification_text_carries_no_link_mention_or_control(kind: str) -> None:
    """Slack and Teams text of a hostile reason and outage: no control, no <link>, no bare URL, no @mention."""
    from mtasts.alerts.changes import Change
    from mtasts.alerts.webhooks import payload

    hostile = TERMINAL_ATTACKS + " " + MARKDOWN_ATTACKS + " <!channel> <@U123> @here"
    changes = [
        Change("x.example", "ok", "action-needed", [hostile], [hostile]),
        Change("y.example", None, "unknown", outage=hostile),
    ]
    document = json.loads(payload(kind, "prod", "", changes))  # type: ignore[arg-type]
    if kind == "slack":
        texts = [b["text"]["text"] for b in document["blocks"]]
    else:
        texts = [b["text"] for b in document["attachments"][0]["content"]["body"]]
    text = "\n".join(texts)
    assert "evil.example" in text
    assert not forbidden_in(text.replace("\n", " "))
    assert not re.search(r"https?://|www\.|(?<!\w)@[a-z0-9]|<[!@a-z/]", text, re.IGNORECASE), text
    if kind == "teams":
        assert "](" not in text  # Teams markdown links; Slack's mrkdwn has none (its links are <url|text>)
