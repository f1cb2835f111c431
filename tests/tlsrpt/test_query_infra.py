"""`mta-sts:reports.query: athena` declares Glue database and table (partition projection) and a bounded workgroup."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mtasts.config import parse_stack_settings
from mtasts.errors import ConfigError
from mtasts.resources.query import MIN_SCAN_LIMIT, glue_name, table_parameters
from mtasts.tlsrpt.rows import COLUMNS
from pulumi_mocks import Run, build

REPORTS = {"endpoint": "tlsrpt.example.net", "query": "athena"}
SETTINGS = {"reports": REPORTS, "domains": {"example.com": {"mx": ["mx.example.com"]}}}


@pytest.fixture(scope="module")
def run() -> Run:
    return build(SETTINGS)


def test_the_table_reads_the_rows_by_partition_projection(run: Run) -> None:
    """An external JSON table over rows/, every row column in order, day projected as dates: no crawler, no MSCK."""
    inputs = run.mocks.inputs
    table = inputs["tlsrpt-query-table"]
    assert table["name"] == "tlsrpt_rows"
    assert table["tableType"] == "EXTERNAL_TABLE"
    assert table["partitionKeys"] == [{"name": "day", "type": "string"}]
    storage = table["storageDescriptor"]
    assert [c["name"] for c in storage["columns"]] == [name for name, _, _ in COLUMNS]
    assert {c["type"] for c in storage["columns"]} == {"string", "bigint"}
    assert storage["serDeInfo"]["serializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    parameters = table["parameters"]
    assert parameters["projection.enabled"] == "true"
    assert (parameters["projection.day.type"], parameters["projection.day.format"]) == ("date", "yyyy-MM-dd")
    assert parameters["projection.day.range"] == "2020-01-01,NOW"
    assert parameters["storage.location.template"].endswith("/rows/day=${day}/")
    assert table_parameters("b")["storage.location.template"] == "s3://b/rows/day=${day}/"
    assert inputs["tlsrpt-query-database"]["name"] == glue_name("test") == "mtasts_test"  # the mocks' stack
    assert glue_name("Prod-EU.1") == "mtasts_prod_eu_1"
    assert not any(t.startswith("aws:glue/crawler") for t in run.mocks.types.values())


def test_the_workgroup_enforces_its_results_location_and_a_scan_limit(run: Run) -> None:
    """Results go to a bucket of their own, expired after 7 days; queries stop after 10 GiB scanned; engine v3."""
    inputs = run.mocks.inputs
    config = inputs["tlsrpt-query-workgroup"]["configuration"]
    assert config["enforceWorkgroupConfiguration"] is True
    assert config["bytesScannedCutoffPerQuery"] == 10240 * 1024 * 1024
    assert config["engineVersion"] == {"selectedEngineVersion": "Athena engine version 3"}
    assert config["resultConfiguration"]["encryptionConfiguration"] == {"encryptionOption": "SSE_S3"}
    (rule,) = inputs["tlsrpt-query-results-expiry"]["rules"]
    assert rule["expiration"] == {"days": 7}
    assert inputs["tlsrpt-query-results-public-access-block"]["restrictPublicBuckets"] is True
    assert run.regs["tlsrpt-query"].type == "mtasts:index:ReportsQuery"
    children = [r for r in run.regs.values() if r.name.startswith("tlsrpt-query-")]
    assert children
    assert all(r.parent == "tlsrpt-query" for r in children)


def test_settings_reach_the_workgroup_and_nothing_without_athena() -> None:
    """query_scan_limit_mib and query_results_days are used; without query: athena there is no Glue or Athena."""
    settings = {**SETTINGS, "reports": {**REPORTS, "query_scan_limit_mib": 100, "query_results_days": 30}}
    inputs = build(settings).mocks.inputs
    assert inputs["tlsrpt-query-workgroup"]["configuration"]["bytesScannedCutoffPerQuery"] == 100 * 1024 * 1024
    assert MIN_SCAN_LIMIT <= 100 * 1024 * 1024
    assert inputs["tlsrpt-query-results-expiry"]["rules"][0]["expiration"] == {"days": 30}
    plain = build({**SETTINGS, "reports": {"endpoint": "tlsrpt.example.net"}})
    assert not any(t.startswith(("aws:glue/", "aws:athena/")) for t in plain.mocks.types.values())


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"query": "bigquery"}, "mta-sts:reports.query: expected one of none, athena, got 'bigquery'"),
        ({"query_scan_limit_mib": 5}, "mta-sts:reports.query_scan_limit_mib: expected a whole number of MiB from 10"),
        ({"query_results_days": 0}, "mta-sts:reports.query_results_days: expected a whole number of days from 1"),
    ],
)
def test_bad_query_settings_are_one_line_naming_the_field(extra: dict[str, Any], expected: str) -> None:
    """A wrong value names the key and what is allowed."""
    with pytest.raises(ConfigError) as info:
        parse_stack_settings({**SETTINGS, "reports": {**REPORTS, **extra}})
    (line,) = info.value.lines()
    assert line.startswith(expected)
