"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import settings

# No timing assertions in tests: Hypothesis's per-example deadline (200 ms) fails property tests on a busy machine
# (CI's two cores run mypy beside pytest), which says nothing about the code. Examples and shrinking are unchanged.
settings.register_profile("mtasts", deadline=None)
settings.load_profile("mtasts")

# `bash scripts/test` runs mypy --strict once, in the background, while pytest runs, and names in this variable
# the folder where mypy's output (`out`) and exit status (`status`) appear. The hooks below wait for it at the
# end of the run, print its result just before pytest's summary line and fail the run when mypy failed.
MYPY_RESULT = "MTASTS_MYPY_RESULT"
MYPY_WAIT_SECONDS = 1800.0


def _mypy_result(config: pytest.Config) -> tuple[int, str] | None:
    """mypy's exit status and output, waiting for it to finish; None when no mypy runs beside this pytest."""
    cached: tuple[int, str] | None = getattr(config, "_mtasts_mypy", None)
    if cached is not None or not os.environ.get(MYPY_RESULT):
        return cached
    folder = Path(os.environ[MYPY_RESULT])
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
    """A run whose tests pass fails all the same when mypy, run beside it by scripts/test, failed."""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return
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
    (Path(os.environ[MYPY_RESULT]) / "reported").touch()


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
