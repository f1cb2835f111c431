"""The code passes the project's linters, so CI catches what a reviewer would.

mypy --strict is not a test here: `bash scripts/test` (the README's test command, what CI runs) runs it once, in
parallel with pytest, and fails when it fails (tests/conftest.py prints its result before pytest's summary).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--no-cache", "--check", "."],
    ],
    ids=["ruff-check", "ruff-format"],
)
def test_tool_passes(command: list[str]) -> None:
    """Ruff (lint and format) reports nothing on the whole tree."""
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def fake_checkout(tmp_path: Path, pytest_status: int, mypy_status: int) -> tuple[Path, dict[str, str]]:
    """A copy of scripts/test beside a fake .venv whose pytest and mypy print a line and exit as told."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "test", tmp_path / "scripts" / "test")
    venv, path = tmp_path / ".venv" / "bin", tmp_path / "path"
    venv.mkdir(parents=True)
    path.mkdir()
    stubs = {
        venv / "pip": "exit 0",
        venv / "mypy": f'echo "mypy says {mypy_status}"\nexit {mypy_status}',
        venv / "python": f'echo "pytest summary {pytest_status}"\nexit {pytest_status}',
        path / "python3": "exit 0",
        path / "chromium": "exit 0",
    }
    for stub, body in stubs.items():
        stub.write_text(f"#!/bin/sh\n{body}\n")
        stub.chmod(0o755)
    system = ":".join(p for p in os.environ.get("PATH", "/usr/bin:/bin").split(":") if p)
    return tmp_path, {"PATH": f"{path}:{system}", "HOME": str(tmp_path)}


@pytest.mark.parametrize(
    ("pytest_status", "mypy_status", "expected"),
    [(0, 0, 0), (0, 1, 1), (1, 0, 1), (2, 1, 2), (5, 0, 5)],
    ids=["both-pass", "mypy-fails", "pytest-fails", "both-fail-pytest-first", "no-tests"],
)
def test_script_fails_when_pytest_or_mypy_fails(
    tmp_path: Path, pytest_status: int, mypy_status: int, expected: int
) -> None:
    """scripts/test runs mypy beside pytest and exits with pytest's failure, else mypy's, else 0."""
    checkout, env = fake_checkout(tmp_path, pytest_status, mypy_status)
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run(
        [bash, str(checkout / "scripts" / "test")], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == expected, result.stdout + result.stderr
    # the fake pytest never reaches the conftest hooks, so the script itself says what mypy found, last
    assert result.stdout.splitlines() == [f"pytest summary {pytest_status}", f"mypy says {mypy_status}"]


def run_pytest(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The suite's own pytest on ``args``, quietly, in the repository, with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def with_stand_in(code: str) -> dict[str, str]:
    """The environment without scripts/test's mypy result, and with a Python one-liner standing in for mypy."""
    env = {k: v for k, v in os.environ.items() if k != "MTASTS_MYPY_RESULT"}
    env["MTASTS_MYPY_COMMAND"] = json.dumps([sys.executable, "-c", code])
    return env


@pytest.mark.parametrize(("mypy_status", "expected"), [(0, 0), (1, 1)], ids=["mypy-passes", "mypy-fails"])
def test_pytest_prints_mypy_before_its_summary(tmp_path: Path, mypy_status: int, expected: int) -> None:
    """With scripts/test's mypy result beside it, pytest prints it just before its summary and fails if mypy did."""
    (tmp_path / "out").write_text("infra/x.py:1: error: broken\nFound 1 error\n" if mypy_status else "Success: ok\n")
    (tmp_path / "status").write_text(f"{mypy_status}\n")
    result = run_pytest(["tests/test_names.py"], {**os.environ, "MTASTS_MYPY_RESULT": str(tmp_path)})
    assert result.returncode == expected, result.stdout + result.stderr
    lines = result.stdout.rstrip().splitlines()
    assert " passed" in lines[-1]
    if mypy_status:
        assert lines[-4:-1] == [lines[-4], "infra/x.py:1: error: broken", "Found 1 error"]
        assert "mypy --strict failed" in lines[-4]
    else:
        assert lines[-2] == "mypy: Success: ok"
    assert (tmp_path / "reported").exists()


@pytest.mark.parametrize(("mypy_status", "expected"), [(0, 0), (1, 1)], ids=["mypy-passes", "mypy-fails"])
def test_a_whole_suite_pytest_runs_mypy_itself(mypy_status: int, expected: int) -> None:
    """Plain pytest over the whole suite (no paths: the testpaths) starts mypy beside the tests and reports it last."""
    stand_in = f"print('stand-in says {mypy_status}'); raise SystemExit({mypy_status})"
    result = run_pytest(["-o", "testpaths=tests/test_names.py"], with_stand_in(stand_in))
    assert result.returncode == expected, result.stdout + result.stderr
    lines = result.stdout.rstrip().splitlines()
    assert " passed" in lines[-1]
    if mypy_status:
        assert lines[-2] == "stand-in says 1"
        assert "mypy --strict failed" in lines[-3]
    else:
        assert lines[-2] == "mypy: stand-in says 0"


def test_chosen_tests_run_no_mypy() -> None:
    """pytest over chosen paths runs no mypy: the stand-in would fail the run if it ran."""
    result = run_pytest(["tests/test_names.py"], with_stand_in("raise SystemExit(1)"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mypy" not in result.stdout
