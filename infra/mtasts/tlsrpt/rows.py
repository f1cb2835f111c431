"""Flat rows of accepted reports: one per policy and result, gzip JSON Lines under ``rows/day=YYYY-MM-DD/``.

Raw reports stay the source of truth (``mtasts reports summarize`` over them is the reference); rows are what
SQL engines read (:mod:`mtasts.tlsrpt.sql`: DuckDB on one machine, Athena over S3). Each accepted report
becomes one object::

    rows/day=<UTC day of date-range.start-datetime>/<sha256 of the report JSON>.jsonl.gz

The same key rule as the raw object (``mtasts.tlsrpt.receiver``): the key is a function of the report's bytes,
so a retried delivery, a backfill run twice, or the same report received by HTTPS and by mail write the same
key with the same bytes (gzip without a timestamp), never a second copy. The ``day=`` folder is a Hive-style
partition that Athena's partition projection and DuckDB's ``hive_partitioning`` both read, so a query over a
window only opens the window's days.

Per policy of the report, one row with ``detail_index`` -1 and no ``result_type`` carries the policy's totals
(``successful``: total-successful-session-count, ``failed``: total-failure-session-count); then one row per
``failure-details`` entry carries its result type, MX, IPs, reason code and ``failed`` (failed-session-count;
``successful`` 0). Standard library only: the rua Lambda ships this module (resources/reports.py).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from typing import Any, NamedTuple

from .envelope import DEFAULT_MAX_BYTES, GZIP_MAGIC, ReportError, decode_payload, reports_in
from .report import Report, parse_report

__all__ = [
    "COLUMNS",
    "ROWS_PREFIX",
    "RowsObject",
    "encode_rows",
    "json_lines",
    "object_rows",
    "report_rows",
    "rows_key",
    "store_rows",
    "timestamp",
]

#: Where rows live in the reports bucket (no policy domain can take the name: a domain has two labels or more).
ROWS_PREFIX = "rows/"
#: Columns of a row, in order, with their SQL type (the Glue table, DuckDB's reader and the docs use this list).
#: ``day`` is not in the objects: it is the partition, read from the ``day=`` folder.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("start_time", "varchar", "date-range.start-datetime in UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ (sorts as text)"),
    ("end_time", "varchar", "date-range.end-datetime in UTC, same format"),
    ("organization", "varchar", "organization-name"),
    ("report_id", "varchar", "report-id"),
    ("report_key", "varchar", "the raw object's key in the bucket (a mail's key and #n for its n-th report)"),
    ("report_sha256", "varchar", "SHA-256 of the report JSON: one copy of a report"),
    ("policy_index", "bigint", "index of the entry in policies[]"),
    ("policy_type", "varchar", "policy.policy-type: sts, tlsa or no-policy-found"),
    ("policy_domain", "varchar", "policy.policy-domain, lower case, no trailing dot"),
    ("detail_index", "bigint", "index in failure-details[], -1 for the policy's totals row"),
    ("result_type", "varchar", "failure-details[].result-type, null on the totals row"),
    ("receiving_mx", "varchar", "receiving-mx-hostname, lower case, '' when absent"),
    ("receiving_ip", "varchar", "receiving-ip, '' when absent"),
    ("sending_mta_ip", "varchar", "sending-mta-ip, '' when absent"),
    ("failure_reason_code", "varchar", "failure-reason-code, '' when absent"),
    ("successful", "bigint", "totals row: total-successful-session-count; else 0"),
    ("failed", "bigint", "totals row: total-failure-session-count; else failed-session-count"),
)


def timestamp(value: dt.datetime) -> str:
    """An aware datetime as fixed-width UTC text, so that text order is time order in every engine.

    Not strftime: year 1 must read 0001.
    """
    v = value.astimezone(dt.UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}Z"


def report_rows(report: Report, report_key: str, sha256: str) -> list[dict[str, Any]]:
    """The rows of one validated report stored at ``report_key`` (see the module docstring)."""
    common = {
        "start_time": timestamp(report.start),
        "end_time": timestamp(report.end),
        "organization": report.organization,
        "report_id": report.report_id,
        "report_key": report_key,
        "report_sha256": sha256,
    }
    rows: list[dict[str, Any]] = []
    for p, policy in enumerate(report.policies):
        base = {**common, "policy_index": p, "policy_type": policy.policy_type, "policy_domain": policy.policy_domain}
        rows.append(
            {
                **base,
                "detail_index": -1,
                "result_type": None,
                "receiving_mx": "",
                "receiving_ip": "",
                "sending_mta_ip": "",
                "failure_reason_code": "",
                "successful": policy.successful,
                "failed": policy.failed,
            }
        )
        for d, detail in enumerate(policy.failures):
            rows.append(
                {
                    **base,
                    "detail_index": d,
                    "result_type": detail.result_type,
                    "receiving_mx": detail.receiving_mx,
                    "receiving_ip": detail.receiving_ip,
                    "sending_mta_ip": detail.sending_mta_ip,
                    "failure_reason_code": detail.failure_reason_code,
                    "successful": 0,
                    "failed": detail.failed_sessions,
                }
            )
    return rows


def rows_key(report: Report, sha256: str, prefix: str = ROWS_PREFIX) -> str:
    """The key (or relative path) of a report's rows object: ``<prefix>day=YYYY-MM-DD/<sha256>.jsonl.gz``."""
    day = report.start
    return f"{prefix}day={day.year:04d}-{day.month:02d}-{day.day:02d}/{sha256}.jsonl.gz"


def json_lines(rows: list[dict[str, Any]]) -> bytes:
    """One JSON object per line; ``ensure_ascii``: every non-ASCII character is a backslash-u escape."""
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode("ascii")


def encode_rows(rows: list[dict[str, Any]]) -> bytes:
    """Gzip JSON Lines, byte for byte the same for the same rows (no timestamp in the gzip header)."""
    return gzip.compress(json_lines(rows), compresslevel=6, mtime=0)


def store_rows(client: Any, bucket: str, report: Report, report_key: str, sha256: str) -> str:
    """Write a report's rows object to S3 (a PUT of the same bytes as any earlier one: idempotent); its key.

    A report without policies has no rows and writes nothing (the receiver refuses such reports anyway).
    """
    key = rows_key(report, sha256)
    rows = report_rows(report, report_key, sha256)
    if rows:
        client.put_object(Bucket=bucket, Key=key, Body=encode_rows(rows), ContentType="application/gzip")
    return key


class RowsObject(NamedTuple):
    """The rows object of one report found in a stored object: where it goes and its JSON Lines."""

    key: str
    lines: bytes
    report: Report

    @property
    def body(self) -> bytes:
        """The object's bytes: the lines, gzip (no timestamp: the same bytes every time)."""
        return gzip.compress(self.lines, compresslevel=6, mtime=0)


def object_rows(
    key: str, data: bytes, limit: int = DEFAULT_MAX_BYTES, prefix: str = ROWS_PREFIX
) -> tuple[list[RowsObject], list[str]]:
    """The rows objects of every report in a stored object (a report, plain or gzip, or a mail), and rejections.

    Each report's ``report_key`` is ``key``, or ``key#n`` for the n-th report (from 1) of an object holding more
    than one (a mail with several report parts). A report that is not valid is a rejection with its reason; the
    others are still read. Reports without policies have no rows.
    """
    try:
        payloads = list(reports_in(data, limit))
    except ReportError as exc:
        return [], [str(exc)]
    found: list[RowsObject] = []
    rejected: list[str] = []
    for index, payload in enumerate(payloads):
        where = key if len(payloads) == 1 else f"{key}#{index + 1}"
        try:
            text = decode_payload(payload, limit)
            if text[:2] == GZIP_MAGIC:
                raise ReportError("the decompressed report is gzip data again, not a JSON report")
            report = parse_report(text, limit)
        except ReportError as exc:
            rejected.append(f"{where}: {exc}" if where != key else str(exc))
            continue
        sha256 = hashlib.sha256(text).hexdigest()
        rows = report_rows(report, where, sha256)
        if rows:
            found.append(RowsObject(rows_key(report, sha256, prefix), json_lines(rows), report))
    return found, rejected
