"""mtasts.outfile: an output file is never written through a symbolic link, never half, never out of CI's tree."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtasts.errors import MtastsError
from mtasts.outfile import (
    ALLOW_ENV,
    OutputPathError,
    check_output,
    in_ci,
    named_paths,
    open_output,
    working_tree,
    write_output,
)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git working tree (``.git`` folder) as the current directory, with ``outside/`` beside it."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "evidence").mkdir()
    (tmp_path / "outside").mkdir()
    monkeypatch.chdir(root)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    return root


@pytest.fixture
def secret(tmp_path: Path) -> Iterator[Path]:
    """A file outside the tree that a planted link points at; it must never change."""
    path = tmp_path / "outside" / "bashrc"
    path.write_text("original\n")
    yield path
    assert path.read_text() == "original\n"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".mtasts-"))


def test_writes_a_new_file_with_the_umask_mode(tree: Path) -> None:
    """A new file holds exactly the bytes, with 0o666 less the umask, and no temporary file is left."""
    old = os.umask(0o027)
    try:
        write_output(Path("evidence/page.html"), b"<p>hi</p>", "--html")
    finally:
        os.umask(old)
    page = tree / "evidence" / "page.html"
    assert page.read_bytes() == b"<p>hi</p>"
    assert stat.S_IMODE(page.stat().st_mode) == 0o640
    assert leftovers(tree / "evidence") == []


def test_replacing_keeps_the_mode_of_the_old_file(tree: Path) -> None:
    """An existing file is replaced whole and keeps its permission bits."""
    page = tree / "page.md"
    page.write_text("old and much longer than the new text\n")
    page.chmod(0o604)
    write_output(Path("page.md"), b"new\n", "--markdown")
    assert page.read_bytes() == b"new\n"
    assert stat.S_IMODE(page.stat().st_mode) == 0o604


def test_symlink_is_refused(tree: Path, secret: Path) -> None:
    """A path that is a link (here to a file outside) is refused in one line naming option and path; nothing moves."""
    link = tree / "evidence" / "status.html"
    link.symlink_to(secret)
    with pytest.raises(OutputPathError) as caught:
        write_output(Path("evidence/status.html"), b"owned", "--html")
    assert caught.value.lines() == [
        f"--html: evidence/status.html is a symbolic link; not written (name it or its target in {ALLOW_ENV} to "
        "write through it)"
    ]
    assert link.is_symlink()
    assert leftovers(tree / "evidence") == []


def test_symlink_inside_the_tree_is_refused_too(tree: Path) -> None:
    """A link is refused even to a file beside it and outside CI: the link chooses the file, not the user."""
    (tree / "real.md").write_text("kept\n")
    (tree / "body.md").symlink_to("real.md")
    with pytest.raises(OutputPathError):
        write_output(Path("body.md"), b"x", "--markdown")
    assert (tree / "real.md").read_text() == "kept\n"


def test_dangling_symlink_is_refused_and_its_target_not_created(tree: Path, tmp_path: Path) -> None:
    """A link to a file that does not exist yet is refused: the file is not created where it points."""
    (tree / "page.html").symlink_to(tmp_path / "outside" / "new.html")
    with pytest.raises(OutputPathError):
        write_output(Path("page.html"), b"x", "--html")
    assert not (tmp_path / "outside" / "new.html").exists()


@pytest.mark.parametrize("entry", ["link", "target", "target folder"])
def test_named_symlink_is_written_through(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    """Named in MTASTS_ALLOW_WRITE (the link, its target or its folder), the target is replaced; the link stays."""
    target = tmp_path / "outside" / "www.html"
    target.write_text("old")
    link = tree / "page.html"
    link.symlink_to(target)
    named = {"link": "page.html", "target": str(target), "target folder": str(target.parent)}[entry]
    monkeypatch.setenv(ALLOW_ENV, f"/nonexistent{os.pathsep}{named}")
    monkeypatch.setenv("CI", "true")
    write_output(Path("page.html"), b"new", "--html")
    assert link.is_symlink()
    assert target.read_bytes() == b"new"
    assert leftovers(target.parent) == []


def test_naming_a_folder_does_not_allow_a_link_out_of_it(
    tree: Path, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A named folder allows files in it, not a link in it that points elsewhere."""
    (tree / "evidence" / "page.html").symlink_to(secret)
    monkeypatch.setenv(ALLOW_ENV, str(tree / "evidence"))
    with pytest.raises(OutputPathError):
        write_output(Path("evidence/page.html"), b"owned", "--html")


def test_outside_the_tree_in_ci_is_refused(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With CI=true a path outside the git working tree is refused in one line, and nothing is created."""
    monkeypatch.setenv("CI", "true")
    target = tmp_path / "outside" / "page.html"
    with pytest.raises(OutputPathError) as caught:
        write_output(target, b"x", "--html")
    assert caught.value.lines() == [
        f"--html: {target} is outside the working tree {tree} and CI is set; not written (name it in {ALLOW_ENV} "
        "to write there)"
    ]
    assert list((tmp_path / "outside").iterdir()) == []


def test_dot_dot_out_of_the_tree_in_ci_is_refused(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path climbing out of the tree with .. is outside it."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(OutputPathError):
        write_output(Path("../outside/page.md"), b"x", "--markdown")
    assert list((tmp_path / "outside").iterdir()) == []


def test_linked_folder_out_of_the_tree_in_ci_is_refused(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A committed link to a folder outside (evidence -> /home/runner) is followed to its real place and refused."""
    (tree / "evidence").rmdir()
    (tree / "evidence").symlink_to(tmp_path / "outside")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(OutputPathError):
        write_output(Path("evidence/status.html"), b"x", "--html")
    assert list((tmp_path / "outside").iterdir()) == []


def test_linked_folder_outside_ci_is_followed(tree: Path, tmp_path: Path) -> None:
    """Outside CI a folder may be a link anywhere (a home folder on another disk): the file is written there."""
    (tree / "evidence").rmdir()
    (tree / "evidence").symlink_to(tmp_path / "outside")
    write_output(Path("evidence/status.html"), b"x", "--html")
    assert (tmp_path / "outside" / "status.html").read_bytes() == b"x"


def test_outside_the_tree_outside_ci_is_written(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CI (or with CI=false) a path outside the working tree is written."""
    monkeypatch.setenv("CI", "false")
    write_output(tmp_path / "outside" / "page.html", b"x", "--html")
    assert (tmp_path / "outside" / "page.html").read_bytes() == b"x"


def test_inside_the_tree_in_ci_is_written(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With CI=true a path inside the working tree, given absolute or relative, is written."""
    monkeypatch.setenv("CI", "true")
    write_output(tree / "evidence" / "a.html", b"a", "--html")
    write_output(Path("evidence/b.md"), b"b", "--markdown")
    assert (tree / "evidence" / "a.html").read_bytes() == b"a"
    assert (tree / "evidence" / "b.md").read_bytes() == b"b"


def test_subfolder_of_the_tree_in_ci_is_inside(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a subfolder, the tree is still the git top level: a file beside the subfolder is inside."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.chdir(tree / "evidence")
    write_output(Path("../top.html"), b"x", "--html")
    assert (tree / "top.html").read_bytes() == b"x"


def test_named_path_outside_the_tree_in_ci_is_written(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CI=true a path outside the tree is written when MTASTS_ALLOW_WRITE names it or a folder above it."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv(ALLOW_ENV, str(tmp_path / "outside"))
    write_output(tmp_path / "outside" / "page.html", b"x", "--html")
    assert (tmp_path / "outside" / "page.html").read_bytes() == b"x"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("TRUE", True), ("", False), ("0", False), ("false", False),
     ("No", False), (None, False)],
)  # fmt: skip
def test_ci_is_any_value_but_empty_or_false(value: str | None, expected: bool) -> None:
    """CI counts as set for true/1/yes (GitHub Actions sets true), not for empty, 0, false, no or when absent."""
    assert in_ci({} if value is None else {"CI": value}) is expected


def test_the_working_tree_is_the_git_top_level_else_the_current_folder(tmp_path: Path) -> None:
    """The nearest folder holding .git (a folder, or a file as in a worktree), else the folder itself."""
    (tmp_path / "repo" / "a" / "b").mkdir(parents=True)
    (tmp_path / "repo" / ".git").write_text("gitdir: /elsewhere\n")
    assert working_tree(tmp_path / "repo" / "a" / "b") == tmp_path / "repo"
    (tmp_path / "plain" / "sub").mkdir(parents=True)
    assert working_tree(tmp_path / "plain" / "sub") == tmp_path / "plain" / "sub"


def test_named_paths_are_real_and_relative_to_the_current_folder(tree: Path) -> None:
    """Entries are split at os.pathsep, empty ones skipped, relative ones taken from the current folder."""
    assert named_paths({ALLOW_ENV: f"a.html{os.pathsep}{os.pathsep} {os.pathsep}/x/y"}) == (
        tree / "a.html",
        Path("/x/y"),
    )


# The hostile corpus's "file-partial" (tests/hostile_corpus.py FILE_CORPUS).
def test_failed_write_leaves_the_old_file_and_no_temporary(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the bytes went out (disk full at fsync) leaves the old file whole and no temporary file."""
    page = tree / "page.html"
    page.write_text("old page")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(MtastsError) as caught:
        write_output(Path("page.html"), b"new page, longer" * 10_000, "--html")
    assert caught.value.lines() == ["--html: cannot write page.html: No space left on device"]
    assert page.read_text() == "old page"
    assert leftovers(tree) == []


def test_a_stream_that_fails_half_way_is_removed(tree: Path) -> None:
    """An exception while a stream is written (half the rows out) removes the temporary file; the old file stays."""
    page = tree / "rows.gz"
    page.write_text("old rows")

    def backfill() -> None:
        with open_output(Path("rows.gz"), "--to") as out:
            out.write(b"x" * 100_000)
            raise RuntimeError("report 2 of 3 could not be read")

    with pytest.raises(RuntimeError):
        backfill()
    assert page.read_text() == "old rows"
    assert leftovers(tree) == []


def test_many_streams_hold_one_descriptor_each(tree: Path) -> None:
    """An open stream holds only its temporary file open, so a backfill of years keeps one descriptor per day."""
    before = len(os.listdir("/proc/self/fd"))
    outs = [open_output(Path(f"evidence/{n}.gz"), "--to") for n in range(20)]
    assert len(os.listdir("/proc/self/fd")) - before == 20
    for n, out in enumerate(outs):
        out.write(str(n).encode())
        out.commit()
    assert [(tree / "evidence" / f"{n}.gz").read_text() for n in range(20)] == [str(n) for n in range(20)]
    assert leftovers(tree / "evidence") == []


def test_a_folder_replaced_while_writing_is_not_written(tree: Path, tmp_path: Path) -> None:
    """When the folder is swapped for another between open and commit, nothing is renamed into either."""
    out = open_output(Path("evidence/page.html"), "--html")
    out.write(b"x")
    (tree / "evidence").rename(tree / "moved")
    (tree / "evidence").symlink_to(tmp_path / "outside")
    with pytest.raises(MtastsError, match="moved or replaced"):
        out.commit()
    assert list((tmp_path / "outside").iterdir()) == []
    assert not (tree / "moved" / "page.html").exists()  # its temporary file stays there: its name is not known


# The hostile corpus's "file-race" (tests/hostile_corpus.py FILE_CORPUS).
def test_a_link_planted_after_the_check_is_replaced_not_followed(
    tree: Path, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write is a rename: a link put at the path between the check and the write is replaced, never written to."""
    real_fsync = os.fsync

    def plant(fd: int) -> None:
        real_fsync(fd)
        (tree / "page.html").symlink_to(secret)

    monkeypatch.setattr(os, "fsync", plant)
    write_output(Path("page.html"), b"new", "--html")
    assert not (tree / "page.html").is_symlink()
    assert (tree / "page.html").read_bytes() == b"new"


# The hostile corpus's "file-temporary-name" (tests/hostile_corpus.py FILE_CORPUS).
def test_a_planted_temporary_name_is_never_followed(tree: Path, secret: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link waiting under the temporary name is not opened (O_EXCL | O_NOFOLLOW): another name is drawn."""
    names = iter(["planted", "fresh"])
    monkeypatch.setattr(secrets, "token_hex", lambda _n: next(names))
    (tree / ".mtasts-planted.tmp").symlink_to(secret)
    write_output(Path("page.html"), b"new", "--html")
    assert (tree / "page.html").read_bytes() == b"new"
    assert (tree / ".mtasts-planted.tmp").is_symlink()


def test_missing_folder_is_one_error_line(tree: Path) -> None:
    """A folder that does not exist is `cannot write PATH: No such file or directory` (not created)."""
    with pytest.raises(MtastsError) as caught:
        write_output(Path("missing/page.html"), b"x", "--html")
    assert caught.value.lines() == ["--html: cannot write missing/page.html: No such file or directory"]
    assert not (tree / "missing").exists()


def test_a_folder_at_the_path_is_one_error_line(tree: Path) -> None:
    """A path naming a folder is refused by the rename, and the folder is left as it was."""
    with pytest.raises(MtastsError) as caught:
        write_output(Path("evidence"), b"x", "--html")
    assert caught.value.lines()[0].startswith("--html: cannot write evidence: ")
    assert (tree / "evidence").is_dir()
    assert leftovers(tree) == []


def test_parents_are_created_after_the_checks(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With parents, missing folders are created inside the tree; in CI none is created through a link out of it."""
    write_output(Path(".mtasts/alerts/prod.json"), b"{}", "--notify-state", parents=True)
    assert (tree / ".mtasts" / "alerts" / "prod.json").read_bytes() == b"{}"
    (tree / "cache").symlink_to(tmp_path / "outside")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(OutputPathError):
        write_output(Path("cache/alerts/prod.json"), b"{}", "--notify-state", parents=True)
    assert list((tmp_path / "outside").iterdir()) == []


def test_check_output_refuses_as_the_write_would_and_writes_nothing(
    tree: Path, secret: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check_output raises the write's refusals and errors, and creates no file or folder when the path is fine."""
    (tree / "link.html").symlink_to(secret)
    with pytest.raises(OutputPathError):
        check_output(Path("link.html"), "--html")
    with pytest.raises(MtastsError, match=r"cannot write missing/page\.html: No such file"):
        check_output(Path("missing/page.html"), "--html")
    with pytest.raises(MtastsError, match="cannot write evidence: Is a directory"):
        check_output(Path("evidence"), "--html")
    check_output(Path("evidence/page.html"), "--html")
    check_output(Path(".mtasts/alerts/prod.json"), "--notify-state", parents=True)
    assert sorted(p.name for p in tree.iterdir()) == [".git", "evidence", "link.html"]
    assert list((tree / "evidence").iterdir()) == []
    monkeypatch.setenv("CI", "true")
    with pytest.raises(OutputPathError):
        check_output(tmp_path / "outside" / "page.html", "--html")
