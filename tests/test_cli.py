import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mtasts.cli import main
from mtasts.policy import parse_policy, policy_id

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "Pulumi.example.yaml"


def run(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def write_stack(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_plan_json_has_the_documented_shape() -> None:
    """plan --json prints one document with every required key per domain and record."""
    result = run("plan", "--config", str(EXAMPLE), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [d["domain"] for d in doc["domains"]] == ["example.com", "example.org", "xn--bcher-kva.example"]
    for d in doc["domains"]:
        assert {"domain", "mode", "max_age", "mx", "policy_id", "policy_url", "policy_text", "records"} <= d.keys()
        assert d["policy_id"] == policy_id(d["policy_text"].encode())
        assert parse_policy(d["policy_text"]).ok
        for record in d["records"]:
            assert set(record) == {"name", "type", "value", "ttl"}
            assert record["name"] == record["name"].lower()
            assert not record["name"].endswith(".")
    modes = {d["domain"]: d["mode"] for d in doc["domains"]}
    assert modes == {"example.com": "enforce", "example.org": "testing", "xn--bcher-kva.example": "none"}


def test_plan_by_stack_name_finds_the_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """--stack NAME reads Pulumi.NAME.yaml from the folder holding Pulumi.yaml, even from a subfolder."""
    monkeypatch.chdir(ROOT / "infra")
    result = run("plan", "--stack", "example", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["domains"]) == 3


def test_plan_table_shows_records_and_ids() -> None:
    """The human output lists every domain, its policy id and each TXT record."""
    doc = json.loads(run("plan", "--config", str(EXAMPLE), "--json").stdout)
    result = run("plan", "--config", str(EXAMPLE))
    assert result.exit_code == 0
    for d in doc["domains"]:
        assert d["policy_id"] in result.stdout
        for record in d["records"]:
            assert record["name"] in result.stdout
    assert "bücher.example" in result.stdout


def test_render_writes_the_exact_bytes(tmp_path: Path) -> None:
    """render prints the policy byte for byte, CRLF included, and nothing else."""
    doc = json.loads(run("plan", "--config", str(EXAMPLE), "--json").stdout)
    for d in doc["domains"]:
        result = run("render", d["domain"], "--config", str(EXAMPLE))
        assert result.exit_code == 0
        assert result.stdout_bytes == d["policy_text"].encode()
    assert (
        run("render", "bücher.example", "--config", str(EXAMPLE)).stdout_bytes
        == doc["domains"][2]["policy_text"].encode()
    )


def test_render_unknown_domain_is_a_usage_error() -> None:
    """Asking for a domain the stack does not have exits 2 with the domain named."""
    result = run("render", "nope.example", "--config", str(EXAMPLE))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: domains.nope.example: is not in ")


def test_bad_config_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    """Invalid config prints 'error: <path>: <reason>' lines on stderr, nothing on stdout, exit 2."""
    path = write_stack(
        tmp_path,
        "config:\n  mta-sts:domains:\n    example.com:\n      max_age: 40000000\n      mx: [m.example.com]\n"
        "    example.org:\n      colour: blue\n      mx: [m.example.org]\n",
    )
    result = run("plan", "--config", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0] == "error: domains.example.com.max_age: 40000000 is above 31557600 (RFC 8461 §3.2)"
    assert lines[1].startswith("error: domains.example.org.colour: unknown key (allowed: template, mode, max_age, ")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, "no such file"),
        ("config: {\n", "invalid YAML"),
        ("config:\n  mta-sts:domains:\n    a.example:\n      template: nope\n", "unknown template 'nope'"),
        ("config:\n  mta-sts:domains:\n    a.example:\n      mx: m.a.example\n", "expected a list of MX patterns"),
    ],
)
def test_every_kind_of_bad_input_exits_2(tmp_path: Path, body: str | None, expected: str) -> None:
    """Missing file, broken YAML, unknown template and wrong types all give exit 2 and one error line."""
    path = tmp_path / "Pulumi.t.yaml"
    if body is not None:
        path.write_text(body)
    result = run("plan", "--config", str(path), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert expected in result.stderr
    assert all(line.startswith("error: ") for line in result.stderr.splitlines())


def test_stack_and_config_are_exclusive() -> None:
    """Giving neither or both of --stack and --config is a usage error."""
    assert run("plan").exit_code == 2
    assert run("plan", "--stack", "example", "--config", str(EXAMPLE)).exit_code == 2


def test_warnings_go_to_stderr_and_keep_exit_0(tmp_path: Path) -> None:
    """Advice such as testing mode without rua is printed as a warning; stdout stays pure JSON."""
    path = write_stack(tmp_path, "config:\n  mta-sts:domains:\n    example.com:\n      mx: [m.example.com]\n")
    result = run("plan", "--config", str(path), "--json")
    assert result.exit_code == 0
    json.loads(result.stdout)
    assert result.stderr.startswith("warning: domains.example.com.rua: testing mode without TLS-RPT")


def test_validate_policy_valid_file(tmp_path: Path) -> None:
    """A valid policy file exits 0 with a summary."""
    path = tmp_path / "mta-sts.txt"
    path.write_bytes(b"version: STSv1\r\nmode: enforce\r\nmx: m.example.com\r\nmax_age: 604800\r\n")
    result = run("validate-policy", str(path))
    assert result.exit_code == 0
    assert "valid STSv1 policy, mode enforce, max_age 604800, 1 mx" in result.stdout


def test_validate_policy_invalid_stdin() -> None:
    """An invalid policy on stdin exits 1 and names the line."""
    result = run("validate-policy", "-", stdin=b"version: STSv1\nmode: strict\nmax_age: 1\n")
    assert result.exit_code == 1
    assert "error: <stdin>: line 2: mode 'strict'" in result.stderr


def test_validate_policy_missing_file_is_usage_error(tmp_path: Path) -> None:
    """A file that does not exist is exit 2, not 1."""
    assert run("validate-policy", str(tmp_path / "nope.txt")).exit_code == 2


def test_installed_console_script_never_prints_a_traceback(tmp_path: Path) -> None:
    """The real `mtasts` entry point turns bad input into one line and exit 2."""
    path = write_stack(tmp_path, "config:\n  mta-sts:domains:\n    example.com:\n      mode: loud\n")
    exe = Path(sys.executable).parent / "mtasts"
    result = subprocess.run([str(exe), "plan", "--config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: domains.example.com.mode: 'loud' is not one of enforce, testing, none")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["reports", "summarize", "nope/"], "error: mtasts reports summarize: Invalid value for PATH: 'nope/'"),
        (["reports", "summarize", "--since", "yesterday", "."], "Invalid value for --since: 'yesterday' is not a"),
        (["plan", "--bogus"], "error: mtasts plan: No such option '--bogus'"),
        (["plan"], "error: mtasts plan: give exactly one of --stack NAME or --config PATH (see mtasts plan --help)"),
        (["nocommand"], "error: mtasts: No such command 'nocommand'."),
        (["render"], "error: mtasts render: Missing argument 'DOMAIN'."),
        (["check", "--timeout", "soon", "example.com"], "error: mtasts check: Invalid value for '--timeout'"),
        (["diff", "--config", "Pulumi.example.yaml"], "error: mtasts diff: Missing option '--base'."),
        ([], "error: mtasts: name a command: alerts, check, diff, plan, "),
        (
            ["reports"],
            "error: mtasts reports: name a command: backfill, compact, summarize (see mtasts reports --help)",
        ),
        (["validate-policy", "nope.txt"], "error: mtasts validate-policy: Invalid value for 'FILE': File 'nope.txt'"),
    ],
)
def test_every_usage_error_is_one_error_line_and_exit_2(args: list[str], expected: str) -> None:
    """Click's usage errors of every command become one `error:` line on stderr, exit 2, no usage block."""
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Usage:" not in result.stderr


def test_help_and_version_still_exit_0() -> None:
    """--help and --version are not errors."""
    assert run("plan", "--help").exit_code == 0
    assert run("--version").exit_code == 0


def test_plan_refuses_a_policy_over_64_kib_and_a_txt_value_over_4000_characters(tmp_path: Path) -> None:
    """1,200 long MX patterns and 5,000 rua URIs are exit 2, naming domain, field, size and limit."""
    mx = ", ".join(f"mx{i}-{'x' * 50}.example.com" for i in range(1200))
    rua = ", ".join(f"'https://r{i}.example.com/report'" for i in range(5000))
    path = write_stack(
        tmp_path,
        f"config:\n  mta-sts:domains:\n    a.example:\n      mode: enforce\n      mx: [{mx}]\n"
        f"    b.example:\n      mode: none\n      rua: [{rua}]\n",
    )
    result = run("plan", "--config", str(path), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: domains.a.example.mx: the policy would be 88,938 bytes; senders read at most 65,536 (RFC 8461 §3.3)",
        "error: domains.b.example.rua: the _smtp._tls.b.example TXT value would be 165,191 characters; "
        "Route 53 takes at most 4,000 per value",
    ]


def test_plan_accepts_a_txt_value_just_under_the_route53_limit() -> None:
    """88 rua URIs (3,997 characters as Route 53 stores them) pass; 89 do not."""
    from mtasts.config import parse_stack_settings
    from mtasts.errors import ConfigError
    from mtasts.plan import plan_stack
    from mtasts.records import route53_value_length

    def settings(count: int) -> dict[str, object]:
        rua = [f"https://r{i}.example.com/{'p' * 20}" for i in range(count)]
        return {"domains": {"a.example": {"mode": "none", "rua": rua}}}

    record = plan_stack(parse_stack_settings(settings(88))).domains[0].tlsrpt_record
    assert record is not None
    assert route53_value_length(record.value) == 3997
    with pytest.raises(ConfigError, match="would be 4,042 characters"):
        plan_stack(parse_stack_settings(settings(89)))


def test_validate_policy_reads_at_most_64_kib(tmp_path: Path) -> None:
    """validate-policy on an endless file stops at the cap and says so (exit 1), instead of reading forever."""
    result = run("validate-policy", "/dev/zero")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: /dev/zero: policy: more than 65536 bytes; senders read at most 65536 (RFC 8461 §3.3)\n"
    )


def test_plan_config_dev_zero_is_refused_at_the_cap() -> None:
    """plan --config /dev/zero stops reading at the stack-file cap: one line, exit 2."""
    result = run("plan", "--config", "/dev/zero")
    assert result.exit_code == 2
    assert result.stderr == "error: /dev/zero: is larger than 16,777,216 bytes; refused\n"


def _long_stack(tmp_path: Path) -> Path:
    rua = ", ".join(f"'https://reports-{i}.example.net/v1/report'" for i in range(40))
    return write_stack(
        tmp_path,
        "config:\n  mta-sts:domains:\n    example.com:\n      mode: enforce\n"
        f"      mx: [mx1.example.com, '*.mx.example.net']\n      rua: [{rua}]\n",
    )


def test_piped_tables_are_plain_lines_that_never_split_a_value(tmp_path: Path) -> None:
    """Off a terminal, plan prints one plain line per row: no box drawing, every id and TXT value whole."""
    path = _long_stack(tmp_path)
    doc = json.loads(run("plan", "--config", str(path), "--json").stdout)
    result = run("plan", "--config", str(path))
    assert result.exit_code == 0
    assert not set("┏┃│━─") & set(result.stdout)
    lines = result.stdout.splitlines()
    for record in doc["domains"][0]["records"]:
        assert any(line.startswith(record["name"]) and line.endswith(record["value"]) for line in lines)
    assert max(len(line) for line in lines) > 1600  # the 40-URI value stays on its line, however long
    policy_line = next(line for line in lines if line.startswith("example.com "))
    assert "mx1.example.com, *.mx.example.net" in policy_line
    assert doc["domains"][0]["policy_id"] in policy_line
    assert doc["domains"][0]["policy_url"] in policy_line


def _terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> io.StringIO:
    import io

    from rich.console import Console

    import mtasts.output

    buffer = io.StringIO()
    monkeypatch.setattr(mtasts.output, "is_terminal", lambda: True)
    monkeypatch.setattr(
        mtasts.output, "console", lambda: Console(file=buffer, width=width, highlight=False, color_system=None)
    )
    return buffer


def test_a_narrow_terminal_gets_blocks_with_values_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On an 80-column terminal, rows too wide for a table become blocks; no id or TXT value is split."""
    from mtasts.output import print_plan
    from mtasts.plan import plan_stack_file

    buffer = _terminal(monkeypatch, 80)
    plan = plan_stack_file(_long_stack(tmp_path))
    print_plan(plan)
    lines = buffer.getvalue().splitlines()
    assert f"Policy id:   {plan.domains[0].policy_id}" in lines
    for record in plan.domains[0].records:
        assert f"Value: {record.value}" in lines


def test_a_wide_terminal_gets_a_table_with_values_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal wide enough, plan draws rich tables and each id, URL and TXT value sits whole in one cell."""
    from mtasts.output import print_plan
    from mtasts.plan import plan_stack_file

    buffer = _terminal(monkeypatch, 250)
    plan = plan_stack_file(EXAMPLE)
    print_plan(plan)
    out = buffer.getvalue()
    assert "┃ Domain" in out
    for d in plan.domains:
        assert f"│ {d.policy_id} │" in out
        assert d.policy_url in out
        for record in d.records:
            assert f"│ {record.value}" in out


def test_a_table_never_interprets_markup_in_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value holding rich markup (e.g. from a hostile report) is printed literally on a terminal."""
    from mtasts.output import Column, print_table

    buffer = _terminal(monkeypatch, 120)
    print_table("t", [Column("Key", copy=True), Column("Reason")], [["[red]org[/red]", "bad [bold]x[/bold]"]])
    assert "[red]org[/red]" in buffer.getvalue()
    assert "bad [bold]x[/bold]" in buffer.getvalue()


def test_long_tables_are_aligned_lines_on_a_terminal_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 200 rows a terminal gets aligned plain lines (fast, still whole values), not a boxed table."""
    from mtasts.output import Column, print_table

    buffer = _terminal(monkeypatch, 120)
    rows = [[f"d{i}.example.com", f"{i:032x}"] for i in range(201)]
    print_table("Many", [Column("Domain", copy=True), Column("Policy id", copy=True)], rows)
    lines = buffer.getvalue().splitlines()
    assert lines[:2] == ["Many", "Domain            Policy id"]
    assert lines[2] == f"d0.example.com    {0:032x}"
    assert not set("┏┃│") & set(buffer.getvalue())
    buffer.truncate(0)
    print_table("Few", [Column("Domain", copy=True), Column("Policy id", copy=True)], rows[:200])
    assert "┃ Domain" in buffer.getvalue()


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path: Path) -> None:
    """`mtasts plan | head -1`: the command stops quietly with status 0 when its reader closes the pipe."""
    domain = "    d{i}.example.com:\n      mx: [mx.d{i}.example.com]\n      rua: [mailto:tls@d{i}.example.com]\n"
    domains = "".join(domain.format(i=i) for i in range(600))
    stack = write_stack(tmp_path, "config:\n  mta-sts:domains:\n" + domains)
    process = subprocess.Popen(
        [sys.executable, "-m", "mtasts.cli", "plan", "--config", str(stack)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline()  # the first line, then the reader goes away (the output is > 64 KiB)
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    assert stderr == b""
