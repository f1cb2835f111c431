"""Read many report sources into one :class:`~mtasts.tlsrpt.aggregate.Summary`, with worker processes for files."""

from __future__ import annotations

import collections
import concurrent.futures
import concurrent.futures.process
import datetime as dt
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import MtastsError, Problem
from .aggregate import Summary
from .envelope import DEFAULT_MAX_BYTES
from .files import read_file, read_walked, walk
from .outcomes import Outcome, outcomes
from .source import Source

__all__ = ["CHUNK", "TASKS_PER_WORKER", "Reader"]


#: Sources per task sent to a worker process: large enough that sending costs little per report.
CHUNK = 256
#: Tasks in flight per worker: enough to keep it busy while the parent merges, few enough to bound memory
#: (at most jobs x this x CHUNK file names, and the outcomes of as many sources).
TASKS_PER_WORKER = 2


def _work(chunk: list[str], limit: int, since: dt.datetime | None, until: dt.datetime | None) -> list[list[Outcome]]:
    """In a worker process: read, decompress, decode and validate each file of ``chunk``."""
    return [outcomes(read_walked(path, limit), limit, since, until) for path in chunk]


class Reader:
    """Reads sources into a :class:`Summary`, with ``jobs`` worker processes for local files.

    Workers read, decompress, decode and validate whole files and send back plain tuples (:data:`Outcome`);
    the parent merges them strictly in input order, so counts, duplicates (the first copy counts) and the list
    of rejections are exactly those of a single-process run. Memory stays bounded: at most
    ``jobs * TASKS_PER_WORKER`` chunks of :data:`CHUNK` files are in flight. S3 objects are decoded in this
    process while threads fetch the next ones: fetching, not decoding, bounds that rate.

    Processes are forked (Linux), so the pool is created before any thread (progress bar, S3 pool) starts; where
    fork is not available, or with ``jobs=1``, everything runs in this process.
    """

    def __init__(self, summary: Summary, limit: int = DEFAULT_MAX_BYTES, jobs: int = 1) -> None:
        self.summary = summary
        self.limit = limit
        self.jobs = jobs if jobs > 1 and "fork" in multiprocessing.get_all_start_methods() else 1
        self._pool: Any = None

    def __enter__(self) -> Reader:
        if self.jobs > 1:
            context = multiprocessing.get_context("fork")
            self._pool = concurrent.futures.ProcessPoolExecutor(self.jobs, mp_context=context)
            self._pool.submit(int).result()  # fork the workers now, before any thread starts
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def read(
        self,
        paths: Iterable[str],
        advance: Callable[[int], None] | None = None,
        listed: Callable[[int], None] | None = None,
    ) -> None:
        """Count every report under ``paths`` (files, folders, ``s3://``), in order.

        ``advance(n)`` is called after n sources were counted, ``listed(n)`` when n S3 objects were listed.
        """
        for path in paths:
            if path.startswith("s3://"):
                from .s3 import s3_objects

                summary = self.summary
                objects = s3_objects(path, self.limit, summary.since, summary.until, listed=listed)
                self.read_sources(objects, advance)
            elif os.path.isdir(path):
                self.read_files(walk(path, self.limit), advance)
            else:  # a file named on the command line may be a pipe or a device: read it here, bounded
                self.read_files(iter([read_file(path, self.limit)]), advance)

    def read_sources(self, sources: Iterable[Source], advance: Callable[[int], None] | None = None) -> None:
        """Count sources already read (S3 objects, rejections), in this process."""
        for source in sources:
            self.summary.merge(outcomes(source, self.limit, self.summary.since, self.summary.until))
            if advance is not None:
                advance(1)

    def read_files(self, items: Iterator[str | Source], advance: Callable[[int], None] | None = None) -> None:
        """Count local files (``str`` paths, read by the workers) and rejected entries (:class:`Source`), in order."""
        summary, limit, since, until = self.summary, self.limit, self.summary.since, self.summary.until
        if self._pool is None:
            for item in items:
                source = read_walked(item, limit) if type(item) is str else item
                summary.merge(outcomes(source, limit, since, until))  # type: ignore[arg-type]
                if advance is not None:
                    advance(1)
            return
        pending: collections.deque[tuple[list[Source | None], Any]] = collections.deque()
        window = self.jobs * TASKS_PER_WORKER
        while True:
            chunk = list(itertools.islice(items, CHUNK))
            if chunk:
                # entries the walk rejected are kept in place, so the order of rejections stays the input's
                files = [item for item in chunk if isinstance(item, str)]
                order = [None if isinstance(item, str) else item for item in chunk]
                pending.append((order, self._pool.submit(_work, files, limit, since, until)))
            if not pending:
                return
            if chunk and len(pending) < window:
                continue
            order, task = pending.popleft()
            try:
                results = iter(task.result())
            except concurrent.futures.process.BrokenProcessPool:  # a worker was killed (out of memory, a signal)
                raise MtastsError(Problem("--jobs", "a worker process died; run again with --jobs 1")) from None
            for entry in order:
                summary.merge(next(results) if entry is None else outcomes(entry, limit, since, until))
            if advance is not None:
                advance(len(order))
