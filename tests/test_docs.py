"""The documentation's examples are tests: every stack example plans, and CI runs the README's command."""

import re
from pathlib import Path

import pytest
import yaml

from mtasts.config import TemplateStore, parse_stack_settings
from mtasts.plan import plan_stack

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def stack_examples() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for index, block in enumerate(BLOCK.findall(doc.read_text(encoding="utf-8"))):
            if "mta-sts:domains:" in block:
                found.append((f"{doc.name}#{index}", block))
    return found


@pytest.mark.parametrize(("where", "block"), stack_examples(), ids=[w for w, _ in stack_examples()])
def test_documented_stack_examples_are_valid(where: str, block: str) -> None:
    """Each YAML stack example in the docs is a valid stack that plans without errors."""
    config = yaml.safe_load(block)["config"]
    settings = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("mta-sts:")}
    plan = plan_stack(parse_stack_settings(settings, TemplateStore()))
    assert plan.domains, where


def test_readme_has_stack_examples() -> None:
    """The README's config reference carries at least one example stack."""
    assert any(where.startswith("README.md") for where, _ in stack_examples())


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs, character for character, the README's second quick-start command."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv .venv")]
    assert len(commands) == 2
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci_lines
    assert "mtasts plan --stack example" in commands[0]


def test_every_domain_key_is_documented() -> None:
    """The README's config table names every key a domain accepts, and every stack setting."""
    from mtasts.config import DOMAIN_KEYS, STACK_KEYS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for key in DOMAIN_KEYS:
        assert f"| `{key}` |" in readme, key
    for key in STACK_KEYS:
        assert f"`mta-sts:{key}`" in readme, key
