"""The rendering rules of mtasts.inert, case by case over the hostile corpus."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

import mtasts.output
from hostile_corpus import CORPUS, Case, forbidden_in
from mtasts.inert import inert, inert_lines, json_text, md_text, no_autolinks, script_json
from mtasts.output import Column, print_table, text


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_inert_leaves_no_control_and_is_idempotent(case: Case) -> None:
    """Every hostile value renders without a control, bidi or surrogate character; rendering twice changes nothing."""
    shown = inert(case.value)
    assert not forbidden_in(shown)
    assert "\n" not in shown
    assert inert(shown) == shown
    shown.encode("utf-8")


def test_inert_shows_escapes_python_style() -> None:
    """ESC, C1, newline, surrogates and bidi overrides are shown as the escapes a reader recognises."""
    assert inert("\x1b]0;x\x07") == "\\x1b]0;x\\x07"
    assert inert("\x9b\x7f") == "\\x9b\\x7f"
    assert inert("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert inert("\ud800") == "\\ud800"
    assert inert("\u202eabc") == "\\u202eabc"
    assert inert("exämple.com ✓ 例え") == "exämple.com ✓ 例え"  # ordinary Unicode stays readable


def test_inert_lines_keeps_only_line_breaks() -> None:
    """Prose keeps its line breaks; every other control in it is escaped."""
    assert inert_lines("one\x1b[2J\ntwo\r") == "one\\x1b[2J\ntwo\\r"


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_json_text_is_valid_ascii_and_round_trips(case: Case) -> None:
    """JSON of any value, lone surrogates included, is pure ASCII and parses back to the same value."""
    document = {case.value: [case.value]}
    for rendered in (json_text(document), script_json(document)):
        assert rendered.isascii()
        assert not forbidden_in(rendered)
        assert json.loads(rendered) == document
    assert "<" not in script_json(document)
    assert "&" not in script_json(document)


def _capture(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> io.StringIO:
    buffer = io.StringIO()
    monkeypatch.setattr(mtasts.output, "is_terminal", lambda: terminal)
    monkeypatch.setattr(
        mtasts.output, "console", lambda: Console(file=buffer, width=120, highlight=False, color_system=None)
    )
    monkeypatch.setattr("sys.stdout", buffer)
    return buffer


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
@pytest.mark.parametrize("rows", [1, 6], ids=["table", "long"])
def test_print_table_renders_every_cell_inert(monkeypatch: pytest.MonkeyPatch, terminal: bool, rows: int) -> None:
    """Tables, plain lines and blocks show every hostile cell escaped, also in markup columns and titles."""
    buffer = _capture(monkeypatch, terminal)
    hostile = [c.value for c in CORPUS]
    columns = [Column("Value", copy=True), Column("Prose"), Column("Marked", markup=True)]
    body = [[v, f"prose {v}", f"[green]ok[/] {v.replace('[', '')}"] for v in hostile] * rows
    print_table("\x1b]0;title\x07", columns, body)
    text("\x1b[2Jline")
    out = buffer.getvalue()
    assert not forbidden_in(out)
    assert "\\x1b]0;OWNED\\x07" in out
    assert "\\x1b]0;title\\x07" in out
    assert "\\x1b[2Jline" in out


def test_no_autolinks_breaks_urls_and_mentions_and_keeps_the_text() -> None:
    """no_autolinks puts an invisible joiner in ``://``, after ``www`` and ``@``, escapes controls, drops nothing."""
    value = "see https://evil.example/ www.evil.example @here abuse@evil.example\x1b[2J"
    text = no_autolinks(value)
    assert text == (
        "see https:\u2060//evil.example/ www\u2060.evil.example @\u2060here abuse@\u2060evil.example\\x1b[2J"
    )
    assert text.replace("\u2060", "") == inert(value)
    assert md_text("@here www.x") == "\\@\u2060here www\u2060.x"  # md_text breaks the same ones
