"""docs/check.md, docs/fleet.md and docs/reports.md say what every verdict, status and column means (issue 17).

The words come from the code (its Literal types, constants and the tables the commands print), so a verdict or
column added without its sentence in the docs fails here.
"""

from __future__ import annotations

import ast
import json
import re
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import mtasts.output
from mtasts.checker import checks, result, rules
from mtasts.checker.checks import Check, DomainReport
from mtasts.cli import main
from mtasts.fleet import status as fleet_status
from mtasts.fleet import tables as fleet_tables
from mtasts.fleet.rules import ENFORCE_FAILURES, POLICY_FAILURES
from mtasts.tlsrpt.report import DEVIATIONS, POLICY_TYPES, RESULT_TYPES

ROOT = Path(__file__).resolve().parents[1]
CHECK_MD = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
FLEET_MD = (ROOT / "docs" / "fleet.md").read_text(encoding="utf-8")
REPORTS_MD = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
DOMAIN = "company-y.example"


def _table_rows(doc: str) -> list[str]:
    """The first cell of every markdown table row of ``doc``."""
    return [line.split("|")[1].strip() for line in doc.splitlines() if line.startswith("| ")]


def _missing(words: Sequence[str], doc: str) -> list[str]:
    return [word for word in words if f"`{word}`" not in doc]


# --- mtasts check --------------------------------------------------------------------------------------------


def test_every_check_status_and_domain_status_is_explained() -> None:
    """Each status a check row or a domain can have is a row of check.md's table of statuses."""
    row_statuses = typing.get_args(checks.Status)
    domain_statuses = typing.get_args(typing.get_type_hints(DomainReport.status.fget)["return"])
    assert set(domain_statuses) <= set(row_statuses)
    first_cells = _table_rows(CHECK_MD)
    assert [s for s in row_statuses if f"`{s}`" not in first_cells] == []


def _check_names() -> set[str]:
    """The name of every row the checker can add: ``sts-record``, ..., and ``starttls:`` for ``starttls:<mx>``."""
    modules = [checks, rules, result]
    tree = ast.Module(
        body=[node for m in modules for node in ast.parse(Path(str(m.__file__)).read_text("utf-8")).body],
        type_ignores=[],
    )
    assigned = {
        node.targets[0].id: node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        if not (
            (isinstance(func, ast.Attribute) and func.attr == "add" and getattr(func.value, "id", "") == "report")
            or (isinstance(func, ast.Name) and func.id == "Check")
        ):
            continue
        first = node.args[0]
        if isinstance(first, ast.Name):
            if first.id not in assigned:
                continue  # a parameter (DomainReport.add's own name): the callers' names are found at the callers
            first = assigned[first.id]
        if isinstance(first, ast.Constant):
            names.add(str(first.value))
        elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
            names.add(str(first.values[0].value))
    return names


def test_every_check_row_is_explained() -> None:
    """Each row name the checker can produce (sts-record, starttls:<mx>, dns, live, ...) is a row of check.md."""
    names = _check_names()
    assert {"sts-record", "drift", "dns", "live", "starttls:", "certificate:", "delegation:"} <= names
    first_cells = _table_rows(CHECK_MD)
    assert [n for n in names if not any(cell.startswith(f"`{n}") for cell in first_cells)] == []


def _recorded_tables(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, list[str]]]:
    """Every table printed from now on, as (title, column headers), whatever module prints it."""
    printed: list[tuple[str | None, list[str]]] = []

    def record(title: str | None, columns: Sequence[mtasts.output.Column], rows: Any) -> None:
        printed.append((title, [c.header for c in columns]))

    monkeypatch.setattr(mtasts.output, "is_terminal", lambda: False)
    monkeypatch.setattr(mtasts.output, "_print_plain", record)
    return printed


def test_every_column_of_the_check_table_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    """The columns of `mtasts check`'s table (Domain, Check, Status, Detail) are rows of check.md."""
    from mtasts.checker.cli import print_reports

    printed = _recorded_tables(monkeypatch)
    print_reports([DomainReport(DOMAIN, [Check("sts-record", "pass", "id=1")])])
    ((_, headers),) = printed
    assert _missing(headers, CHECK_MD) == []


# --- mtasts status and promote ----------------------------------------------------------------------------------


def test_every_verdict_is_explained() -> None:
    """Each verdict status can give is a row of fleet.md's verdict table, and VERDICTS holds them all."""
    assert set(fleet_status.VERDICTS) == set(typing.get_args(fleet_status.Verdict))
    first_cells = _table_rows(FLEET_MD)
    assert [v for v in fleet_status.VERDICTS if f"`{v}`" not in first_cells] == []
    assert set(fleet_tables._COLOUR) == set(fleet_status.VERDICTS)


def test_every_live_phrase_is_explained() -> None:
    """Each phrase of the Live column (id drift, policy unreachable, nothing published, ...) is in fleet.md."""
    tree = ast.parse(Path(fleet_tables.__file__).read_text(encoding="utf-8"))
    (live,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_live"]
    phrases = {
        node.value.strip()
        for node in ast.walk(live)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[a-z][a-z ()A-Z]{3,}", node.value.strip())
    }
    assert {"id drift", "policy unreachable", "nothing published", "could not be read (DNS)"} <= phrases
    assert [p for p in sorted(phrases) if p not in FLEET_MD] == []


def _report_json(report_id: str, failed: int, start: str = "2026-11-10T00:00:00Z") -> bytes:
    """One report with one failure detail holding every member a failure row shows."""
    detail = {
        "result-type": "certificate-expired",
        "sending-mta-ip": "192.0.2.7",
        "receiving-mx-hostname": f"mx1.{DOMAIN}",
        "receiving-ip": "198.51.100.25",
        "failed-session-count": failed,
        "failure-reason-code": "X509_V_ERR_CERT_HAS_EXPIRED",
    }
    policy = {
        "policy-type": "sts",
        "policy-string": ["version: STSv1", "mode: testing", f"mx: mx1.{DOMAIN}", "max_age: 86400"],
        "policy-domain": DOMAIN,
        "mx-host": [f"mx1.{DOMAIN}"],
    }
    return json.dumps(
        {
            "organization-name": "Company-X",
            "date-range": {"start-datetime": start, "end-datetime": start.replace("T00:00:00", "T23:59:59")},
            "contact-info": "tls@company-x.example",
            "report-id": report_id,
            "policies": [
                {
                    "policy": policy,
                    "summary": {"total-successful-session-count": 500, "total-failure-session-count": failed},
                    "failure-details": [detail],
                }
            ],
        }
    ).encode()


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    """Reports that fill every table: failures, a zone-less date (tolerated), a conflict and a rejected file."""
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.json").write_bytes(_report_json("r1", 17))
    (folder / "b.json").write_bytes(_report_json("r1", 18))  # same report-id, other counts: a conflict
    (folder / "c.json").write_bytes(_report_json("r2", 3, start="2026-11-11T00:00:00"))  # no time zone
    (folder / "junk.txt").write_bytes(b"not a report")
    return folder


def _headers_of_html(page: str) -> list[str]:
    return re.findall(r"<th>([^<]+)</th>", page)


def _markdown_headers(text: str) -> Iterator[str]:
    for line in text.splitlines():
        if line.startswith("| Domain |"):
            yield from (cell.strip() for cell in line.strip("|").split("|"))


def test_every_column_of_status_promote_and_the_page_is_explained(
    tmp_path: Path, report_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columns of the status table, the evidence markdown, the diff evidence and the fleet page are in fleet.md."""
    stack = tmp_path / "Pulumi.t.yaml"
    stack.write_text(f"config:\n  mta-sts:domains:\n    {DOMAIN}:\n      mode: testing\n      mx: [mx1.{DOMAIN}]\n")
    page = tmp_path / "fleet.html"
    base = ["status", "--config", str(stack), "--no-live", "--reports", str(report_dir), "--as-of", "2026-11-19"]
    printed = _recorded_tables(monkeypatch)
    result = CliRunner().invoke(main, [*base, "--html", str(page)])
    assert result.exit_code == 0, result.output
    terminal = [h for _, headers in printed for h in headers]
    assert "Live" in terminal
    markdown = CliRunner().invoke(main, [*base, "--markdown"])
    assert markdown.exit_code == 0, markdown.output
    evidence = list(_markdown_headers(markdown.stdout))
    assert "Change" in evidence
    diff = fleet_tables.diff_evidence_markdown([(DOMAIN, "testing", 86400, "enforce", 86400)], {"domains": []})
    page_headers = _headers_of_html(page.read_text(encoding="utf-8"))
    assert "Failed per day" in page_headers
    every = dict.fromkeys([*terminal, *evidence, *_markdown_headers(diff), *page_headers])
    assert _missing(list(every), FLEET_MD) == []


# --- mtasts reports -------------------------------------------------------------------------------------------


def test_every_result_type_policy_type_and_deviation_is_explained() -> None:
    """Each RFC 8460 result type and policy type is a row or word of reports.md, with how status counts it."""
    first_cells = _table_rows(REPORTS_MD)
    assert [t for t in RESULT_TYPES if f"`{t}`" not in first_cells] == []
    assert _missing(POLICY_TYPES, REPORTS_MD) == []
    assert [d for d in DEVIATIONS if not any(f"`{d}`" in cell for cell in first_cells)] == []
    counted = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in REPORTS_MD.splitlines()
               if line.startswith("| `") and line.count("|") == 4}  # fmt: skip
    assert [t for t in ENFORCE_FAILURES if not counted[f"`{t}`"].startswith("counts")] == []
    assert [t for t in POLICY_FAILURES if not counted[f"`{t}`"].startswith("a policy failure")] == []
    others = [t for t in RESULT_TYPES if t not in ENFORCE_FAILURES | POLICY_FAILURES]
    assert [t for t in others if not counted[f"`{t}`"].startswith("not counted")] == []


def test_every_column_of_summarize_is_explained(
    tmp_path: Path, report_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columns of every table summarize prints (totals, failure details, per day, ...) and of its page."""
    printed = _recorded_tables(monkeypatch)
    page = tmp_path / "reports.html"
    result = CliRunner().invoke(main, ["reports", "summarize", str(report_dir), "--html", str(page)])
    assert result.exit_code == 0, result.output
    titles = [title or "" for title, _ in printed]
    for wanted in ("Tolerated deviations", "failure details", "failures per UTC day", "sessions per UTC day",
                   "Conflicts", "Rejected"):  # fmt: skip
        assert any(wanted in title for title in titles), (wanted, titles)
    terminal = [h for _, headers in printed for h in headers]
    page_headers = _headers_of_html(page.read_text(encoding="utf-8"))
    assert "Sending MTA IP" in page_headers
    every = dict.fromkeys([*terminal, *page_headers])
    assert _missing(list(every), REPORTS_MD) == []
