"""``mtasts reports compact``: one rows file per day in S3 instead of one per report.

The receiver writes one small rows object per report (:mod:`.rows`); a month of 10,000 domains is 1.5 million
of them, which Athena reads one GET each (slow, and $0.0004 per 1,000 requests) and DuckDB over S3 downloads one
by one. Compacting a day that is over merges its objects into one ``day=YYYY-MM-DD/compact-<digest>.jsonl.gz``
(gzip JSON Lines, the same rows, each line once) and then deletes the merged objects.

Safe at every step, as every query engine counts each report once whatever the number of copies of its rows
(:mod:`.sql` reads distinct rows): the new file is written before anything is deleted, so an interrupted run
leaves duplicates, never a gap, and the next run merges them; a report delivered again after its day was
compacted gets its small object back, which the next run merges. Only days before ``before`` (default: two days
ago, UTC: reports of a day arrive within about a day of its end, RFC 8460 §4.1) are compacted.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import gzip
import hashlib
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MtastsError, Problem
from .rows import ROWS_PREFIX
from .s3 import THREADS, _aws_reason, _retry

__all__ = ["CompactResult", "compact_s3"]

_DAY = re.compile(r"day=(\d{4}-\d{2}-\d{2})/\Z")
#: Keys per DeleteObjects request (the API's maximum).
DELETE_BATCH = 1000


@dataclass
class CompactResult:
    """What a run did."""

    days: list[str] = field(default_factory=list)
    """Days compacted."""
    merged: int = 0
    """Objects merged (and deleted)."""
    rows: int = 0
    """Rows in the compacted files written."""

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {"days": self.days, "merged": self.merged, "rows": self.rows}


def compact_s3(
    url: str,
    before: dt.date | None = None,
    *,
    dry_run: bool = False,
    client: Any = None,
    advance: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CompactResult:
    """Compact every ``day=`` folder before ``before`` under ``url`` (``s3://bucket/`` or ``s3://bucket/rows/``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise MtastsError(Problem(url, "no bucket named (s3://BUCKET/PREFIX)"))
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if not prefix.endswith(ROWS_PREFIX):
        prefix += ROWS_PREFIX
    limit = (before or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()
    if client is None:
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", config=Config(max_pool_connections=THREADS + 4))
    retry = functools.partial(_retry, sleep=sleep)
    result = CompactResult()
    try:
        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            for folder in _day_folders(client, bucket, prefix, retry):
                match = _DAY.fullmatch(folder[len(prefix) :])
                if match is None or match[1] >= limit:
                    continue
                keys = _keys(client, bucket, folder, retry)
                if len(keys) < 2:
                    continue  # nothing to merge: one file (compacted or not) or none
                result.days.append(match[1])
                result.merged += len(keys)
                if dry_run:
                    continue
                lines: dict[bytes, None] = {}  # each row once, in a stable order
                fetch = functools.partial(_lines, client, bucket, retry)
                for found in pool.map(fetch, keys):
                    for line in found:
                        lines.setdefault(line)
                    if advance is not None:
                        advance(1)
                body = b"".join(lines)
                digest = hashlib.sha256(body).hexdigest()[:32]
                target = f"{folder}compact-{digest}.jsonl.gz"
                payload = gzip.compress(body, compresslevel=6, mtime=0)
                retry(functools.partial(client.put_object, Bucket=bucket, Key=target, Body=payload))
                result.rows += len(lines)
                old = [k for k in keys if k != target]
                for start in range(0, len(old), DELETE_BATCH):
                    batch = {"Objects": [{"Key": k} for k in old[start : start + DELETE_BATCH]], "Quiet": True}
                    answer = retry(functools.partial(client.delete_objects, Bucket=bucket, Delete=batch))
                    if answer.get("Errors"):
                        error = answer["Errors"][0]
                        raise MtastsError(
                            Problem(f"s3://{bucket}/{error.get('Key')}", f"not deleted: {error.get('Code')}")
                        )
    except (BotoCoreError, ClientError) as exc:
        raise MtastsError(Problem(url, f"compaction stopped (run again to go on): {_aws_reason(exc)}")) from None
    return result


def _day_folders(client: Any, bucket: str, prefix: str, retry: Callable[[Callable[[], Any]], Any]) -> list[str]:
    folders: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
        if token:
            kwargs["ContinuationToken"] = token
        page = retry(functools.partial(client.list_objects_v2, **kwargs))
        folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page.get("IsTruncated"):
            return sorted(folders)
        token = page["NextContinuationToken"]


def _keys(client: Any, bucket: str, folder: str, retry: Callable[[Callable[[], Any]], Any]) -> list[str]:
    keys: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": folder}
        if token:
            kwargs["ContinuationToken"] = token
        page = retry(functools.partial(client.list_objects_v2, **kwargs))
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith(".jsonl.gz") and "/" not in key[len(folder) :]:
                keys.append(key)
        if not page.get("IsTruncated"):
            return keys
        token = page["NextContinuationToken"]


def _lines(client: Any, bucket: str, retry: Callable[[Callable[[], Any]], Any], key: str) -> list[bytes]:
    body = retry(lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read())
    try:
        text: bytes = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise MtastsError(Problem(f"s3://{bucket}/{key}", f"not a gzip rows object: {exc}")) from None
    return [line + b"\n" for line in text.splitlines() if line.strip()]
