"""Reading with worker processes counts exactly what one process counts, in the same order."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from pathlib import Path

import pytest
from reports import as_gzip, as_json, as_mail, report

from mtasts.tlsrpt import reader as module
from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.reader import Reader
from mtasts.tlsrpt.source import Source


def corpus(folder: Path) -> None:
    """300 files in 7 folders: duplicates (some with different bodies) across chunks, old reports, bad files."""
    for i in range(300):
        sub = folder / f"{i % 7}"
        sub.mkdir(exist_ok=True)
        rid = f"r{i % 250}"  # the last 50 repeat earlier ids: duplicates that land in other chunks
        doc = report(
            org=f"org{i % 250 % 3}",
            report_id=rid,
            domain=f"d{i % 5}.example",
            day=f"2026-11-{1 + i % 28:02d}",
            successful=1000 + i,  # a repeated id with another body: the first one read must count
            failures=[("certificate-expired", f"mx{i % 2}.example", i % 4)],
        )
        name = sub / f"{i:04d}"
        if i % 11 == 0:
            name.with_suffix(".txt").write_bytes(b"not a report %d" % i)
        elif i % 3 == 0:
            name.with_suffix(".json.gz").write_bytes(as_gzip(doc))
        elif i % 3 == 1:
            name.with_suffix(".eml").write_bytes(as_mail(doc))
        else:
            name.with_suffix(".json").write_bytes(as_json(doc))
    (folder / "6" / "loop").symlink_to(folder / "6" / "loop")


def summarize(folder: Path, jobs: int) -> Summary:
    summary = Summary(since=dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    with Reader(summary, jobs=jobs) as reader:
        reader.read([str(folder), str(folder / "0")])  # the second PATH repeats files: all duplicates
    return summary


def test_workers_count_exactly_what_one_process_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts, duplicates (first copy wins), reports before --since and rejections in order are identical."""
    corpus(tmp_path)
    monkeypatch.setattr(module, "CHUNK", 16)  # many chunks in flight, so order across them is exercised
    one, two = summarize(tmp_path, 1), summarize(tmp_path, 2)
    assert two.to_dict() == one.to_dict()
    assert (two.reports, two.duplicates, two.skipped_before_since) == (
        one.reports,
        one.duplicates,
        one.skipped_before_since,
    )
    assert one.duplicates > 50
    assert one.skipped_before_since > 0
    assert len(one.rejected) > 20
    assert {"source": str(tmp_path / "6" / "loop"), "reason": "not readable: Too many levels of symbolic links"} in (
        one.rejected
    )


def test_pool_is_really_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With jobs=2 the files are read (and decoded) in worker processes, never in this one."""
    corpus(tmp_path)
    parent = os.getpid()
    real = module.read_walked
    calls = multiprocessing.Value("i", 0)

    def read_elsewhere(path: str, limit: int) -> Source:
        assert os.getpid() != parent, "a walked file was read in the parent process"
        with calls.get_lock():
            calls.value += 1
        return real(path, limit)

    monkeypatch.setattr(module, "read_walked", read_elsewhere)
    summary = Summary()
    with Reader(summary, jobs=2) as reader:
        reader.read([str(tmp_path)])
    assert summary.reports > 200
    assert calls.value > 200  # the workers read the walked files, through this very function


def test_summarize_jobs_flag_gives_the_same_document(tmp_path: Path) -> None:
    """`summarize --jobs 2 --json` prints exactly what `--jobs 1` prints."""
    import json

    from click.testing import CliRunner

    from mtasts.cli import main

    corpus(tmp_path)
    docs = [
        json.loads(CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json", "--jobs", j]).stdout)
        for j in ("1", "2")
    ]
    assert docs[0] == docs[1]
    assert docs[0]["duplicates"] > 0


def _die(*_: object) -> object:
    os._exit(1)


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-run (out of memory, a signal) ends the run with one error naming --jobs."""
    from mtasts.errors import MtastsError

    corpus(tmp_path)
    monkeypatch.setattr(module, "_work", _die)
    with (
        pytest.raises(MtastsError, match="a worker process died; run again with --jobs 1"),
        Reader(Summary(), jobs=2) as reader,
    ):
        reader.read([str(tmp_path)])
