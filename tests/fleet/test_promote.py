"""The stack-file edit of `mtasts promote`: only the changed values differ, byte for byte."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from mtasts.errors import ConfigError, MtastsError
from mtasts.fleet.promote import Step, apply_steps, edit_stack_text
from mtasts.plan import plan_stack_file

TRICKY = """\
# Production stack — every mail domain we host.
config:
  aws:region: eu-west-1   # Ireland

  "mta-sts:domains":
    # the main brand
    example.com:            # trailing comment on the key
      template: testing
      mode: "testing"       # quoted on purpose
      max_age: 86400
      mx: [mx1.example.com, "*.mx.example.net"]
      rua:
        - mailto:tls@example.com
    'bücher.example': {mode: testing, max_age: 86400, mx: [mx.bücher.example], rua: ['mailto:tls@bücher.example']}
    flow.example: {template: testing, mx: [mx.flow.example]}
    enforced.example:
      mode: 'enforce'
      max_age: 604800 # one week
      mx:
        - mx.enforced.example
    templated.example:
        template: enforce       # four-space indent here
        mx: [mx.t.example]
    bare.example:   # settings from the default template
  mta-sts:preflight: false
"""
#: TRICKY without bare.example, which has no MX patterns and so would not validate.
VALID = TRICKY.replace("    bare.example:   # settings from the default template\n", "")


def step(key: str, mode: str, max_age: int, domain: str = "") -> Step:
    return Step(key, domain or key, mode, max_age, "testing", 86400, "promote")


def changes(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def test_block_value_keeps_quotes_and_comment() -> None:
    """A quoted block value is replaced inside its quotes; the comment and every other line stay."""
    after = edit_stack_text(TRICKY, [step("example.com", "enforce", 86400)])
    assert changes(TRICKY, after) == [
        '-       mode: "testing"       # quoted on purpose',
        '+       mode: "enforce"       # quoted on purpose',
    ]


def test_idn_quoted_key_in_flow_style() -> None:
    """An IDN domain written as a quoted key with flow settings gets its values replaced in place."""
    after = edit_stack_text(TRICKY, [step("bücher.example", "enforce", 604800)])
    assert changes(TRICKY, after) == [
        "-     'bücher.example': {mode: testing, max_age: 86400, mx: [mx.bücher.example], rua: "
        "['mailto:tls@bücher.example']}",
        "+     'bücher.example': {mode: enforce, max_age: 604800, mx: [mx.bücher.example], rua: "
        "['mailto:tls@bücher.example']}",
    ]


def test_missing_keys_are_added_in_the_style_of_the_mapping() -> None:
    """Flow mappings get `, mode: …` before the brace; block mappings a line per key at their own indent."""
    after = edit_stack_text(
        TRICKY,
        [
            step("flow.example", "enforce", 86400),
            step("templated.example", "testing", 86400),
            step("bare.example", "enforce", 86400),
        ],
    )
    assert changes(TRICKY, after) == [
        "-     flow.example: {template: testing, mx: [mx.flow.example]}",
        "+     flow.example: {template: testing, mx: [mx.flow.example], mode: enforce, max_age: 86400}",
        "+         mode: testing",
        "+         max_age: 86400",
        "-     bare.example:   # settings from the default template",
        "+     bare.example: {mode: enforce, max_age: 86400} # settings from the default template",
    ]


def test_single_quoted_value_and_comment_after_number() -> None:
    """A single-quoted mode stays single-quoted; a number followed by a comment keeps the comment."""
    after = edit_stack_text(TRICKY, [Step("enforced.example", "enforced.example", "enforce", 2592000, "", 0, "")])
    assert changes(TRICKY, after) == [
        "-       max_age: 604800 # one week",
        "+       max_age: 2592000 # one week",
    ]


def test_crlf_file_stays_crlf() -> None:
    """A file with CRLF line ends keeps them, including on added lines."""
    crlf = TRICKY.replace("\n", "\r\n")
    after = edit_stack_text(crlf, [step("templated.example", "testing", 86400), step("example.com", "enforce", 86400)])
    assert after.count("\r\n") == crlf.count("\r\n") + 2
    assert "\n" not in after.replace("\r\n", "")
    assert after.replace("\r\n", "\n") == edit_stack_text(
        TRICKY, [step("templated.example", "testing", 86400), step("example.com", "enforce", 86400)]
    )


def test_no_step_no_change() -> None:
    """No steps, or a step to the values already there, return the text unchanged."""
    assert edit_stack_text(TRICKY, []) == TRICKY
    same = Step("enforced.example", "enforced.example", "enforce", 604800, "enforce", 604800, "promote")
    assert edit_stack_text(TRICKY, [same]) == TRICKY


def test_apply_writes_only_after_replanning(tmp_path: Path) -> None:
    """apply_steps re-plans the edited file: the stepped domain has the new values and the file is replaced."""
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(VALID, encoding="utf-8")
    before = plan_stack_file(path)
    apply_steps(path, before, [step("example.com", "enforce", 86400)])
    after = plan_stack_file(path)
    assert after.get("example.com").config.mode == "enforce"
    assert [d.policy_bytes for d in after.domains if d.domain != "example.com"] == [
        d.policy_bytes for d in before.domains if d.domain != "example.com"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.prod.yaml"]


def test_apply_refuses_an_edit_that_does_not_validate(tmp_path: Path) -> None:
    """A step to an invalid max_age is refused by the re-plan and the file is left exactly as it was."""
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(VALID, encoding="utf-8")
    before = plan_stack_file(path)
    with pytest.raises(ConfigError, match="max_age"):
        apply_steps(path, before, [step("example.com", "enforce", 40_000_000)])
    assert path.read_text(encoding="utf-8") == VALID
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.prod.yaml"]


def test_apply_dry_run_writes_nothing(tmp_path: Path) -> None:
    """write=False returns the new text and leaves the file alone."""
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(VALID, encoding="utf-8")
    new = apply_steps(path, plan_stack_file(path), [step("example.com", "enforce", 86400)], write=False)
    assert 'mode: "enforce"' in new
    assert path.read_text(encoding="utf-8") == VALID


def test_unknown_key_is_an_error() -> None:
    """A step for a key not in the file is a ConfigError naming it."""
    with pytest.raises(MtastsError, match=r"domains\.nope\.example"):
        edit_stack_text(TRICKY, [step("nope.example", "enforce", 86400)])
