"""The Athena engine: :mod:`.sql`'s query run by Athena over the rows' Glue table; only results are read.

Requests (boto3's Athena client; Athena API Reference): ``StartQueryExecution`` in the kit's workgroup (which
holds the results location and the per-query bytes-scanned limit, see ``mta-sts:reports.query``), then
``GetQueryExecution`` until the query leaves ``QUEUED``/``RUNNING`` (the progress bar shows the bytes scanned so
far), then every page of ``GetQueryResults`` (at most 1,000 rows a page; every page is read, nothing is cut).
A query that fails, is cancelled, or outlives ``timeout`` (then stopped with ``StopQueryExecution``) is one
clear error naming the reason. Without a workgroup and database there is nothing to run: the error says how to
declare them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import MtastsError, Problem
from .sql import Window, summary_query

__all__ = ["AthenaSettings", "athena_records"]

#: Rows per GetQueryResults page (the API's maximum).
PAGE = 1000
#: Seconds between two GetQueryExecution calls: the first, and the longest.
POLL, POLL_CAP = 0.5, 5.0
#: Seconds a query may run before it is stopped.
TIMEOUT = 600.0
_NOT_CONFIGURED = (
    "Athena is not configured: set mta-sts:reports.query to athena and run `pulumi up`, then pass "
    "--athena-workgroup and --athena-database (or MTASTS_ATHENA_WORKGROUP, MTASTS_ATHENA_DATABASE) as "
    "`pulumi stack output` shows them"
)


@dataclass(frozen=True)
class AthenaSettings:
    """Where the rows' table is and which workgroup runs the query."""

    workgroup: str
    """The kit's Athena workgroup (its results location and bytes-scanned limit apply)."""
    database: str
    """The Glue database holding the rows table."""
    table: str = "tlsrpt_rows"
    """The rows table."""
    catalog: str = "AwsDataCatalog"
    """The data catalog (Glue's default)."""
    timeout: float = TIMEOUT
    """Seconds a query may run before it is stopped."""

    def check(self) -> None:
        """A clear error when the workgroup or database is missing."""
        missing = [name for name, value in (("workgroup", self.workgroup), ("database", self.database)) if not value]
        if missing:
            raise MtastsError(Problem("--engine athena", f"{_NOT_CONFIGURED} (missing: {', '.join(missing)})"))


def athena_records(
    settings: AthenaSettings,
    window: Window,
    *,
    client: Any = None,
    scanned: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[tuple[Any, ...]]:
    """Run the summary query in Athena; its result records (text values, None for NULL)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .s3 import _aws_reason

    settings.check()
    if client is None:
        import boto3

        client = boto3.client("athena")
    query = summary_query(f'"{settings.database}"."{settings.table}"', window)
    try:
        started = client.start_query_execution(
            QueryString=query,
            QueryExecutionContext={"Database": settings.database, "Catalog": settings.catalog},
            WorkGroup=settings.workgroup,
        )
        query_id = started["QueryExecutionId"]
        _wait(client, query_id, settings.timeout, scanned, sleep, clock)
        return _results(client, query_id)
    except (BotoCoreError, ClientError) as exc:
        raise MtastsError(Problem("--engine athena", _aws_reason(exc))) from None


def _wait(
    client: Any,
    query_id: str,
    timeout: float,
    scanned: Callable[[int], None] | None,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """Poll until the query succeeded; raise with Athena's reason if it did not."""
    deadline = clock() + timeout
    delay = POLL
    while True:
        execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status = execution.get("Status", {})
        state = status.get("State", "")
        if scanned is not None:
            scanned(int(execution.get("Statistics", {}).get("DataScannedInBytes", 0)))
        if state == "SUCCEEDED":
            return
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage") or state
            raise MtastsError(Problem("--engine athena", f"query {query_id} {state.lower()}: {reason}"))
        if clock() >= deadline:
            client.stop_query_execution(QueryExecutionId=query_id)
            message = f"query {query_id} still {state} after {timeout:g} s; stopped"
            raise MtastsError(Problem("--engine athena", message))
        sleep(delay)
        delay = min(POLL_CAP, delay * 2)


def _results(client: Any, query_id: str) -> list[tuple[Any, ...]]:
    """Every row of every page of the query's results, without the header row."""
    records: list[tuple[Any, ...]] = []
    token: str | None = None
    first = True
    while True:
        kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": PAGE}
        if token:
            kwargs["NextToken"] = token
        page = client.get_query_results(**kwargs)
        rows = page.get("ResultSet", {}).get("Rows", [])
        if first:
            rows = rows[1:]  # a SELECT's first row holds the column names
            first = False
        records += [tuple(d.get("VarCharValue") for d in row.get("Data", [])) for row in rows]
        token = page.get("NextToken")
        if not token:
            return records
