"""Athena over the report rows, declared with ``mta-sts:reports.query: athena``.

The rua function and the mail path write rows under ``rows/day=YYYY-MM-DD/`` in the reports bucket
(:mod:`mtasts.tlsrpt.rows`). This component declares what ``mtasts reports summarize --engine athena`` and
``mtasts status --engine athena`` query:

- a Glue database and an external table over ``s3://<bucket>/rows/`` (JSON SerDe, gzip by file name), whose
  ``day`` partitions are found by **partition projection** (type ``date``, ``yyyy-MM-dd``, from 2020-01-01 to
  ``NOW``; "Partition projection with Amazon Athena"): no crawler, no ``MSCK REPAIR TABLE``, no partition to add
  when a day starts, and a query over a window reads only the window's folders;
- an Athena workgroup (engine version 3, Trino) that enforces its own configuration: query results go to a
  results bucket of its own, expired by a lifecycle rule after ``results_days``, encrypted with SSE-S3, and
  every query is cancelled once it has scanned ``scan_limit_bytes`` ("BytesScannedCutoffPerQuery", at least
  10,000,000 bytes per the Athena API reference), so a mistaken query cannot run up a bill.

The table's columns are :data:`mtasts.tlsrpt.rows.COLUMNS`: one list for the writer, DuckDB and Glue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..tlsrpt.rows import COLUMNS, ROWS_PREFIX
from .bucket import private_bucket

__all__ = ["ReportsQuery", "ReportsQueryArgs", "glue_name", "table_parameters"]

#: The rows table's name (``--athena-table``'s default).
TABLE = "tlsrpt_rows"
#: Athena's smallest per-query data usage control (BytesScannedCutoffPerQuery minimum, in bytes).
MIN_SCAN_LIMIT = 10_000_000
#: First day partition projection knows; rows of earlier days are not queried (the kit wrote none before).
FIRST_DAY = "2020-01-01"
#: Glue column types of the row columns (Hive DDL names).
_HIVE = {"varchar": "string", "bigint": "bigint"}


def glue_name(stack: str) -> str:
    """The Glue database of a stack: lower-case letters, digits and underscores (Glue's rule for names)."""
    return "mtasts_" + re.sub(r"[^a-z0-9_]", "_", stack.lower())[:200]


def table_parameters(bucket: str) -> dict[str, str]:
    """The table parameters that turn on partition projection over ``day`` and say how objects are read."""
    return {
        "EXTERNAL": "TRUE",
        "classification": "json",
        "projection.enabled": "true",
        "projection.day.type": "date",
        "projection.day.format": "yyyy-MM-dd",
        "projection.day.range": f"{FIRST_DAY},NOW",
        "projection.day.interval": "1",
        "projection.day.interval.unit": "DAYS",
        "storage.location.template": f"s3://{bucket}/{ROWS_PREFIX}day=${{day}}/",
    }


@dataclass(frozen=True)
class ReportsQueryArgs:
    """Settings of the Athena query side."""

    bucket: pulumi.Input[str]
    """The reports bucket, holding ``rows/``."""
    database: str
    """The Glue database's name (:func:`glue_name`)."""
    scan_limit_bytes: int
    """Bytes a query may scan before Athena cancels it (at least :data:`MIN_SCAN_LIMIT`)."""
    results_days: int = 7
    """Days query results are kept in the results bucket."""


class ReportsQuery(pulumi.ComponentResource):
    """Glue database and table over the rows, with partition projection, and the workgroup that queries them."""

    def __init__(self, name: str, args: ReportsQueryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mtasts:index:ReportsQuery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        results = private_bucket(f"{name}-results", child).bucket
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-results-expiry",
            bucket=results.id,
            rules=[
                {
                    "id": "expire-query-results",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": args.results_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child,
        )
        self.database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=args.database,
            description="TLS-RPT report rows written by the mtasts kit",
            opts=child,
        )
        location = pulumi.Output.from_input(args.bucket).apply(lambda b: f"s3://{b}/{ROWS_PREFIX}")
        self.table = aws.glue.CatalogTable(
            f"{name}-table",
            name=TABLE,
            database_name=self.database.name,
            table_type="EXTERNAL_TABLE",
            parameters=pulumi.Output.from_input(args.bucket).apply(table_parameters),
            partition_keys=[{"name": "day", "type": "string"}],
            storage_descriptor={
                "location": location,
                "input_format": "org.apache.hadoop.mapred.TextInputFormat",
                "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "ser_de_info": {
                    "serialization_library": "org.openx.data.jsonserde.JsonSerDe",
                    "parameters": {"ignore.malformed.json": "false"},
                },
                "columns": [{"name": n, "type": _HIVE[t], "comment": c[:255]} for n, t, c in COLUMNS],
            },
            opts=child,
        )
        self.workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=f"{args.database}_reports",
            description="mtasts reports summarize|status --engine athena",
            force_destroy=True,
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": args.scan_limit_bytes,
                "engine_version": {"selected_engine_version": "Athena engine version 3"},
                "result_configuration": {
                    "output_location": results.bucket.apply(lambda b: f"s3://{b}/"),
                    "encryption_configuration": {"encryption_option": "SSE_S3"},
                },
            },
            opts=child,
        )
        self.results_bucket = results
        self.register_outputs(
            {"workgroup": self.workgroup.name, "database": self.database.name, "table": self.table.name}
        )
