"""Fixtures shared by every test folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import settings

# No timing assertions in tests: Hypothesis's per-example deadline (200 ms) fails property tests on a busy machine
# (CI's two cores run mypy beside pytest), which says nothing about the code. Examples and shrinking are unchanged.
settings.register_profile("mtasts", deadline=None)
settings.load_profile("mtasts")

# In CI (CI=true) the kit writes no output outside the working tree unless MTASTS_ALLOW_WRITE names it
# (mtasts.outfile), and tests write to tmp_path, outside it. The suite runs as on a laptop wherever it runs;
# tests/test_outfile.py and the commands' file tests set both variables themselves where they test that rule.
for _variable in ("CI", "MTASTS_ALLOW_WRITE"):
    os.environ.pop(_variable, None)

# mypy --strict runs once per whole-suite run, in the background, beside the tests (README, "Development"):
# `bash scripts/test` starts it and names in MTASTS_MYPY_RESULT the folder where its output (`out`) and exit status
# (`status`) appear; a plain `pytest` over the whole suite (no paths given) starts it here instead. The hooks below
# wait for it at the end of the run, print its result just before pytest's summary line and fail the run when mypy
# failed. A run of chosen tests (`pytest tests/test_policy.py`) runs no mypy.
ROOT = Path(__file__).resolve().parents[1]
MYPY_RESULT = "MTASTS_MYPY_RESULT"
#: The command that stands for mypy, as a JSON list (tests put a stand-in there); default: the virtualenv's mypy.
MYPY_COMMAND = "MTASTS_MYPY_COMMAND"
MYPY_WAIT_SECONDS = 1800.0


def pytest_configure(config: pytest.Config) -> None:
    """A whole-suite run that scripts/test did not start starts mypy itself, in the background."""
    if os.environ.get(MYPY_RESULT) or config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return
    if config.option.collectonly:
        return
    folder = Path(tempfile.mkdtemp(prefix="mtasts-mypy-"))
    command = os.environ.get(MYPY_COMMAND)
    argv = json.loads(command) if command else [str(Path(sys.executable).parent / "mypy")]
    with (folder / "out").open("wb") as out:
        config._mtasts_mypy_proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)  # type: ignore[attr-defined]
    config._mtasts_mypy_folder = folder  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    """The mypy this run started is stopped if still running (an interrupted run), and its folder removed."""
    proc: subprocess.Popen[bytes] | None = getattr(config, "_mtasts_mypy_proc", None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
    folder: Path | None = getattr(config, "_mtasts_mypy_folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _mypy_folder(config: pytest.Config) -> Path | None:
    own: Path | None = getattr(config, "_mtasts_mypy_folder", None)
    if own is not None:
        return own
    return Path(os.environ[MYPY_RESULT]) if os.environ.get(MYPY_RESULT) else None


def _mypy_result(config: pytest.Config) -> tuple[int, str] | None:
    """mypy's exit status and output, waiting for it to finish; None when no mypy runs beside this pytest."""
    cached: tuple[int, str] | None = getattr(config, "_mtasts_mypy", None)
    folder = _mypy_folder(config)
    if cached is not None or folder is None:
        return cached
    proc: subprocess.Popen[bytes] | None = getattr(config, "_mtasts_mypy_proc", None)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            (folder / "status").write_text(f"{proc.wait(timeout=MYPY_WAIT_SECONDS)}\n")
    deadline = time.monotonic() + MYPY_WAIT_SECONDS
    while not (folder / "status").exists():
        if time.monotonic() > deadline:
            result = (1, f"mypy did not finish within {MYPY_WAIT_SECONDS:.0f} s")
            break
        time.sleep(0.1)
    else:
        status = int((folder / "status").read_text().strip() or "1")
        result = (status, (folder / "out").read_text(errors="replace"))
    config._mtasts_mypy = result  # type: ignore[attr-defined]
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run whose tests pass fails all the same when mypy, run beside it, failed."""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return
    if exitstatus != pytest.ExitCode.OK and getattr(session.config, "_mtasts_mypy_proc", None) is not None:
        return  # the tests failed already: no wait for the mypy this run started (stopped at unconfigure)
    result = _mypy_result(session.config)
    if result is not None and result[0] != 0 and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    """mypy's result, printed before pytest's summary line: its last line on success, all of it on failure."""
    result = getattr(config, "_mtasts_mypy", None)
    if result is None:
        return
    status, output = result
    lines = output.rstrip().splitlines() or [f"mypy exited with status {status}"]
    if status == 0:
        terminalreporter.write_line(f"mypy: {lines[-1]}")
    else:
        terminalreporter.write_sep("=", "mypy --strict failed", red=True)
        for line in lines:
            terminalreporter.write_line(line)
    folder = _mypy_folder(config)
    if folder is not None:
        (folder / "reported").touch()


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and a region that reach nothing: boto3 talks only to moto."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
