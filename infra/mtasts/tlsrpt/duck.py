"""The DuckDB engine: :mod:`.sql`'s query over rows in a local folder, or downloaded from S3 through boto3.

DuckDB runs in this process (``duckdb`` from PyPI); its JSON reader and gzip support are built into the wheel,
and the connection is opened with extension auto-install and auto-load off, so nothing is fetched at run time.
S3 rows are not read through DuckDB's ``httpfs`` extension (it is downloaded on first use, not shipped on
PyPI): the window's ``day=`` folders are listed and fetched with boto3 (the stack's credentials, throttling
retried as :mod:`.s3` retries it) into one gzip file per day in a temporary folder (gzip members concatenate).

A local folder is either a rows folder (``day=YYYY-MM-DD/*.jsonl.gz``, what ``mtasts reports backfill DIR --to
ROWS`` writes) or a copy of the bucket holding one under ``rows/``. Only the window's days are opened.
"""

from __future__ import annotations

import concurrent.futures
import functools
import gzip
import re
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import MtastsError, Problem
from .rows import COLUMNS, ROWS_PREFIX
from .s3 import THREADS, _retry
from .sql import Window, summary_query

__all__ = ["duckdb_records", "rows_folder"]

_DAY_FOLDER = re.compile(r"day=(\d{4}-\d{2}-\d{2})")
_TYPES = {"varchar": "VARCHAR", "bigint": "BIGINT"}
#: The view the query reads.
TABLE = "tlsrpt_rows"


def rows_folder(path: Path) -> Path:
    """The folder holding ``day=`` folders: ``path`` itself, or its ``rows/``; a clear error if neither."""
    if not path.is_dir():
        raise MtastsError(Problem(str(path), "is not a folder of rows (day=YYYY-MM-DD/*.jsonl.gz)"))
    if any(_DAY_FOLDER.fullmatch(p.name) for p in path.iterdir()):
        return path
    if (path / ROWS_PREFIX).is_dir():
        return path / ROWS_PREFIX
    raise MtastsError(
        Problem(
            str(path),
            "holds no rows (day=YYYY-MM-DD/ folders, or rows/ with them); "
            "write them with `mtasts reports backfill REPORTS --to ROWS`",
        )
    )


def _local_files(folder: Path, window: Window) -> list[str]:
    """The rows files of the window's days under ``folder``."""
    first, last = window.first_day.isoformat(), window.last_day.isoformat()
    files: list[str] = []
    for day in sorted(folder.iterdir()):
        match = _DAY_FOLDER.fullmatch(day.name)
        if match and first <= match[1] <= last and day.is_dir():
            files += sorted(str(f) for f in day.glob("*.jsonl.gz"))
    return files


def _download(
    url: str,
    window: Window,
    into: Path,
    client: Any,
    advance: Callable[[int], None] | None,
    sleep: Callable[[float], None],
) -> list[str]:
    """Fetch the window's rows objects under ``url`` into one file per day below ``into``; the files."""
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise MtastsError(Problem(url, "no bucket named (s3://BUCKET/PREFIX)"))
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if not prefix.endswith(ROWS_PREFIX):
        prefix += ROWS_PREFIX
    if client is None:
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", config=Config(max_pool_connections=THREADS + 4))
    retry = functools.partial(_retry, sleep=sleep)

    def listing(folder: str) -> list[str]:
        keys: list[str] = []
        token = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": folder}
            if token:
                kwargs["ContinuationToken"] = token
            page = retry(functools.partial(client.list_objects_v2, **kwargs))
            keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".jsonl.gz")]
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    first, last = window.first_day.isoformat(), window.last_day.isoformat()
    top = retry(functools.partial(client.list_objects_v2, Bucket=bucket, Prefix=prefix, Delimiter="/"))
    days = [p["Prefix"] for p in top.get("CommonPrefixes", [])]
    while top.get("IsTruncated"):
        top = retry(
            functools.partial(
                client.list_objects_v2,
                Bucket=bucket,
                Prefix=prefix,
                Delimiter="/",
                ContinuationToken=top["NextContinuationToken"],
            )
        )
        days += [p["Prefix"] for p in top.get("CommonPrefixes", [])]
    wanted = [d for d in days if (m := _DAY_FOLDER.fullmatch(d[len(prefix) : -1])) and first <= m[1] <= last]
    files: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        for folder, keys in zip(wanted, pool.map(listing, wanted), strict=True):
            if not keys:
                continue
            target = into / folder[len(prefix) :] / "rows.jsonl.gz"
            target.parent.mkdir(parents=True)
            # one gzip stream per day: DuckDB reads one stream faster than thousands of gzip members
            with gzip.open(target, "wb", compresslevel=1) as out:
                fetch = functools.partial(_get, client, bucket, retry)
                for key, body in zip(keys, pool.map(fetch, keys), strict=True):
                    try:
                        out.write(gzip.decompress(body))
                    except (OSError, EOFError, zlib.error) as exc:
                        raise MtastsError(Problem(f"s3://{bucket}/{key}", f"not a gzip rows object: {exc}")) from None
                    if advance is not None:
                        advance(1)
            files.append(str(target))
    return files


def _get(client: Any, bucket: str, retry: Callable[[Callable[[], Any]], Any], key: str) -> bytes:
    return retry(lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read())  # type: ignore[no-any-return]


def duckdb_records(
    locations: Sequence[str],
    window: Window,
    *,
    client: Any = None,
    advance: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[tuple[Any, ...]]:
    """Run the summary query with DuckDB over the rows at ``locations`` (folders or ``s3://`` URLs)."""
    import duckdb
    from botocore.exceptions import BotoCoreError, ClientError

    from .s3 import _aws_reason

    with tempfile.TemporaryDirectory(prefix="mtasts-rows-") as temporary:
        files: list[str] = []
        for n, location in enumerate(locations):
            if location.startswith("s3://"):
                into = Path(temporary) / str(n)
                try:
                    files += _download(location, window, into, client, advance, sleep)
                except (BotoCoreError, ClientError) as exc:
                    raise MtastsError(Problem(location, f"cannot read the rows: {_aws_reason(exc)}")) from None
            else:
                files += _local_files(rows_folder(Path(location)), window)
        if not files:
            return []
        config: dict[str, str | bool | int | float | list[str]] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        columns = {name: _TYPES[kind] for name, kind, _ in COLUMNS}
        try:
            with duckdb.connect(config=config) as connection:
                # read once into a table: the query reads the rows several times (CTEs, the skipped count)
                connection.execute(
                    "CREATE TEMP TABLE tlsrpt_rows AS SELECT * FROM read_json($files, format = 'newline_delimited', "
                    "hive_partitioning = true, hive_types = {'day': 'VARCHAR'}, columns = $columns)",
                    {"files": files, "columns": columns},
                )
                return connection.execute(summary_query(TABLE, window)).fetchall()
        except duckdb.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MtastsError(Problem("--engine duckdb", f"the rows could not be read: {first_line}")) from None
