"""Hostile report files (issue 11): each is rejected with its reason, and the valid reports of the run are kept."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from reports import as_json, report

from mtasts.cli import main
from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.envelope import MAX_MAIL_PARTS, ReportError
from mtasts.tlsrpt.files import MAX_FOLDER_DEPTH
from mtasts.tlsrpt.report import parse_report


def summarize(*args: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(main, ["reports", "summarize", *args, "--json"])
    return result.exit_code, (json.loads(result.stdout) if result.exit_code == 0 else {}), result.output


def dated(start: str, end: str) -> bytes:
    return as_json({**report(report_id=start), "date-range": {"start-datetime": start, "end-datetime": end}})


def test_huge_integer_count_is_rejected_naming_the_field() -> None:
    """A 5,000-digit count (past Python's int-string limit) is rejected naming the field, not a ValueError."""
    text = as_json(report(successful=123)).replace(b": 123,", b": " + b"7" * 5000 + b",")
    with pytest.raises(ReportError, match=r"^policies\[0\]\.summary\.total-successful-session-count: 7777.* exceeds"):
        parse_report(text)


def test_count_above_two_to_the_53_is_rejected() -> None:
    """Counts past 2**53 - 1 (RFC 8259 §6's exact range) are refused; 2**53 - 1 itself is a count."""
    assert parse_report(as_json(report(successful=2**53 - 1, failures=[]))).policies[0].successful == 2**53 - 1
    with pytest.raises(ReportError, match="total-successful-session-count: 9007199254740992 exceeds"):
        parse_report(as_json(report(successful=2**53, failures=[])))


@pytest.mark.parametrize(
    "start",
    ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"],
)
def test_dates_that_overflow_in_utc_are_rejected(start: str) -> None:
    """RFC 3339 date-times whose UTC instant falls outside years 1-9999 are refused with that reason."""
    with pytest.raises(ReportError, match=r"^date-range\.start-datetime: .* outside the years 0001-9999"):
        parse_report(dated(start, start))


def test_year_one_in_utc_is_a_day_like_any_other() -> None:
    """0001-01-01T00:00:00Z is valid and counts on the day 0001-01-01 (zero-padded, not strftime's "1-01-01")."""
    summary = Summary()
    summary.read("r", dated("0001-01-01T00:00:00Z", "0001-01-01T23:59:59Z"))
    assert list(summary.domains["company-y.example"].by_day) == ["0001-01-01"]


def test_lone_surrogate_is_rejected_and_the_page_is_written(tmp_path: Path) -> None:
    """A lone surrogate in organization-name rejects that report only; the other report and a full page remain."""
    (tmp_path / "bad.json").write_bytes(as_json(report(org="\ud800", report_id="bad")))
    (tmp_path / "good.json").write_bytes(as_json(report(report_id="good")))
    page = tmp_path / "page.html"
    code, doc, output = summarize(str(tmp_path / "bad.json"), str(tmp_path / "good.json"), "--html", str(page))
    assert code == 0, output
    assert doc["reports"] == 1
    (rejected,) = doc["rejected"]  # type: ignore[misc]
    assert rejected["reason"] == (
        "organization-name: lone surrogate '\\ud800' at character 0 is not Unicode text (RFC 8259 §8.2)"
    )
    assert page.stat().st_size > 1000
    assert "company-y.example" in page.read_text(encoding="utf-8")


def test_lone_surrogate_in_a_receiving_mx_is_rejected() -> None:
    """Every string the kit prints is checked, down to failure-details[].receiving-mx-hostname."""
    with pytest.raises(ReportError, match=r"^policies\[0\]\.failure-details\[1\]\.receiving-mx-hostname: lone"):
        parse_report(as_json(report(failures=[("certificate-expired", "a", 1), ("certificate-expired", "\udfff", 1)])))


def test_nan_and_infinity_are_not_json() -> None:
    """Python's json module reads NaN and Infinity; RFC 8259 has no such values, so the report is rejected."""
    with pytest.raises(ReportError, match=r"invalid JSON: NaN is not a JSON value"):
        parse_report(as_json(report()).replace(b'"contact-info"', b'"x": NaN, "contact-info"'))


def test_symlink_loop_is_rejected_and_the_walk_goes_on(tmp_path: Path) -> None:
    """Two links pointing at each other are each rejected with the OS's reason; the report beside them is read."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "r.json").write_bytes(as_json(report()))
    code, doc, output = summarize(str(tmp_path))
    assert code == 0, output
    assert doc["reports"] == 1
    assert {(Path(r["source"]).name, r["reason"]) for r in doc["rejected"]} == {  # type: ignore[attr-defined]
        ("a", "not readable: Too many levels of symbolic links"),
        ("b", "not readable: Too many levels of symbolic links"),
        ("dangling", "symbolic link to nothing or a link loop"),
    }


def test_folders_nested_1100_deep_are_rejected_and_the_walk_goes_on(tmp_path: Path) -> None:
    """A folder 1,100 levels deep is cut at MAX_FOLDER_DEPTH with one rejection; reports above it are read."""
    deep = tmp_path / "deep"
    folders = [str(deep / "/".join(["d"] * level)) for level in range(1, 1101)]  # os.makedirs would recurse 1,100 deep
    for folder in [str(deep), *folders]:
        os.mkdir(folder)
    (deep / "d" / "r.json").write_bytes(as_json(report(report_id="shallow")))
    (tmp_path / "z.json").write_bytes(as_json(report(report_id="after")))
    try:
        code, doc, output = summarize(str(tmp_path))
    finally:
        os.remove(deep / "d" / "r.json")
        for folder in reversed(folders):  # shutil.rmtree (pytest's cleanup) would recurse 1,100 deep too
            os.rmdir(folder)
    assert code == 0, output
    assert doc["reports"] == 2
    (rejected,) = doc["rejected"]  # type: ignore[misc]
    assert rejected["reason"] == f"folder nested deeper than {MAX_FOLDER_DEPTH} levels"
    assert rejected["source"].count("/d") == MAX_FOLDER_DEPTH


def test_mail_with_209711_parts_is_rejected_as_a_whole() -> None:
    """A 10 MiB multipart/report with 209,711 parts is one rejection, decided before the mail parser runs."""
    head = b'From: a@b.example\r\nContent-Type: multipart/report; report-type="tlsrpt"; boundary="b"\r\n\r\n'
    part = b"--b\r\nContent-Type: application/tlsrpt+json\r\n\r\n{}\r\n"
    mail = head + part * 209_711 + b"--b--\r\n"
    assert 10 * 2**20 - 1000 < len(mail) <= 10 * 2**20  # within the size cap: the parts cap must refuse it
    summary = Summary()
    summary.read("parts.eml", mail)
    assert summary.rejected == [
        {
            "source": "parts.eml",
            "reason": f"the mail has more than {MAX_MAIL_PARTS} MIME parts; a report mail has 2 (RFC 8460 §5.3)",
        }
    ]


def test_dev_zero_is_cut_at_the_size_cap() -> None:
    """`summarize /dev/zero` reads no more than --max-bytes (plus one) and rejects it: the cap holds while reading."""
    code, doc, output = summarize("/dev/zero", "--max-bytes", "4096")
    assert code == 0, output
    assert doc["rejected"] == [{"source": "/dev/zero", "reason": "more than 4096 bytes (--max-bytes)"}]


def test_a_pipe_within_the_cap_is_read(tmp_path: Path) -> None:
    """A named pipe given as PATH (e.g. shell process substitution) is read to its end when within the cap."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(as_json(report())))  # one report, then end of file
    writer.start()
    code, doc, output = summarize(str(fifo))
    writer.join()
    assert code == 0, output
    assert (doc["reports"], doc["rejected"]) == (1, [])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            as_json(report(successful=123)).replace(b": 123,", b": " + b"7" * 5000 + b","),
            "policies[0].summary.total-successful-session-count: 7777",
        ),
        (dated("9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59-23:59"), "date-range.start-datetime: '9999-12-31"),
        (dated("0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+01:00"), "date-range.start-datetime: '0001-01-01"),
        (as_json(report(org="\ud800")), "organization-name: lone surrogate"),
        (as_json(report(report_id="\udc00")), "report-id: lone surrogate"),
        (as_json(report(domain="\ud800.example")), "policies[0].policy.policy-domain: lone surrogate"),
    ],
    ids=[
        "huge-integer",
        "date-overflow",
        "date-underflow",
        "surrogate-organization",
        "surrogate-id",
        "surrogate-domain",
    ],
)
def test_the_lambdas_decoder_rejects_what_crashed_the_handler(
    data: bytes, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without msgspec (as in the rua Lambda), the reference decoder rejects these with a reason, never raising."""
    from mtasts.tlsrpt import report as module

    monkeypatch.setattr(module, "_fast", None)
    with pytest.raises(ReportError, match="^" + reason.replace("[", r"\[").replace(".", r"\.")):
        parse_report(data)
