"""Files the kit writes where a user pointed it: never through a symbolic link, never half, never out of CI's tree.

``status --html``, ``reports summarize --html``, ``status --markdown FILE``, ``promote --markdown FILE``, the
``--notify-state`` file and the day files of ``reports backfill --to FOLDER`` are written by :func:`write_output`
(or, for streams, :func:`open_output`), the one way the commands write a file the user (or a default) named. What
they write is partly a stranger's text (reports, DNS and HTTP answers), and in CI the
working tree they run in is partly a stranger's too: a pull request can commit a symbolic link where the page is
written (``evidence/status-prod.html -> ~/.bashrc``), or a link to a folder (``evidence -> /home/runner``), and
the workflow's own command line then writes through it. So:

1. **A symbolic link is never written through, unless named.** When the last component of the path is a symbolic
   link (dangling or not), the file is not written: one line naming the option and the path, exit status 2.
   Everywhere, not only in CI: a link is the one way a file's content can land somewhere the command line does not
   say.
2. **In CI, nothing is written outside the working tree, unless named.** When the environment variable ``CI`` is
   set (GitHub Actions and most CI services set ``CI=true``; ``""``, ``0``, ``false``, ``no`` and ``off`` count
   as unset), the real location of the file (every link in its folders followed) must be inside the working tree: the
   nearest folder at or above the current directory holding ``.git`` (a git top level, worktrees included), else
   the current directory. Outside CI the folders may be links anywhere (a home folder on another disk is normal).
3. **"Named" means listed in** ``MTASTS_ALLOW_WRITE`` (:data:`ALLOW_ENV`): paths separated by ``:`` (``os.pathsep``)
   like ``PATH``, relative ones from the current directory. A path is named when its real location, links
   followed, is an entry's real location or lies under it (an entry may be a folder). Naming the link itself
   therefore allows what it points to now; naming a folder does not allow a link in it that points out of it.
   A named link is written through: the target is replaced, the link stays.

Why an environment variable and not "a path on the command line counts as named": in CI the command line is the
trusted workflow, and it names ``evidence/status-prod.html`` every run; the attack is what that path *is* in the
checked-out tree, which the workflow's author did not choose. Counting the command line as consent would make the
rule protect nothing. The allowance must come from a place the tree cannot write: the environment (the workflow's
``env:``), never the stack file, a report or a path's own text; and it names destinations, not "anything goes".

Every write is atomic and follows no link: the bytes go to a new file in the same folder (``O_CREAT | O_EXCL |
O_NOFOLLOW``, a random name) that is then renamed over the path (``rename(2)`` replaces a link at the path, it
never writes through one). The folder is opened once and used by descriptor for the checks and to create the
temporary file; the rename goes through it again, reopened and required to be the same folder (device and
inode), so what was checked is where the file lands: no check-then-write window. A failure leaves the old file
(or none) and no temporary file (except when the folder itself was moved meanwhile: then nothing is renamed). An
existing file keeps its permission bits; a new one gets ``0o666`` less the umask, as ``open``
would. The real location of the folder is read from ``/proc/self/fd`` (Linux), else from :func:`os.path.realpath`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import BinaryIO

from .errors import MtastsError, Problem

__all__ = [
    "ALLOW_ENV",
    "CI_ENV",
    "OutputPathError",
    "check_folder",
    "check_output",
    "in_ci",
    "named_paths",
    "working_tree",
    "write_output",
]

#: Paths the kit may write although they are symbolic links, or outside the working tree in CI (module docstring).
ALLOW_ENV = "MTASTS_ALLOW_WRITE"
#: Set by CI services (``CI=true`` on GitHub Actions): outputs must stay in the working tree unless named.
CI_ENV = "CI"
_FALSE = frozenset({"", "0", "false", "no", "off"})
_TEMPORARY_ATTEMPTS = 16


class OutputPathError(MtastsError):
    """An output path was refused: a symbolic link, or outside the working tree in CI, and not named."""


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``CI`` is set to something other than empty, ``0``, ``false``, ``no`` or ``off`` (any case)."""
    value = (os.environ if environ is None else environ).get(CI_ENV)
    return value is not None and value.strip().lower() not in _FALSE


def working_tree(start: Path | None = None) -> Path:
    """The real path of the nearest folder at or above ``start`` (default: the current one) holding ``.git``.

    ``.git`` may be a folder or a file (a worktree or submodule); git refuses to check out a path named ``.git``,
    so a pull request cannot plant one. Without one, ``start`` itself.
    """
    here = Path(os.path.realpath(start if start is not None else Path.cwd()))
    for folder in (here, *here.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return here


def named_paths(environ: Mapping[str, str] | None = None) -> tuple[PurePath, ...]:
    """The real locations of the entries of ``MTASTS_ALLOW_WRITE`` (empty entries skipped)."""
    value = (os.environ if environ is None else environ).get(ALLOW_ENV, "")
    return tuple(PurePath(os.path.realpath(entry)) for entry in value.split(os.pathsep) if entry.strip())


def _is_named(real: str, named: tuple[PurePath, ...]) -> bool:
    return any(PurePath(real).is_relative_to(entry) for entry in named)


def _folder_path(fd: int, fallback: str) -> str:
    """The real path of the open folder ``fd``: what the kernel opened, not what the path says now."""
    try:
        found = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(fallback)
    return found if found.startswith("/") else os.path.realpath(fallback)


def write_output(path: Path, data: bytes, option: str, *, parents: bool = False) -> None:
    """Write ``data`` to ``path`` atomically, refusing a symbolic link or (in CI) a place outside the working tree.

    ``option`` names the option in every error line (``--html``). ``parents`` creates missing folders (the
    ``--notify-state`` default), each created by descriptor after the checks and opened without following links.
    Refusals raise :class:`OutputPathError`; any other failure is an :class:`MtastsError` ``cannot write PATH:
    REASON``. Either way nothing was written. The rules and the reasons are in the module docstring.
    """
    with open_output(path, option, parents=parents) as out:
        out.write(data)


def check_output(path: Path, option: str, *, parents: bool = False) -> None:
    """Raise what :func:`write_output` would raise before writing, and write nothing.

    Commands call it first, so a refused or unwritable path ends the run before minutes of reading reports, and
    before ``promote`` edits the stack file: nothing is written when any output would be refused. The write
    checks again (the answer may change meanwhile), by descriptor, so the check is advice and the write is safe.
    """
    shown = str(path)
    try:
        os.close(_prepare(os.fspath(path), option, shown, parents, create=False, follow=True)[0])
    except OSError as exc:
        raise _cannot_write(option, shown, exc) from None


def check_folder(path: Path, option: str) -> None:
    """Raise what writing a file in the folder ``path`` (created if missing) would raise, before any work.

    For an option naming a folder of outputs (``reports backfill --to FOLDER``): the folder itself may be a link,
    as any folder on the way to a file may; in CI its real place must be inside the working tree unless named.
    Each file written in it is still checked on its own by :func:`open_output`.
    """
    shown = str(path)
    probe = os.path.join(os.fspath(path), f".mtasts-{secrets.token_hex(8)}.tmp")  # a name no file has
    try:
        os.close(_prepare(probe, option, shown, parents=True, create=False, follow=True)[0])
    except OSError as exc:
        raise _cannot_write(option, shown, exc) from None


class OutputFile:
    """A file being written by :func:`open_output`: bytes go to a temporary file until :meth:`commit` renames it.

    Holds one descriptor (the temporary file's), not its folder's, so a command may have many open (backfill: one
    per day). :meth:`commit` reopens the folder and checks it is the same one (device and inode) before renaming.
    """

    def __init__(self, shown: str, option: str, folder: str, identity: tuple[int, int], name: str, temporary: str):
        self._shown, self._option, self._folder, self._identity = shown, option, folder, identity
        self._name, self._temporary = name, temporary
        self.stream: BinaryIO | None = None

    def write(self, data: bytes) -> None:
        """Append ``data`` (also usable as the file object of :class:`gzip.GzipFile`)."""
        if self.stream is None:
            raise ValueError("written after commit or abort")
        try:
            self.stream.write(data)
        except OSError as exc:
            raise self._error(exc) from None

    def flush(self) -> None:
        """Nothing to do until :meth:`commit` (the file object protocol of :class:`gzip.GzipFile`)."""

    def commit(self) -> None:
        """Make the file whole on disk and rename it over the path; on failure remove it and raise."""
        stream, self.stream = self.stream, None
        if stream is None:
            raise ValueError("committed after commit or abort")
        try:
            with self._reopen() as folder:
                try:
                    stream.flush()
                    with contextlib.suppress(FileNotFoundError):
                        old = os.stat(self._name, dir_fd=folder, follow_symlinks=False)
                        if stat.S_ISREG(old.st_mode):
                            os.fchmod(stream.fileno(), stat.S_IMODE(old.st_mode))
                    os.fsync(stream.fileno())
                    stream.close()
                    os.replace(self._temporary, self._name, src_dir_fd=folder, dst_dir_fd=folder)
                except BaseException:
                    _close_quietly(stream)
                    with contextlib.suppress(OSError):
                        os.unlink(self._temporary, dir_fd=folder)
                    raise
        except OSError as exc:
            raise self._error(exc) from None
        finally:
            _close_quietly(stream)

    def abort(self) -> None:
        """Close and remove the temporary file; the path keeps what it held. Never raises for a missing file."""
        stream, self.stream = self.stream, None
        if stream is None:
            return
        _close_quietly(stream)
        with contextlib.suppress(OSError), self._reopen() as folder:
            os.unlink(self._temporary, dir_fd=folder)

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()

    @contextlib.contextmanager
    def _reopen(self) -> Iterator[int]:
        fd = os.open(self._folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            found = os.fstat(fd)
            if (found.st_dev, found.st_ino) != self._identity:
                raise FileNotFoundError(errno.ENOENT, "its folder was moved or replaced while it was written")
            yield fd
        finally:
            os.close(fd)

    def _error(self, exc: OSError) -> MtastsError:
        return _cannot_write(self._option, self._shown, exc)


def _cannot_write(option: str, shown: str, exc: OSError) -> MtastsError:
    """The one line for a write that failed for a reason other than a refusal: ``cannot write PATH: REASON``."""
    return MtastsError(Problem(option, f"cannot write {shown}: {exc.strerror or exc}"))


def _close_quietly(stream: BinaryIO) -> None:
    """Close a stream being given up; a failed flush of its last bytes no longer matters."""
    with contextlib.suppress(OSError):
        stream.close()


def open_output(path: Path, option: str, *, parents: bool = False) -> OutputFile:
    """Check ``path`` as :func:`write_output` does and start a temporary file beside it; commit or abort it.

    Used as a context manager (commit on success, abort on an exception) or by hand for streams that stay open.
    """
    shown = str(path)
    try:
        folder, name = _prepare(os.fspath(path), option, shown, parents, create=True, follow=True)
        try:
            temporary, fd = _temporary(folder)
            found = os.fstat(folder)
            place = _folder_path(folder, os.path.dirname(os.fspath(path)) or ".")
        finally:
            os.close(folder)
    except OSError as exc:
        raise _cannot_write(option, shown, exc) from None
    out = OutputFile(shown, option, place, (found.st_dev, found.st_ino), name, temporary)
    out.stream = os.fdopen(fd, "wb")
    return out


def _prepare(path: str, option: str, shown: str, parents: bool, *, create: bool, follow: bool) -> tuple[int, str]:
    """Check ``path``; the open folder (with ``create``, after creating the missing ones) and the file's name.

    Without ``create`` the folder may be the nearest existing one: all the caller may do is close it.
    """
    folder, name = os.path.split(path)
    if name in ("", ".", ".."):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    named = named_paths()
    fd, missing = _open_nearest(folder or ".", parents)
    try:
        real = os.path.join(_folder_path(fd, folder or "."), *missing, name)
        found = None
        if not missing:
            with contextlib.suppress(FileNotFoundError):
                found = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if found is not None and stat.S_ISLNK(found.st_mode):
                target = os.path.realpath(real)
                if not follow or not _is_named(target, named):
                    raise OutputPathError(
                        Problem(
                            option,
                            f"{shown} is a symbolic link; not written (name it or its target in {ALLOW_ENV} to "
                            f"write through it)",
                        )
                    )
                return _prepare(target, option, shown, parents=False, create=create, follow=False)
        if in_ci() and not _is_named(real, named):
            tree = working_tree()
            if not PurePath(real).is_relative_to(tree):
                raise OutputPathError(
                    Problem(
                        option,
                        f"{shown} is outside the working tree {tree} and {CI_ENV} is set; not written (name it in "
                        f"{ALLOW_ENV} to write there)",
                    )
                )
        if found is not None and stat.S_ISDIR(found.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        for part in missing if create else ():
            os.mkdir(part, 0o777, dir_fd=fd)
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = inner
        opened, fd = fd, -1
        return opened, name
    finally:
        if fd >= 0:
            os.close(fd)


def _open_nearest(folder: str, parents: bool) -> tuple[int, list[str]]:
    """The open folder, or with ``parents`` its nearest existing ancestor and the names still to create."""
    missing: list[str] = []
    while True:
        try:
            return os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), missing
        except FileNotFoundError:
            head, tail = os.path.split(folder)
            if not parents or tail in ("", ".", ".."):
                raise
            missing.insert(0, tail)
            folder = head or "."


def _temporary(folder: int) -> tuple[str, int]:
    """A new file in ``folder`` under a random name, never opened through a link (``O_EXCL | O_NOFOLLOW``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(_TEMPORARY_ATTEMPTS):
        temporary = f".mtasts-{secrets.token_hex(8)}.tmp"
        try:
            return temporary, os.open(temporary, flags, 0o666, dir_fd=folder)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name")
