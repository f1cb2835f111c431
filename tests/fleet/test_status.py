"""`mtasts status` and `mtasts promote` end to end: loopback world, reports from the real generator."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fleetworld import AS_OF, DAYS, ORG, STACK, network_args
from loopback import Loopback

from mtasts.cli import main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def status(world: Loopback, stack: Path, reports: Path, *extra: str) -> tuple[Result, dict[str, Any]]:
    result = run(
        "status", "--config", str(stack), "--reports", str(reports), "--as-of", str(AS_OF), "--json",
        *network_args(world), *extra,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    return result, {d["domain"]: d for d in document["domains"]}


@pytest.fixture(scope="module")
def fleet(world: Loopback, report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, dict[str, Any]]:
    path = tmp_path_factory.mktemp("stack") / "Pulumi.fleet.yaml"
    path.write_text(STACK)
    return status(world, path, report_dir)


def test_clean_testing_domain_is_ready_for_enforce(fleet: tuple[Result, dict[str, Any]]) -> None:
    """A testing domain with 14 clean days of generated reports and a valid MX is ready, next enforce at 1 day."""
    _, domains = fleet
    d = domains["ready.example"]
    assert d["verdict"] == "ready", d["reasons"]
    assert d["next"] == {"mode": "enforce", "max_age": 86400}
    assert d["reports"]["days"] == DAYS
    assert (d["reports"]["successful"], d["reports"]["failed"], d["reports"]["failure_rate"]) == (50 * DAYS, 0, 0)
    assert d["live"]["txt_id_live"]
    assert d["live"]["policy_equal"]
    assert d["live"]["starttls"] == {"mx1.ready.example": "ok"}


def test_certificate_expired_on_one_mx_holds_and_names_it(fleet: tuple[Result, dict[str, Any]]) -> None:
    """Reports of certificate-expired on mx1.certexp.example hold the domain; the reason names MX, type and sender."""
    _, domains = fleet
    d = domains["certexp.example"]
    assert d["verdict"] == "hold", d["reasons"]
    assert d["next"] is None
    (reason,) = [r for r in d["reasons"] if r.startswith("certificate-expired")]
    assert "mx1.certexp.example" in reason
    assert ORG in reason
    assert d["reports"]["failed"] == 7 * DAYS
    assert d["reports"]["failure_rate"] == pytest.approx(7 / 50)
    (top,) = d["reports"]["top_failures"]
    assert (top["result_type"], top["mx"], top["sessions"], top["organizations"]) == (
        "certificate-expired",
        "mx1.certexp.example",
        7 * DAYS,
        [ORG],
    )


def test_enforcing_domain_with_new_uncovered_mx_needs_action(fleet: tuple[Result, dict[str, Any]]) -> None:
    """An enforcing domain whose new live MX is not in its policy is action-needed, exit 1, demote proposed."""
    result, domains = fleet
    d = domains["newmx.example"]
    assert d["verdict"] == "action-needed"
    assert any("mx2.newmx.example" in r and "not covered" in r for r in d["reasons"])
    assert d["live"]["uncovered_mx"] == ["mx2.newmx.example"]
    assert d["demote"] == {"mode": "testing", "max_age": 86400}
    assert result.exit_code == 1


def test_ladder_and_top(fleet: tuple[Result, dict[str, Any]]) -> None:
    """Enforce at 1 day with 14 clean days is ready for 1 week; enforce at a year, all green, is ok."""
    _, domains = fleet
    assert domains["ladder.example"]["verdict"] == "ready"
    assert domains["ladder.example"]["next"] == {"mode": "enforce", "max_age": 604800}
    assert domains["top.example"]["verdict"] == "ok"
    assert domains["top.example"]["next"] is None


def test_same_as_of_same_verdicts(world: Loopback, report_dir: Path, stack: Path, fleet: Any) -> None:
    """Running status again with the same --as-of gives the same document, verdicts and reasons included."""
    _, first = fleet
    _, again = status(world, stack, report_dir)
    assert again == first


def test_reports_read_in_a_second_process_give_the_same_document(
    world: Loopback, report_dir: Path, stack: Path, fleet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large fleets read reports in a second process while checking live; the result is the same document."""
    from mtasts.fleet import cli

    monkeypatch.setattr(cli, "SEPARATE_PROCESS_FROM", 1)
    _, first = fleet
    _, again = status(world, stack, report_dir)
    assert again == first


def test_as_of_bounds_the_window(world: Loopback, report_dir: Path, stack: Path) -> None:
    """Reports after --as-of are not counted, so an earlier --as-of sees fewer days and holds the domain."""
    early = AS_OF.replace(day=AS_OF.day - 10)
    result = run(
        "status", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(early), "--json",
        *network_args(world),
    )  # fmt: skip
    d = {x["domain"]: x for x in json.loads(result.stdout)["domains"]}["ready.example"]
    assert d["reports"]["days"] == DAYS - 9  # reports cover the 14 days before AS_OF; the as-of day counts
    assert d["verdict"] == "hold"
    assert any("min_report_days" in r for r in d["reasons"])


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old line, new line) pairs of a line-for-line edit; fails if lines were added or removed."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b), list(difflib.unified_diff(a, b))
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_promote_edits_only_the_changed_values(world: Loopback, report_dir: Path, stack: Path) -> None:
    """promote moves ready.example to enforce and ladder.example up a step; every other byte of the file stays."""
    result = run(
        "promote", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF), *network_args(world)
    )
    assert result.exit_code == 0, result.output
    assert changed_lines(STACK, stack.read_text()) == [
        ('      mode: "testing"\n', '      mode: "enforce"\n'),
        ("      max_age: 86400 # one day, first step\n", "      max_age: 604800 # one day, first step\n"),
    ]
    assert "refused: certexp.example" in result.stdout
    assert "certificate-expired on MX mx1.certexp.example" in result.stdout
    assert "--demote would propose mode testing" in result.stdout


def test_promote_demote_proposes_testing(world: Loopback, report_dir: Path, stack: Path) -> None:
    """--demote --dry-run proposes testing for the enforcing domain with the uncovered MX and writes nothing."""
    result = run(
        "promote", "newmx.example", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF),
        "--demote", "--dry-run", "--json", *network_args(world),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["changes"] == [
        {
            "domain": "newmx.example",
            "from": {"mode": "enforce", "max_age": 604800},
            "to": {"mode": "testing", "max_age": 86400},
            "kind": "demote",
        }
    ]
    assert stack.read_text() == STACK


def test_promote_demote_adds_the_mode_key(world: Loopback, report_dir: Path, stack: Path) -> None:
    """newmx.example takes its mode from its template, so demoting adds mode and max_age lines, indented alike."""
    result = run(
        "promote", "newmx.example", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF),
        "--demote", *network_args(world),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    diff = [line for line in difflib.ndiff(STACK.splitlines(), stack.read_text().splitlines()) if line[:1] in "+-"]
    assert diff == ["+       mode: testing", "+       max_age: 86400"]


def test_nothing_ready_exits_1(world: Loopback, report_dir: Path, stack: Path) -> None:
    """promote of a held domain changes nothing, lists it as refused with its reasons, and exits 1."""
    result = run(
        "promote", "certexp.example", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF),
        *network_args(world),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "refused: certexp.example" in result.stdout
    assert stack.read_text() == STACK


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "yesterday"], "error: --as-of: 'yesterday' is not a date (YYYY-MM-DD)"),
        (["--reports", "/nonexistent/reports"], "error: --reports: '/nonexistent/reports' does not exist"),
    ],
)
def test_bad_input_is_one_error_line(stack: Path, args: list[str], message: str) -> None:
    """Bad options are one error line and exit 2, never a traceback."""
    result = run("status", "--config", str(stack), "--no-live", *args)
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if not line.startswith("warning:")] == [message]


def test_unknown_domain_for_promote(stack: Path) -> None:
    """Promoting a domain that is not in the stack names it, exit 2."""
    result = run("promote", "nope.example", "--config", str(stack), "--no-live")
    assert result.exit_code == 2
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: domains.nope.example: is not in")


def test_markdown_evidence_for_pull_requests(world: Loopback, report_dir: Path, stack: Path, tmp_path: Path) -> None:
    """promote --markdown writes the evidence table with the change per domain, for the pull-request body."""
    body = tmp_path / "body.md"
    result = run(
        "promote", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF), "--dry-run",
        "--markdown", str(body), *network_args(world),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = body.read_text()
    assert "| ready.example | testing | 1d | → enforce 1d |" in text
    assert "| ladder.example | enforce | 1d | → enforce 7d |" in text
    assert "**action-needed**" in text


def test_diff_markdown_shows_the_evidence_of_each_step(
    world: Loopback, report_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After promote in a git repository, `diff --markdown --evidence` shows each mode/max_age change's evidence."""
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.invalid")
    git("config", "user.name", "t")
    (tmp_path / "Pulumi.yaml").write_text("name: mta-sts\nruntime: python\n")
    stack = tmp_path / "Pulumi.fleet.yaml"
    stack.write_text(STACK)
    git("add", "-A")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-10-01T12:00:00Z")  # before the report window
    git("commit", "-q", "-m", "base")
    monkeypatch.chdir(tmp_path)
    promoted = run(
        "promote", "--stack", "fleet", "--reports", str(report_dir), "--as-of", str(AS_OF), "--json",
        *network_args(world),
    )  # fmt: skip
    assert promoted.exit_code == 0, promoted.output
    evidence = tmp_path / "evidence.json"
    evidence.write_text(promoted.stdout)
    stack.write_text(stack.read_text().replace("max_age: 31557600", "max_age: 2592000"))
    result = run("diff", "--stack", "fleet", "--base", "main", "--markdown", "--evidence", str(evidence))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "**Evidence**" in text
    assert "| ready.example | testing 1d → enforce 1d | **ready** | 14 | 700/0 | 0.00% |" in text
    assert "| ladder.example | enforce 1d → enforce 7d | **ready** | 14 |" in text
    assert "| top.example | enforce 365.25d → enforce 30d | — |" in text  # a hand edit no evidence proposed
    assert "no evidence proposed this step" in text


def test_diff_evidence_that_is_not_json_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A --evidence file that is not a status document is one error line and exit 2."""
    import subprocess

    subprocess.run(["git", "-C", str(tmp_path), "init", "-q", "-b", "main"], check=True)
    (tmp_path / "Pulumi.fleet.yaml").write_text(STACK)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "b"],
        check=True,
    )
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    result = run("diff", "--config", "Pulumi.fleet.yaml", "--base", "main", "--markdown", "--evidence", str(bad))
    assert result.exit_code == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: --evidence: ")


def test_clean_days_count_only_since_the_step_was_committed(
    world: Loopback, report_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A max_age step committed on 2026-11-15 has only the 4 report days after it: hold, naming the step's day."""
    import subprocess

    def commit(text: str, when: str) -> None:
        (tmp_path / "Pulumi.fleet.yaml").write_text(text)
        env = {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
        for args in (["add", "-A"], ["-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "c"]):
            subprocess.run(
                ["git", "-C", str(tmp_path), *args],
                check=True,
                capture_output=True,
                env={**env, "PATH": "/usr/bin:/bin"},
            )

    subprocess.run(["git", "-C", str(tmp_path), "init", "-q", "-b", "main"], check=True)
    before = STACK.replace("      max_age: 86400 # one day, first step\n", "      max_age: 3600\n")
    commit(before, "2026-10-01T12:00:00Z")
    commit(STACK, "2026-11-15T09:00:00Z")
    _, domains = status(world, tmp_path / "Pulumi.fleet.yaml", report_dir)
    ladder = domains["ladder.example"]
    assert ladder["step_since"] == "2026-11-15"
    assert ladder["verdict"] == "hold"
    assert ladder["reasons"] == [
        "4 clean day(s) of reports at the current step since the step on 2026-11-15, 7 needed before max_age 7d "
        "(clean_days)"
    ]
    assert domains["top.example"]["step_since"] == "2026-10-22"  # unchanged in the window: the window's start
    assert domains["top.example"]["verdict"] == "ok"


def test_reports_from_s3(report_dir: Path, stack: Path, fake_aws_credentials: None) -> None:
    """--reports s3://BUCKET/PREFIX reads the objects under the prefix, as `reports summarize` does."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="reports")
        for path in sorted(report_dir.glob("ready.example-*.json")):
            client.put_object(Bucket="reports", Key=f"ready.example/{path.name}", Body=path.read_bytes())
        result = run(
            "status", "--config", str(stack), "--no-live", "--reports", "s3://reports/ready.example/",
            "--as-of", str(AS_OF), "--json",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["reports"]["accepted"] == DAYS
    ready = {d["domain"]: d for d in document["domains"]}["ready.example"]
    assert ready["reports"]["days"] == DAYS


def test_unwritable_html_is_one_error_line(stack: Path, tmp_path: Path) -> None:
    """--html into a folder that does not exist is one error line naming the option, exit 2."""
    result = run("status", "--config", str(stack), "--no-live", "--html", str(tmp_path / "missing" / "page.html"))
    assert result.exit_code == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: --html: cannot write ")


def test_starttls_once_per_mx_host_of_the_fleet(world: Loopback) -> None:
    """Two domains on the same MX host cost one STARTTLS session, and both get its result."""
    from mtasts.checker.net import Deadline, Network, TlsSession, parse_connect_to, parse_nameserver
    from mtasts.config import parse_stack_settings
    from mtasts.fleet.evidence import read_live
    from mtasts.plan import plan_stack

    class Counting(Network):
        def starttls_session(self, mx_host: str, deadline: Deadline | None = None) -> TlsSession:
            calls.append(mx_host)
            return super().starttls_session(mx_host, deadline)

    calls: list[str] = []
    world.zone.add("shared.example. 300 IN MX 10 mx1.ready.example.\n")
    net = Counting(
        nameservers=[parse_nameserver(world.nameserver)],
        ca_file=world.ca_file,
        connect_to=[parse_connect_to(c) for c in world.connect_to()],
        timeout=5,
    )
    settings = {"mode": "testing", "mx": ["mx1.ready.example"]}
    plan = plan_stack(parse_stack_settings({"domains": {"ready.example": settings, "shared.example": settings}}))
    states = read_live(plan.domains, net)
    assert calls == ["mx1.ready.example"]
    assert states["shared.example"].starttls == {"mx1.ready.example": ""}
    assert states["ready.example"].starttls == {"mx1.ready.example": ""}


def test_live_state_is_read_from_the_checks_data_not_their_text() -> None:
    """live_from_checks reads the checker's structured data (id, policy_equal, hosts); the wording is free to change."""
    from mtasts.checker.checks import Check, DomainReport
    from mtasts.config import parse_stack_settings
    from mtasts.fleet.evidence import live_from_checks
    from mtasts.plan import plan_stack

    settings = {"mode": "enforce", "max_age": 604800, "mx": ["mx1.data.example"]}
    plan = plan_stack(parse_stack_settings({"domains": {"data.example": settings}})).get("data.example")
    hosts = {"hosts": ["mx1.data.example", "mx2.data.example"], "uncovered": ["mx2.data.example"]}
    report = DomainReport(
        "data.example",
        [
            Check("sts-record", "pass", "reworded", {"id": "someotherid"}),
            Check("policy-fetch", "pass", "reworded", {"http_status": 200}),
            Check("policy-syntax", "pass", "reworded", {"mode": "enforce"}),
            Check("drift", "fail", "reworded", {"id_live": False, "policy_equal": True}),
            Check("mx-coverage", "fail", "reworded", hosts),
        ],
    )
    state = live_from_checks(report, plan, starttls=False)
    assert (state.txt_id_live, state.policy_served, state.policy_equal) == (False, True, True)
    assert state.mx == ["mx1.data.example", "mx2.data.example"]
    assert state.uncovered == ["mx2.data.example"]
    report.checks[0] = Check("sts-record", "pass", "reworded", {"id": plan.policy_id})
    assert live_from_checks(report, plan, starttls=False).txt_id_live


def test_status_with_duckdb_over_rows_judges_as_the_python_reader(
    report_dir: Path, stack: Path, tmp_path: Path
) -> None:
    """`status --engine duckdb --reports ROWS` gives every domain the verdict, reasons and counts of the reference."""
    backfilled = run("reports", "backfill", str(report_dir), "--to", str(tmp_path / "rows"))
    assert backfilled.exit_code == 0, backfilled.output
    common = ["status", "--config", str(stack), "--no-live", "--as-of", str(AS_OF), "--json"]
    theirs = run(*common, "--reports", str(report_dir))
    ours = run(*common, "--engine", "duckdb", "--reports", str(tmp_path / "rows"))
    assert ours.exit_code == theirs.exit_code, ours.output
    ours_doc, theirs_doc = json.loads(ours.stdout), json.loads(theirs.stdout)
    assert ours_doc["domains"] == theirs_doc["domains"]
    assert ours_doc["reports"]["accepted"] == theirs_doc["reports"]["accepted"] > 0


def test_terminal_lists_attention_first_and_counts_the_rest(report_dir: Path, stack: Path) -> None:
    """`status --rows N` lists N domains, most urgent verdict first, and counts the others by verdict."""
    from types import SimpleNamespace

    from mtasts.fleet.tables import attention_order

    verdicts = {"a": "ok", "b": "action-needed", "c": "hold", "d": "pending", "e": "ready"}
    fake = [SimpleNamespace(domain=d, verdict=v) for d, v in verdicts.items()]
    assert [s.domain for s in attention_order(fake)] == ["b", "d", "c", "e", "a"]  # type: ignore[arg-type]
    common = ["status", "--config", str(stack), "--no-live", "--reports", str(report_dir), "--as-of", str(AS_OF)]
    everything = run(*common, "--rows", "0")
    two = run(*common, "--rows", "2")
    assert everything.exit_code == two.exit_code, two.output
    assert "more domain(s) not listed" not in everything.output
    (line,) = [x for x in two.output.splitlines() if "more domain(s) not listed" in x]
    total = json.loads(run(*common, "--json").stdout)["domains"]
    assert line.startswith(f"{len(total) - 2} more domain(s) not listed: ")
