"""Every file a command writes where the user pointed it: no symbolic link, nothing outside CI's tree, never half.

The commands: `status --html`, `status --markdown FILE`, `status --notify-state`, `promote --markdown FILE` and
`reports summarize --html` (mtasts.outfile; docs/fleet.md, "Files the commands write"). Each is run with the
path as a planted link, outside the working tree with and without CI, inside it in CI, named in
MTASTS_ALLOW_WRITE, and with a write that fails half-way; `reports backfill --to FOLDER` the same way below.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fleetworld import AS_OF, network_args
from loopback import Loopback
from webhook import Hook, webhook

from hostile_corpus import FILE_CORPUS
from mtasts.cli import main
from mtasts.outfile import ALLOW_ENV

SECRET = "s3cret-for-tests"


@pytest.fixture(scope="module")
def hook() -> Iterator[Hook]:
    """A loopback webhook receiver for the --notify-state runs."""
    with webhook() as running:
        yield running


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git working tree as the current directory; ``outside/`` (beside it) holds a file nothing may change."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "bashrc").write_text("original\n")
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(root)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    return root


#: name → (option, the rest of the command line before ``option FILE``, exit statuses of a run that wrote FILE).
COMMANDS: dict[str, tuple[str, list[str], tuple[int, ...]]] = {
    "status --html": ("--html", ["status", "--no-live"], (0, 1)),
    "status --markdown": ("--markdown", ["status", "--no-live"], (0, 1)),
    "status --notify-state": ("--notify-state", ["status", "--no-live", "--json", "--notify", "HOOK"], (0, 1)),
    "promote --markdown": ("--markdown", ["promote", "--no-live"], (1,)),
    "reports summarize --html": ("--html", ["reports", "summarize", "REPORTS"], (0,)),
}


def run(name: str, stack: Path, out: Path, hook: Hook) -> Result:
    option, command, _ = COMMANDS[name]
    replace = {"HOOK": f"json={hook.url}/hook", "REPORTS": str(stack.parent / "reports")}
    argv = [replace.get(word, word) for word in command]
    if argv[0] != "reports":
        argv += ["--config", str(stack)]
    return CliRunner(env={"MTASTS_WEBHOOK_SECRET": SECRET}).invoke(main, [*argv, option, str(out)])


def wrote(name: str, result: Result, path: Path) -> None:
    """The run succeeded and ``path`` holds what the command writes there."""
    _, _, codes = COMMANDS[name]
    assert result.exit_code in codes, result.output
    text = path.read_text()
    if name.endswith("--html"):
        assert text.lower().startswith("<!doctype html>")
    elif name.endswith("--notify-state"):
        assert json.loads(text)["stack"] == "fleet"
    else:
        assert "| Domain |" in text


def refused(name: str, result: Result, path: Path, reason: str) -> None:
    """Exit status 2 and, beside the stack's warnings, one error line naming the option and the path with ``reason``."""
    option, _, _ = COMMANDS[name]
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: {option}: {path} {reason}"), errors


NAMES = list(COMMANDS)


def plant(case: str, tree: Path) -> Path:
    """Lay out the hostile corpus's file case ``case`` in ``tree``; the path the command is given."""
    outside = tree.parent / "outside"
    if case == "file-symlink":
        (tree / "out").symlink_to(outside / "bashrc")
    elif case == "file-dangling-symlink":
        (tree / "out").symlink_to(outside / "new")
    elif case == "file-linked-folder":
        (tree / "evidence").symlink_to(outside)
        return Path("evidence/out")
    elif case == "file-dot-dot":
        return Path("../outside/out")
    elif case == "file-absolute":
        return outside / "out"
    return Path("out")


def untouched(tree: Path) -> None:
    """The folder outside the tree holds what it held: the file a link points at, nothing new."""
    outside = tree.parent / "outside"
    assert [p.name for p in outside.iterdir()] == ["bashrc"]
    assert (outside / "bashrc").read_text() == "original\n"


@pytest.mark.parametrize("case", ["file-symlink", "file-dangling-symlink"])
@pytest.mark.parametrize("name", NAMES)
def test_symlink_is_refused(name: str, case: str, tree: Path, stack: Path, hook: Hook) -> None:
    """A planted link at the path is one error line and exit 2: nothing is written or posted, the link stays."""
    posted = len(hook.received)
    out = plant(case, tree)
    result = run(name, stack, out, hook)
    refused(name, result, out, "is a symbolic link; not written")
    untouched(tree)
    assert (tree / "out").is_symlink()
    assert len(hook.received) == posted  # refused before anything was posted


@pytest.mark.parametrize("name", NAMES)
def test_named_symlink_is_written_through(
    name: str, tree: Path, stack: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the link named in MTASTS_ALLOW_WRITE (and CI set), its target is written and the link kept."""
    target = tree.parent / "outside" / "published"
    (tree / "out").symlink_to(target)
    monkeypatch.setenv(ALLOW_ENV, "out")
    monkeypatch.setenv("CI", "true")
    wrote(name, run(name, stack, Path("out"), hook), target)
    assert (tree / "out").is_symlink()


@pytest.mark.parametrize("case", ["file-linked-folder", "file-dot-dot", "file-absolute"])
@pytest.mark.parametrize("name", NAMES)
def test_outside_the_tree_in_ci_is_refused(
    name: str, case: str, tree: Path, stack: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CI=true a path outside the working tree (linked folder, .., absolute) is one error line, exit 2."""
    monkeypatch.setenv("CI", "true")
    out = plant(case, tree)
    refused(name, run(name, stack, out, hook), out, f"is outside the working tree {tree} and CI is set")
    untouched(tree)


@pytest.mark.parametrize("name", NAMES)
def test_outside_the_tree_outside_ci_is_written(name: str, tree: Path, stack: Path, hook: Hook) -> None:
    """Without CI a path outside the working tree is written."""
    out = tree.parent / "outside" / "out"
    wrote(name, run(name, stack, out, hook), out)


@pytest.mark.parametrize("name", NAMES)
def test_inside_the_tree_in_ci_is_written(
    name: str, tree: Path, stack: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CI=true a relative path inside the working tree is written."""
    monkeypatch.setenv("CI", "true")
    wrote(name, run(name, stack, Path("out"), hook), tree / "out")


@pytest.mark.parametrize("name", NAMES)
def test_failed_write_keeps_the_old_file(  # the hostile corpus's "file-partial"
    name: str, tree: Path, stack: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails (disk full at fsync) is one `cannot write` line, exit 2; the old file stays whole, no temp."""
    (tree / "out").write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = run(name, stack, Path("out"), hook)
    option, _, _ = COMMANDS[name]
    assert result.exit_code == 2, result.output
    assert f"error: {option}: cannot write out: No space left on device" in result.stderr.splitlines()
    assert (tree / "out").read_text() == "old\n"
    assert sorted(p.name for p in tree.iterdir()) == [".git", "out"]


def test_every_file_case_of_the_hostile_corpus_is_run() -> None:
    """Each case of FILE_CORPUS is laid out by a test here or in tests/test_outfile.py."""
    here = Path(__file__).read_text(encoding="utf-8")
    unit = (Path(__file__).parents[1] / "test_outfile.py").read_text(encoding="utf-8")
    assert [c.name for c in FILE_CORPUS if f'"{c.name}"' not in here + unit] == []


def test_promote_refuses_the_markdown_file_before_editing_the_stack(
    world: Loopback, report_dir: Path, tree: Path, stack: Path
) -> None:
    """With ready domains and a linked --markdown, promote exits 2 and the stack file is byte for byte as it was."""
    before = stack.read_bytes()
    (tree / "body.md").symlink_to(tree.parent / "outside" / "bashrc")
    result = CliRunner().invoke(
        main,
        ["promote", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF),
         "--markdown", "body.md", *network_args(world)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "error: --markdown: body.md is a symbolic link" in result.stderr
    assert stack.read_bytes() == before


@pytest.fixture
def raw(report_dir: Path, tree: Path) -> Path:
    """A folder of three stored reports outside the tree (backfill's SOURCE)."""
    folder = tree.parent / "raw"
    folder.mkdir()
    for report in sorted(report_dir.glob("ready.example-*.json"))[:3]:
        (folder / report.name).write_bytes(report.read_bytes())
    return folder


def backfill(raw: Path, to: Path | str) -> Result:
    return CliRunner().invoke(main, ["reports", "backfill", str(raw), "--to", str(to)])


def day_files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_backfill_refuses_a_linked_day_file_and_writes_no_day(raw: Path, tree: Path) -> None:
    """A day's rows file planted as a link is one error line, exit 2: no day's file changes, the target stays."""
    assert backfill(raw, "rows").exit_code == 0
    before = day_files(tree / "rows")
    assert len(before) == 3
    linked = sorted(before)[1]
    (tree / "rows" / linked).unlink()
    (tree / "rows" / linked).symlink_to(tree.parent / "outside" / "bashrc")
    result = backfill(raw, "rows")
    assert result.exit_code == 2, result.output
    assert f"error: --to: rows/{linked} is a symbolic link; not written" in result.output
    untouched(tree)
    del before[linked]
    assert day_files(tree / "rows") == before
    assert not list((tree / "rows").rglob(".mtasts-*"))


def test_backfill_outside_the_tree_in_ci_is_refused_before_reading(
    raw: Path, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CI=true, --to outside the working tree (here through a linked folder) is refused; nothing is created."""
    monkeypatch.setenv("CI", "true")
    (tree / "rows").symlink_to(tree.parent / "outside")
    result = backfill(raw, "rows/new")
    assert result.exit_code == 2, result.output
    assert f"error: --to: rows/new is outside the working tree {tree} and CI is set" in result.output
    untouched(tree)


@pytest.mark.parametrize("where", ["inside in CI", "outside without CI", "outside named in CI"])
def test_backfill_writes_where_allowed(raw: Path, tree: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """Inside the tree in CI, outside it without CI, and outside it in CI when named, backfill writes every day."""
    to = tree / "rows" if where.startswith("inside") else tree.parent / "outside" / "rows"
    if where.endswith("in CI"):
        monkeypatch.setenv("CI", "true")
    if "named" in where:
        monkeypatch.setenv(ALLOW_ENV, str(tree.parent / "outside"))
    result = backfill(raw, to)
    assert result.exit_code == 0, result.output
    assert len(day_files(to)) == 3
    assert all(name.endswith("/backfill.jsonl.gz") for name in day_files(to))


def test_backfill_that_fails_leaves_no_file(raw: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write failing at the first day's commit (disk full) is one line, exit 2, and leaves no temporary file."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = backfill(raw, "rows")
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output
    assert not [p for p in (tree / "rows").rglob("*") if p.is_file()]
