"""Reading reports from S3: only the date prefixes a period needs, fetched concurrently, throttling retried.

The rua endpoint stores each report under ``<policy-domain>/<yyyy>/<mm>/<dd>/…`` (the UTC day its period
starts) and SES stores report mails under ``mail/`` (docs/reports.md, "Receiving reports"). With ``--since`` or
``--until``, a listing therefore asks only for the months of the period under each domain folder
(``example.com/2026/11/``) and drops keys of days outside it; folders without that layout (``mail/``) are listed
whole, skipping objects last modified before ``--since`` (a report is stored after its period ends, so it cannot
end on or after ``--since`` and have been stored before it). Reports are still checked against the period
after decoding, so a listing only saves requests; it never decides alone.

Requests: listings and GETs run on bounded thread pools (S3 serves at least 5,500 GET/HEAD requests per second
per partitioned prefix, see "Best practices design patterns: optimizing Amazon S3 performance"); ``SlowDown``,
``503`` and other throttling answers are retried with exponential backoff and full jitter (the pattern AWS's
"Retry behavior" guide describes), up to :data:`ATTEMPTS` tries; other errors are not retried. Objects are
yielded in listing order, so counting stays deterministic, with at most :data:`WINDOW` objects held at once.

Why not boto3's paginator and botocore's retry modes (checked against botocore's ``retries/standard.py``):
the standard and adaptive modes draw every retry from one quota per client (500 units, 5 per throttled
retry, 14 per other), which 16 concurrent requests under a sustained ``SlowDown`` can use up, after which a
throttled GET fails instead of waiting; their backoff sleeps inside botocore, out of reach of the tests'
clock; and a paginator cannot retry one page on its own (the iteration ends at the failed page; going on
means a new ``paginate`` from its ``resume_token``, which is this loop again). So the listing loop here is the
paginator's (``ContinuationToken``) with a retry of its own per request, and the GETs share it.
"""

from __future__ import annotations

import calendar
import concurrent.futures
import datetime as dt
import functools
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from ..errors import MtastsError, Problem
from .rows import ROWS_PREFIX
from .source import Source

__all__ = ["ATTEMPTS", "THREADS", "WINDOW", "Listing", "s3_objects"]

#: Concurrent requests (GETs; listings use half as many).
THREADS = 16
#: Objects fetched ahead of the one being decoded: bounds memory to WINDOW x the size cap.
WINDOW = 64
#: Tries per request when S3 answers with throttling.
ATTEMPTS = 8
#: First backoff and the longest, in seconds.
BACKOFF, BACKOFF_CAP = 0.1, 20.0
#: Error codes that mean "slow down", not "this request is wrong".
THROTTLING = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests", "503", "500"}
    | {"InternalError", "ServiceUnavailable", "RequestTimeout"}
)
#: Days listed before --since: a daily report (RFC 8460 §4.1: 00:00-24:00 UTC) started the day before may end on it.
SLACK_DAYS = 1
#: A domain folder's year sub-folders.
_YEAR = re.compile(r"\d{4}/\Z")
_DAY = re.compile(r"(\d{2})/(\d{2})/")


class Listing(NamedTuple):
    """One listed object: key, size, last modified."""

    key: str
    size: int
    modified: dt.datetime


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _retry(call: Callable[[], Any], sleep: Callable[[float], None]) -> Any:
    """``call()``, retried on throttling with exponential backoff and full jitter."""
    for attempt in range(ATTEMPTS):
        try:
            return call()
        except Exception as exc:
            if _code(exc) not in THROTTLING or attempt == ATTEMPTS - 1:
                raise
            sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF * 2**attempt)))  # noqa: S311 - jitter, not secrecy
    raise AssertionError("unreachable")  # pragma: no cover


class _Bucket:
    """Listings and GETs of one bucket, each retried on throttling."""

    def __init__(self, client: Any, bucket: str, sleep: Callable[[float], None]) -> None:
        self.client, self.bucket, self.sleep = client, bucket, sleep

    def list(self, prefix: str, delimiter: str = "") -> tuple[list[Listing], list[str]]:
        """Objects and (with a delimiter) sub-folders under ``prefix``, every page."""
        objects: list[Listing] = []
        folders: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if delimiter:
                kwargs["Delimiter"] = delimiter
            if token:
                kwargs["ContinuationToken"] = token
            page = _retry(functools.partial(self.client.list_objects_v2, **kwargs), self.sleep)
            objects += [Listing(o["Key"], int(o["Size"]), o["LastModified"]) for o in page.get("Contents", [])]
            folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            if not page.get("IsTruncated"):
                return objects, folders
            token = page["NextContinuationToken"]

    def get(self, key: str) -> bytes:
        return _retry(lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read(), self.sleep)  # type: ignore[no-any-return]


def _months(first: dt.date, last: dt.date, year: int) -> list[int]:
    """Months of ``year`` that overlap [first, last]."""
    return [m for m in range(1, 13) if dt.date(year, m, 1) <= last and _month_end(year, m) >= first]


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _plan(
    bucket: _Bucket, prefix: str, first: dt.date, last: dt.date, pool: concurrent.futures.Executor
) -> Iterator[tuple[str, Callable[[Listing], bool]]]:
    """(prefix to list whole, filter of its objects) for a period: month prefixes under date folders, else all.

    ``prefix`` is a bucket root or any folder; its sub-folders are looked at two levels down (domain, year).
    """
    since = dt.datetime.combine(first + dt.timedelta(days=SLACK_DAYS), dt.time(), dt.UTC)

    def recent(item: Listing) -> bool:
        return item.modified >= since

    def folder(name: str, depth: int) -> Iterator[tuple[str, Callable[[Listing], bool]]]:
        objects, subs = bucket.list(name, "/")
        subs = [s for s in subs if s != ROWS_PREFIX]  # the bucket root's rows/ holds rows, not reports
        if objects:
            yield name, lambda item: "/" not in item.key[len(name) :] and recent(item)
        years = [s for s in subs if _YEAR.search(s)]
        for year_folder in years:
            year = int(year_folder[-5:-1])
            if not first.year <= year <= last.year:
                continue
            for month in _months(first, last, year):
                month_prefix = f"{year_folder}{month:02d}/"
                yield month_prefix, _days(month_prefix, year, month, first, last)
        for sub in subs:
            if sub in years:
                continue
            if depth < 1:
                yield from folder(sub, depth + 1)
            else:
                yield sub, recent

    # the first level (policy domains: up to thousands) is listed concurrently, in order
    objects, subs = bucket.list(prefix, "/")
    subs = [s for s in subs if s != ROWS_PREFIX]  # the bucket root's rows/ holds rows, not reports
    if any(_YEAR.search(s) for s in subs) or not subs:
        yield from folder(prefix, 1)
        return
    if objects:
        yield prefix, lambda item: "/" not in item.key[len(prefix) :] and recent(item)
    for plans in pool.map(lambda sub: list(folder(sub, 1)), subs):
        yield from plans


def _days(prefix: str, year: int, month: int, first: dt.date, last: dt.date) -> Callable[[Listing], bool]:
    """Keep keys whose day folder lies in [first, last]; keys without one are kept (decoding decides)."""

    def keep(item: Listing) -> bool:
        match = _DAY.match(item.key, len(prefix) - 3)
        if match is None:
            return True
        try:
            return first <= dt.date(year, month, int(match[2])) <= last
        except ValueError:
            return True

    return keep


def s3_objects(
    url: str,
    limit: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    *,
    client: Any = None,
    listed: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Any]:
    """Every object under ``s3://bucket/prefix`` (within the period, if given) as a Source, in listing order.

    ``listed(n)`` is called as objects are listed (for a progress bar's total). A bucket that cannot be listed
    is fatal (:class:`~mtasts.errors.MtastsError`); an object that cannot be read is a Source with the reason.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    bucket_name, _, prefix = url[len("s3://") :].partition("/")
    if not bucket_name:
        raise MtastsError(Problem(url, "no bucket named (s3://BUCKET/PREFIX)"))
    if client is None:
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", config=Config(max_pool_connections=THREADS + THREADS // 2))
    bucket = _Bucket(client, bucket_name, sleep)
    lister = concurrent.futures.ThreadPoolExecutor(THREADS // 2, thread_name_prefix="s3-list")
    getter = concurrent.futures.ThreadPoolExecutor(THREADS, thread_name_prefix="s3-get")
    try:
        if since is None and until is None:
            # rows objects (mtasts.tlsrpt.rows) are derived from the reports, never reports themselves
            rows = not prefix.startswith(ROWS_PREFIX)
            plans: Iterator[tuple[str, Callable[[Listing], bool]]] = iter(
                [(prefix, lambda item: not (rows and item.key.startswith(ROWS_PREFIX)))]
            )
        else:
            first = (since.date() if since else dt.date.min + dt.timedelta(SLACK_DAYS)) - dt.timedelta(SLACK_DAYS)
            last = (until - dt.timedelta(microseconds=1)).date() if until else dt.date.max  # until is exclusive
            plans = _plan(bucket, prefix, first, last, lister)
        # listings of the planned prefixes run ahead on their pool; their objects are fetched in order
        listings: deque[concurrent.futures.Future[list[Listing]]] = deque()
        fetches: deque[tuple[Listing, concurrent.futures.Future[bytes] | None]] = deque()

        def objects() -> Iterator[Listing]:
            for plan_prefix, keep in plans:
                listings.append(lister.submit(_kept, bucket, plan_prefix, keep))
                while len(listings) > THREADS:
                    yield from _announce(listings.popleft().result(), listed)
            while listings:
                yield from _announce(listings.popleft().result(), listed)

        for item in objects():
            big = item.size > limit
            fetches.append((item, None if big else getter.submit(bucket.get, item.key)))
            while len(fetches) > WINDOW:
                yield _source(bucket_name, fetches.popleft(), limit, Source, _aws_reason)
        while fetches:
            yield _source(bucket_name, fetches.popleft(), limit, Source, _aws_reason)
    except (BotoCoreError, ClientError) as exc:
        raise MtastsError(Problem(url, f"cannot list the bucket: {_aws_reason(exc)}")) from None
    finally:
        lister.shutdown(wait=True, cancel_futures=True)
        getter.shutdown(wait=True, cancel_futures=True)


def _kept(bucket: _Bucket, prefix: str, keep: Callable[[Listing], bool]) -> list[Listing]:
    return [item for item in bucket.list(prefix)[0] if keep(item)]


def _announce(items: list[Listing], listed: Callable[[int], None] | None) -> list[Listing]:
    if listed is not None and items:
        listed(len(items))
    return items


def _source(
    bucket: str, fetch: tuple[Listing, concurrent.futures.Future[bytes] | None], limit: int, source: Any, reason: Any
) -> Any:
    """The Source of one fetched object: its bytes, or why not."""
    from botocore.exceptions import BotoCoreError, ClientError

    item, future = fetch
    name = f"s3://{bucket}/{item.key}"
    if future is None:
        return source(name, None, f"object size {item.size} exceeds {limit} bytes")
    try:
        data = future.result()
    except (BotoCoreError, ClientError) as exc:
        return source(name, None, f"object not readable: {reason(exc)}")
    if len(data) > limit:
        return source(name, None, f"object size {len(data)} exceeds {limit} bytes")
    return source(name, data)


def _aws_reason(exc: Exception) -> str:
    """``Code: message`` of an AWS error, or the message of a client-side one (credentials, parameters)."""
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}" if error.get("Code") else str(exc)
