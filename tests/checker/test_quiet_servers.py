"""A passing test run prints no traceback on stderr: the loopback servers handle the failures the tests provoke."""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.smtp import TLSSetupException
from loopback import _HTTPSServer, _Sink

ROOT = Path(__file__).resolve().parents[2]


def test_certificate_failure_tests_print_no_traceback() -> None:
    """Refused policy-host and MX certificates, run uncaptured (-s, no logging plugin), print no traceback."""
    tests = [
        "tests/checker/test_check.py::test_policy_fetch_failures",
        "tests/checker/test_check.py::test_starttls_failures",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:logging", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


def _handle_error_output(error: BaseException, capsys: pytest.CaptureFixture[str]) -> str:
    server = _HTTPSServer(("127.0.0.1", 0), object)  # type: ignore[arg-type]
    try:
        try:
            raise error
        except BaseException:
            server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    return capsys.readouterr().err


def test_https_server_stays_loud_about_its_own_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """A refused certificate or a hang-up is quiet, a bug in the handler still prints its traceback."""
    assert _handle_error_output(ssl.SSLError(1, "sslv3 alert certificate expired"), capsys) == ""
    assert _handle_error_output(ConnectionResetError(104, "reset"), capsys) == ""
    assert "Traceback" in _handle_error_output(KeyError("route"), capsys)


def _answer(error: Exception) -> str:
    """The sink's answer to ``error``, on a loop of its own (asyncio.run would unset the main thread's loop)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_Sink().handle_exception(error))
    finally:
        loop.close()


class _Records(logging.Handler):
    """Keeps the records of aiosmtpd's logger, with or without pytest's logging plugin (-p no:logging)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_smtp_sink_stays_loud_about_its_own_errors() -> None:
    """A client refusing the MX certificate is not logged, any other session error is, with its traceback."""
    logger, kept = logging.getLogger("mail.log"), _Records()
    logger.addHandler(kept)
    try:
        answer = _answer(TLSSetupException())
        assert answer.startswith("500 ")
        assert kept.records == []
        try:
            raise RuntimeError("handler bug")
        except RuntimeError as exc:
            _answer(exc)
    finally:
        logger.removeHandler(kept)
    (record,) = kept.records
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
