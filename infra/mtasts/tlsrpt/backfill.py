"""``mtasts reports backfill``: rows for reports stored before the receiver wrote them (:mod:`.rows`).

Every stored object is read once and the rows of each valid report in it are written where the receiver would
have written them (:func:`~mtasts.tlsrpt.rows.object_rows`: the same keys, the same bytes). So a run is
idempotent: running it again, or over objects the receiver already covered, rewrites identical objects.

In S3 it is also resumable: the listing is walked page by page (1,000 keys, S3's ``ListObjectsV2`` maximum),
each page's objects are fetched and their rows written concurrently, and only when a whole page is done is its
last key saved as a checkpoint (``rows/_backfill/<source digest>.json`` in the destination; Athena and DuckDB
read only ``day=`` folders, and Hive-style readers skip names starting with ``_``). An interrupted run resumes
after the last finished page (``StartAfter``); ``--restart`` starts over. Throttling is retried as
:mod:`.s3` retries it; an object that cannot be read, or holds no valid report, is listed with its reason and
the run goes on.
"""

from __future__ import annotations

import concurrent.futures
import functools
import gzip
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MtastsError, Problem
from ..outfile import OutputFile, open_output
from .envelope import DEFAULT_MAX_BYTES
from .rows import ROWS_PREFIX, object_rows
from .s3 import THREADS, _retry

__all__ = ["BACKFILL_FILE", "BackfillResult", "backfill_local", "backfill_s3", "checkpoint_key"]

#: The file of a day's rows that ``reports backfill --to FOLDER`` writes in ``FOLDER/day=YYYY-MM-DD/``.
BACKFILL_FILE = "backfill.jsonl.gz"

#: Keys per listing page (ListObjectsV2 returns at most 1,000).
PAGE = 1000


@dataclass
class BackfillResult:
    """What a run did."""

    objects: int = 0
    """Stored objects read in this run."""
    rows_objects: int = 0
    """Rows objects written (one per valid report)."""
    resumed_after: str = ""
    """The checkpoint the run started after ("" from the start)."""
    rejected: list[dict[str, str]] = field(default_factory=list)
    """Objects (or reports in them) that gave no rows, and why."""

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "objects": self.objects,
            "rows_objects": self.rows_objects,
            "resumed_after": self.resumed_after or None,
            "rejected": self.rejected,
        }


def checkpoint_key(source: str, rows_prefix: str) -> str:
    """Where the checkpoint of a backfill of ``source`` (an ``s3://`` URL) into ``rows_prefix`` is kept."""
    return f"{rows_prefix}_backfill/{hashlib.sha256(source.encode()).hexdigest()[:16]}.json"


def _split(url: str) -> tuple[str, str]:
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise MtastsError(Problem(url, "no bucket named (s3://BUCKET/PREFIX)"))
    return bucket, prefix


def backfill_s3(
    source: str,
    destination: str | None = None,
    *,
    restart: bool = False,
    limit: int = DEFAULT_MAX_BYTES,
    client: Any = None,
    advance: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BackfillResult:
    """Write the rows of every report under ``source`` (``s3://bucket/prefix``) to ``destination``.

    ``destination`` (``s3://bucket/prefix/``) defaults to ``rows/`` at the root of the source's bucket, where the
    receiver writes. Keys under it are never read as reports. ``advance(n)``: n more objects done.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from .s3 import _aws_reason

    bucket, prefix = _split(source)
    dest_bucket, rows_prefix = _split(destination) if destination else (bucket, ROWS_PREFIX)
    if rows_prefix and not rows_prefix.endswith("/"):
        rows_prefix += "/"
    if client is None:
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", config=Config(max_pool_connections=THREADS + 4))
    result = BackfillResult()
    marker = checkpoint_key(source, rows_prefix)
    retry = functools.partial(_retry, sleep=sleep)
    try:
        if not restart:
            result.resumed_after = _read_checkpoint(client, dest_bucket, marker, retry)
        after = result.resumed_after
        with concurrent.futures.ThreadPoolExecutor(THREADS, thread_name_prefix="backfill") as pool:
            while True:
                kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE}
                if after:
                    kwargs["StartAfter"] = after
                page = retry(functools.partial(client.list_objects_v2, **kwargs))
                listed = page.get("Contents", [])
                if not listed:
                    break
                items = [o for o in listed if not _is_rows(o["Key"], bucket, dest_bucket, rows_prefix)]
                work = functools.partial(_one, client, bucket, dest_bucket, rows_prefix, limit, retry)
                for key, written, problems in pool.map(work, items):
                    result.objects += 1
                    result.rows_objects += written
                    result.rejected += [{"source": f"s3://{bucket}/{key}", "reason": p} for p in problems]
                if advance is not None and len(listed):
                    advance(len(items))
                after = listed[-1]["Key"]
                state = json.dumps({"source": source, "after": after}).encode()
                retry(functools.partial(client.put_object, Bucket=dest_bucket, Key=marker, Body=state))
                if not page.get("IsTruncated"):
                    break
    except (BotoCoreError, ClientError) as exc:
        raise MtastsError(Problem(source, f"backfill stopped (run again to resume): {_aws_reason(exc)}")) from None
    return result


def _is_rows(key: str, bucket: str, dest_bucket: str, rows_prefix: str) -> bool:
    """Whether ``key`` is a rows object or checkpoint, never a report (the root's rows/, or the destination)."""
    return key.startswith(ROWS_PREFIX) or (bucket == dest_bucket and bool(rows_prefix) and key.startswith(rows_prefix))


def _read_checkpoint(client: Any, bucket: str, key: str, retry: Callable[[Callable[[], Any]], Any]) -> str:
    from botocore.exceptions import ClientError

    try:
        body = retry(lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read(64 * 1024))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return ""
        raise
    try:
        after = json.loads(body)["after"]
    except (ValueError, KeyError, TypeError):
        return ""  # unreadable: start over, which is safe (idempotent)
    return after if isinstance(after, str) else ""


def _one(
    client: Any,
    bucket: str,
    dest_bucket: str,
    rows_prefix: str,
    limit: int,
    retry: Callable[[Callable[[], Any]], Any],
    listed: dict[str, Any],
) -> tuple[str, int, list[str]]:
    """Read one object and write its rows: (key, rows objects written, problems)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .s3 import _aws_reason

    key = listed["Key"]
    if int(listed.get("Size", 0)) > limit:
        return key, 0, [f"object size {listed['Size']} exceeds {limit} bytes"]
    try:
        data = retry(lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read(limit + 1))
    except (BotoCoreError, ClientError) as exc:
        return key, 0, [f"object not readable: {_aws_reason(exc)}"]
    if len(data) > limit:
        return key, 0, [f"object size exceeds {limit} bytes"]
    found, problems = object_rows(key, data, limit, rows_prefix)
    for item in found:
        retry(functools.partial(client.put_object, Bucket=dest_bucket, Key=item.key, Body=item.body))
    return key, len(found), problems


def backfill_local(
    source: Path,
    destination: Path,
    *,
    limit: int = DEFAULT_MAX_BYTES,
    advance: Callable[[int], None] | None = None,
) -> BackfillResult:
    """Write the rows of every report under the folder ``source`` into ``destination``, one file per day.

    ``destination/day=YYYY-MM-DD/backfill.jsonl.gz`` holds the rows of every report of that day: one file per
    day, not one per report, as DuckDB opens a file in about a millisecond and reads a million rows in about one
    second (bench/bench_sql.py). Files are written under temporary names and renamed when the run is done, so an
    interrupted run leaves the previous files; a run again writes the same rows (idempotent). Each file is an
    output of ``--to`` (:func:`mtasts.outfile.open_output`): never written through a symbolic link, and in CI only
    inside the working tree unless ``MTASTS_ALLOW_WRITE`` names it.
    """
    from .files import read_walked, walk

    result = BackfillResult()
    outputs: dict[str, tuple[OutputFile, gzip.GzipFile]] = {}
    try:
        for item in walk(str(source), limit):
            read = read_walked(item, limit) if isinstance(item, str) else item
            result.objects += 1
            if read.data is None:
                result.rejected.append({"source": read.name, "reason": read.problem})
            else:
                key = Path(os.path.relpath(read.name, source)).as_posix()
                found, problems = object_rows(key, read.data, limit, "")
                result.rejected += [{"source": read.name, "reason": p} for p in problems]
                for rows in found:
                    day = rows.key.partition("/")[0]
                    if day not in outputs:
                        # one open file per day until the end of the run, committed below (not a with block)
                        target = open_output(destination / day / BACKFILL_FILE, "--to", parents=True)
                        outputs[day] = (target, gzip.GzipFile(fileobj=target, mode="wb", compresslevel=6))
                    outputs[day][1].write(rows.lines)
                    result.rows_objects += 1
            if advance is not None:
                advance(1)
        for target, stream in outputs.values():
            stream.close()  # writes the gzip trailer into the temporary file
            target.commit()
    except BaseException:
        for target, _ in outputs.values():
            target.abort()  # a no-op for those already committed
        raise
    return result
