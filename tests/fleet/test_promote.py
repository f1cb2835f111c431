"""The stack-file edit of `mtasts promote`: only the changed values differ, byte for byte."""

from __future__ import annotations

import difflib
import itertools
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fleetworld import AS_OF, STACK, network_args
from loopback import Loopback
from ruamel.yaml import YAML

from mtasts.cli import main
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


#: Stack texts a splice cannot edit safely, with the line the error names.
UNSAFE = {
    "anchor": (VALID.replace("    enforced.example:\n", "    enforced.example: &base\n"), 16),
    "alias": (VALID.replace("    flow.example: {", "    flow.example: *x\n    x.example: &x {"), 15),
    "alias-from-outside": (
        VALID.replace("config:\n", "base: &b {mode: testing}\nconfig:\n").replace(
            "    flow.example: {template: testing, mx: [mx.flow.example]}", "    flow.example: *b"
        ),
        2,
    ),
    "merge": (VALID.replace("      template: testing\n", "      <<: {template: testing}\n", 1), 8),
    "merge-on-config": (VALID.replace("  aws:region", "  <<: {x: 1}\n  aws:region"), 3),
    "duplicate": (VALID.replace("      max_age: 86400\n", "      max_age: 86400\n      max_age: 604800\n", 1), 11),
    "two-documents": (VALID + "---\nconfig: {}\n", 26),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_structure_is_refused_with_file_and_line(case: str, tmp_path: Path) -> None:
    """Anchors, aliases, merge keys, duplicate keys and a second document are one error naming file and line."""
    text, line = UNSAFE[case]
    with pytest.raises(ConfigError) as caught:
        edit_stack_text(text, [step("example.com", "enforce", 86400)], "Pulumi.prod.yaml")
    assert len(caught.value.problems) == 1
    assert str(caught.value).startswith(f"Pulumi.prod.yaml:{line}: "), str(caught.value)
    assert "\n" not in str(caught.value)


def test_anchors_outside_the_domains_are_left_alone() -> None:
    """An anchor and alias under another key (not on the way to the domains) do not stop the edit."""
    text = VALID.replace(
        "  mta-sts:preflight: false\n", "  other: &o {a: 1}\n  again: *o\n  mta-sts:preflight: false\n"
    )
    after = edit_stack_text(text, [step("example.com", "enforce", 86400)])
    assert changes(text, after) == changes(VALID, edit_stack_text(VALID, [step("example.com", "enforce", 86400)]))


def test_promote_refuses_an_anchored_stack_file_and_leaves_it_untouched(
    world: Loopback, report_dir: Path, tmp_path: Path
) -> None:
    """`mtasts promote` on a stack file whose domains use an anchor: one error line with file and line, exit 2."""
    path = tmp_path / "Pulumi.fleet.yaml"
    text = STACK.replace("    ready.example:       # first customer", "    ready.example: &r    # first customer")
    path.write_text(text)
    common = ["--config", str(path), "--reports", str(report_dir), "--as-of", str(AS_OF), *network_args(world)]
    result = CliRunner().invoke(main, ["promote", *common])
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"{path}:5: an anchor (&r)" in error
    assert path.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.fleet.yaml"]


def _domain_lines(text: str) -> dict[str, tuple[int, int]]:
    """Each domain's lines [first, end) in ``text``: from its key to the next key of the domains or config."""
    doc: Any = YAML(typ="rt").load(text)
    config, domains = doc["config"], doc["config"]["mta-sts:domains"]
    keys = list(config)
    after = keys.index("mta-sts:domains") + 1
    end = config.lc.key(keys[after])[0] if after < len(keys) else len(text.splitlines())
    starts = [domains.lc.key(k)[0] for k in domains] + [end]
    return {str(k): (starts[i], starts[i + 1]) for i, k in enumerate(domains)}


def _outside(text: str, keys: set[str]) -> list[str]:
    """The lines of ``text`` outside the given domains' settings."""
    lines = text.splitlines(keepends=True)
    spans = [span for key, span in _domain_lines(text).items() if key in keys]
    return [line for i, line in enumerate(lines) if not any(a <= i < b for a, b in spans)]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_promote_changes_nothing_but_the_promoted_values(newline: str) -> None:
    """For every set of stepped domains: the parsed document differs only in their values; other bytes stay."""
    before = TRICKY.replace("\n", newline)
    keys = list(_domain_lines(before))
    new = {"mode": "enforce", "max_age": 1209600}
    for count in range(1, len(keys) + 1):
        for chosen in itertools.combinations(keys, count):
            after = edit_stack_text(before, [step(k, new["mode"], new["max_age"]) for k in chosen])
            expected: Any = YAML(typ="safe").load(before)
            for key in chosen:
                domains = expected["config"]["mta-sts:domains"]
                domains[key] = {**(domains[key] or {}), **new}
            assert YAML(typ="safe").load(after) == expected, chosen
            assert _outside(after, set(chosen)) == _outside(before, set(chosen)), chosen
