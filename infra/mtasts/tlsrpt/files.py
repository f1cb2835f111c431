"""Report files and folders read within bounds: folder walks with depth, size and read caps.

Nothing here trusts the file system: a file larger than the cap is never read into memory, a device or pipe that
never ends is cut off, a FIFO swapped in after the walk cannot block, a folder nested without end or a link loop is
rejected with its reason, and none of that stops the run (each comes back as a :class:`~mtasts.tlsrpt.source.Source`
with ``data=None`` and the reason).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator

from .envelope import DEFAULT_MAX_BYTES
from .source import Source

__all__ = ["MAX_FOLDER_DEPTH", "ROWS_SUFFIX", "iter_sources", "read_file", "read_walked", "walk"]


def iter_sources(paths: Iterable[str], limit: int = DEFAULT_MAX_BYTES) -> Iterator[Source]:
    """Every file under ``paths``: files, folders (recursive) and ``s3://bucket/prefix``, one at a time, in order.

    A file larger than ``limit`` is never read into memory, and one that cannot be read is not fatal: either comes
    with ``data=None`` and the reason. A bucket that cannot be listed is: :class:`~mtasts.errors.MtastsError`.
    """
    for path in paths:
        if path.startswith("s3://"):
            from .s3 import s3_objects

            yield from s3_objects(path, limit)
        elif os.path.isdir(path):
            yield from _walk(path, limit)
        else:
            yield read_file(path, limit)


#: Rows objects (mtasts.tlsrpt.rows) in a copy of the bucket: derived from the reports, skipped by folder walks.
ROWS_SUFFIX = ".jsonl.gz"
#: Deepest folder walked below a PATH argument; deeper folders are rejected (a report store has 4-5 levels).
MAX_FOLDER_DEPTH = 64
#: Bytes read per system call while bounding a read.
_READ_CHUNK = 1024 * 1024


def _walk(folder: str, limit: int) -> Iterator[Source]:
    """Every file under ``folder``, read (see :func:`walk`)."""
    for item in walk(folder, limit):
        yield read_walked(item, limit) if type(item) is str else item  # type: ignore[misc]


def walk(folder: str, limit: int) -> Iterator[str | Source]:
    """Regular files under ``folder`` (paths), depth first in name order; links to folders are not followed.

    Iterative, not recursive, so no folder depth exhausts the stack; past :data:`MAX_FOLDER_DEPTH` levels, and for
    any entry the OS cannot stat (a symbolic link loop: ELOOP), the entry is rejected with its reason.
    """
    stack: list[Iterator[os.DirEntry[str]]] = []
    listing = _listing(folder)
    if isinstance(listing, Source):
        yield listing
        return
    stack.append(listing)
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if len(stack) >= MAX_FOLDER_DEPTH:
                    yield Source(entry.path, None, f"folder nested deeper than {MAX_FOLDER_DEPTH} levels")
                    continue
                listing = _listing(entry.path)
                if isinstance(listing, Source):
                    yield listing
                else:
                    stack.append(listing)
                continue
            regular = entry.is_file()  # follows links; a FIFO or device could block or never end
        except OSError as exc:  # a link loop (ELOOP), or an entry that vanished
            yield Source(entry.path, None, f"not readable: {exc.strerror}")
            continue
        if regular:
            if not entry.name.endswith(ROWS_SUFFIX):  # rows objects (mtasts.tlsrpt.rows) are no reports
                yield entry.path
        elif entry.is_symlink() and not os.path.exists(entry.path):
            yield Source(entry.path, None, "symbolic link to nothing or a link loop")


def _listing(folder: str) -> Iterator[os.DirEntry[str]] | Source:
    """A folder's entries in name order, or why it cannot be listed."""
    try:
        with os.scandir(folder) as scan:
            return iter(sorted(scan, key=lambda entry: entry.name))
    except OSError as exc:
        return Source(folder, None, f"folder not readable: {exc.strerror}")


def read_file(path: str, limit: int) -> Source:
    """A file's bytes, read in bounded steps (None past ``limit``): a device or pipe that never ends is cut off.

    A regular file costs one open, one fstat, one read (its size plus one byte, which shows whether it grew).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        return Source(path, None, f"file not readable: {exc.strerror}")
    try:
        info = os.fstat(fd)
        if info.st_size > limit:
            return Source(path, None, f"file size {info.st_size} exceeds {limit} bytes")
        if stat.S_ISREG(info.st_mode):
            data = os.read(fd, info.st_size + 1)
            if len(data) <= info.st_size:
                return Source(path, data)
            chunks = [data]
        else:
            chunks = []
        # a file that grew, a device (/dev/zero), a pipe: read until the end or the cap
        total = _read_on(fd, chunks, limit)
    except OSError as exc:
        return Source(path, None, f"file not readable: {exc.strerror}")
    finally:
        os.close(fd)
    if total > limit:
        return Source(path, None, f"more than {limit} bytes (--max-bytes)")
    return Source(path, b"".join(chunks))


def _read_on(fd: int, chunks: list[bytes], limit: int) -> int:
    """Append what is left of ``fd`` to ``chunks``, stopping once they hold more than ``limit`` bytes; their total."""
    total = sum(map(len, chunks))
    while total <= limit:
        chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return total


#: First read of a walked file: most reports fit, so no fstat is needed to size the read.
_FIRST_READ = 64 * 1024


def read_walked(path: str, limit: int) -> Source:
    """A regular file found by the walk: one open, one read, one close (from 64 KiB on, an fstat and more reads).

    A read of a regular file returns less than asked only at its end (the same fact :func:`read_file` relies on), so a
    short first read is the whole file. O_NONBLOCK: had the entry been swapped for a FIFO since the walk, neither
    the open nor a read could block.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        return Source(path, None, f"file not readable: {exc.strerror}")
    try:
        first = min(_FIRST_READ, limit + 1)
        data = os.read(fd, first)
        if len(data) < first:
            return Source(path, data)
        size = os.fstat(fd).st_size  # a large file: is it worth reading on?
        if size > limit:
            return Source(path, None, f"file size {size} exceeds {limit} bytes")
        chunks = [data]
        total = _read_on(fd, chunks, limit)
    except OSError as exc:
        return Source(path, None, f"file not readable: {exc.strerror}")
    finally:
        os.close(fd)
    if total > limit:  # it grew since the fstat
        return Source(path, None, f"more than {limit} bytes (--max-bytes)")
    return Source(path, b"".join(chunks))
