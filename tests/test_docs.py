"""The documentation's examples are tests: every stack example plans, and CI runs the README's command."""

import re
import shutil
import subprocess
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
    """.ci/run runs, character for character, the README's second quick-start command, which sets up the browser."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "mtasts plan --stack example" in commands[0]
    assert commands[1] == "bash scripts/test"
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci_lines
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert "apt-get install -y -qq chromium" in script
    assert "pip install -q -e '.[dev]'" in script
    assert '.venv/bin/mypy >"$mypy_result/out"' in script
    assert '.venv/bin/python -m pytest "$@"' in script


def test_test_script_installs_a_missing_browser(tmp_path: Path) -> None:
    """With no browser on PATH, scripts/test runs apt-get to install chromium before it creates the virtualenv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    for tool in ("dirname", "chmod", "cat"):  # the only programs the script and the stubs need from the system
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    stubs = {
        # apt-get "installs" chromium by putting an executable named chromium on PATH
        "apt-get": f'echo "apt-get $*" >> {log}\ncase "$*" in *install*) echo "#!/bin/sh" > {bin_dir}/chromium;'
        f" chmod +x {bin_dir}/chromium;; esac",
        "id": "echo 0",
        "python3": f'echo "python3 $*" >> {log}\nexit 3',
    }
    for tool, body in stubs.items():
        (bin_dir / tool).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / tool).chmod(0o755)
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run(
        [bash, str(ROOT / "scripts" / "test")],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 3, result.stderr
    assert log.read_text().splitlines() == [
        "apt-get update -qq",
        "apt-get install -y -qq chromium",
        "python3 -m venv .venv",
    ]


def test_every_domain_key_is_documented() -> None:
    """The README's config table names every key a domain accepts, and every stack setting."""
    from mtasts.config import DOMAIN_KEYS, STACK_KEYS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for key in DOMAIN_KEYS:
        assert f"| `{key}` |" in readme, key
    for key in STACK_KEYS:
        assert f"`mta-sts:{key}`" in readme, key
