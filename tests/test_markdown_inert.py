"""Markdown bodies (promote's PR body, diff --markdown --evidence, status --markdown) keep outside values as text."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from hostile_corpus import CORPUS, Case
from mtasts.fleet.tables import diff_evidence_markdown
from mtasts.inert import md_code, md_text

_PARSER = MarkdownIt("commonmark").enable("table").enable("strikethrough")
_BAD_TOKENS = {"link_open", "image", "html_inline", "html_block", "fence", "code_block", "heading_open", "hr"}
#: What GitHub turns into a link or a notification on its own: @mentions, bare URLs, www. and e-mail addresses.
_GITHUB_AUTOLINK = re.compile(r"(?<![\w\\])@\w|https?://|\bwww\.|\w@\w", re.IGNORECASE)


def _walk(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from _walk(token.children or [])


def _attacks(markdown: str) -> list[str]:
    """Every construct in ``markdown`` that a value could use to link, load, run, mention or restructure."""
    found = []
    for token in _walk(_PARSER.parse(markdown)):
        if token.type in _BAD_TOKENS and not (token.type == "html_inline" and token.content == "<br>"):  # the kit's
            found.append(f"{token.type}: {token.content!r}")
        if token.type == "text" and _GITHUB_AUTOLINK.search(token.content):
            found.append(f"autolink/mention in {token.content!r}")
    return found


def _table(cell: str) -> str:
    return f"| a | b |\n| --- | --- |\n| {cell} | x |\n"


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_escaped_values_render_as_one_cell_of_text(case: Case) -> None:
    """Each hostile value, escaped as text or as code, stays one table cell and one paragraph with no link or HTML."""
    for rendered in (md_text(case.value), md_code(case.value)):
        assert "\n" not in rendered
        for document in (_table(rendered), f"Reason: {rendered}\n", f"- ⚠️ {rendered}\n"):
            assert _attacks(document) == []
        rows = [t for t in _walk(_PARSER.parse(_table(rendered))) if t.type == "td_open"]
        assert len(rows) == 2  # the value did not split its cell


def test_the_unhostile_text_reads_as_it_was() -> None:
    """Escaping changes how a value is written, never what a reader sees (ordinary text and code round-trip)."""
    value = "mx1.example.com: starttls-not-supported ×3 (50%) a_b"
    inline = _PARSER.parse(f"x {md_text(value)}")[1]
    assert inline.children is not None
    assert "".join(t.content for t in inline.children) == f"x {value}"
    assert _PARSER.parse(f"x {md_code('a`b|c')}")[1].children[1].content == "a`b\\|c"  # type: ignore[index]


def test_diff_evidence_markdown_keeps_a_hostile_status_document_as_text() -> None:
    """diff --markdown --evidence: window, reasons and top failures from a status document cannot add markup."""
    values = [c.value for c in CORPUS]
    document = {
        "window": {"first_day": values[14], "last_day": values[19]},
        "domains": [
            {
                "domain": "a.example",
                "verdict": "ready",
                "next": {"mode": "enforce", "max_age": 86400},
                "reports": {"days": 1, "top_failures": [{"result_type": v, "mx": v, "sessions": 1} for v in values]},
                "reasons": values,
            }
        ],
    }
    text = diff_evidence_markdown([("a.example", "testing", 86400, "enforce", 86400)], document)
    assert _attacks(text) == []
    rows = [line for line in text.splitlines() if line.startswith("| a.example")]
    assert len(rows) == 1
    cells = [t for t in _walk(_PARSER.parse(text)) if t.type == "td_open"]
    assert len(cells) == 8  # the one data row has its 8 cells, none added by a | in a value


def _hostile_fleet() -> tuple[object, list[object]]:
    """A fleet of one domain whose live answers and reports carry every hostile value (reasons, warnings, MX)."""
    import datetime as dt

    from mtasts.config import parse_stack_settings
    from mtasts.fleet.evidence import DomainReports, LiveState
    from mtasts.fleet.promote import Step
    from mtasts.fleet.rules import DEFAULTS
    from mtasts.fleet.status import FleetStatus, evaluate
    from mtasts.plan import plan_stack

    values = [c.value for c in CORPUS]
    plan = plan_stack(parse_stack_settings({"domains": {"a.example": {"mode": "testing", "mx": ["mx.a.example"]}}}))
    starttls = {v: v for v in values}
    live = LiveState(txt_id_live=True, policy_served=True, policy_equal=True, mx=values, starttls=starttls)
    failures = [{"result_type": v, "mx": v, "sessions": 1} for v in values]
    status = evaluate(plan.domains[0], live, DomainReports(days=["2026-11-01"], failures=failures), DEFAULTS)
    status.reasons[:] = values
    status.warnings[:] = values
    fleet = FleetStatus([status], DEFAULTS, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    return fleet, [Step("a.example", "a.example", "enforce", 86400, "testing", 86400, "promote")]


def test_status_and_promote_markdown_keep_hostile_evidence_as_text() -> None:
    """status --markdown and promote's PR body: reasons, warnings and failures from strangers add no markup."""
    from mtasts.fleet.tables import evidence_markdown

    fleet, steps = _hostile_fleet()
    for text in (evidence_markdown(fleet), evidence_markdown(fleet, steps=steps, limit=100)):  # type: ignore[arg-type]
        assert _attacks(text) == []
        cells = [t for t in _walk(_PARSER.parse(text)) if t.type == "td_open"]
        assert len(cells) == 11  # one row, its 11 cells, none added by a | in a value
