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
