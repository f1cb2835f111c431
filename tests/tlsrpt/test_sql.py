"""One query, two engines: DuckDB over rows and the Athena SQL text count exactly what the Python reader counts."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlglot
from botocore.stub import ANY, Stubber
from click.testing import CliRunner
from reports import as_gzip, as_json, as_mail, report
from sqlglot import exp

from mtasts.cli import main
from mtasts.errors import MtastsError
from mtasts.tlsrpt import athena as athena_module
from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.athena import AthenaSettings, athena_records
from mtasts.tlsrpt.backfill import backfill_local
from mtasts.tlsrpt.duck import duckdb_records
from mtasts.tlsrpt.reader import Reader
from mtasts.tlsrpt.sql import Window, fill_summary, summary_query

UTC = dt.UTC


def corpus(folder: Path) -> None:
    """Reports of every shape the counting rules care about, laid out as the receiver stores them."""

    def put(domain: str, day: str, name: str, body: bytes) -> None:
        path = folder / domain / day.replace("-", "/") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    for i in range(60):
        domain = f"d{i % 4}.example"
        day = f"2026-11-{1 + i % 20:02d}"
        failures = [("certificate-expired", f"mx{i % 2}.{domain}", i % 3), ("starttls-not-supported", "", i % 2)]
        doc = report(
            org=f"org{i % 3}", report_id=f"r{i}", domain=domain, day=day, successful=100 + i, failures=failures
        )
        if i % 5 == 0:  # failures that no failure detail accounts for: counted under (all MX)
            doc["policies"][0]["summary"]["total-failure-session-count"] += 7
        put(domain, day, f"r{i}.{i:064x}.json.gz", as_gzip(doc))
    # a redelivery with other bytes (whitespace) and the same counts: a duplicate, not a conflict
    again = report(org="org0", report_id="r0", domain="d0.example", day="2026-11-01", successful=100)
    again["policies"][0]["failure-details"] = [
        {"result-type": "certificate-expired", "receiving-mx-hostname": "mx0.d0.example", "failed-session-count": 0},
        {"result-type": "starttls-not-supported", "receiving-mx-hostname": "", "failed-session-count": 0},
    ]
    again["policies"][0]["summary"]["total-failure-session-count"] = 7
    put("d0.example", "2026-11-01", "r0." + "f" * 64 + ".json", json.dumps(again, indent=1).encode())
    # the same organization and report-id with other counts, after the first copy: counted once, a conflict
    forged = report(org="org1", report_id="r1", domain="d1.example", day="2026-11-02", successful=999999)
    put("d1.example", "2026-11-02", "r1." + "f" * 64 + ".json", as_json(forged))
    # a mail with two reports (two parts), one of them for two policy domains
    two = report(org="mailer", report_id="m1", domain="d2.example", day="2026-11-05", successful=5)
    two["policies"].append({**two["policies"][0], "policy": {"policy-type": "sts", "policy-domain": "d3.example"}})
    mail = as_mail(two)
    (folder / "mail").mkdir()
    (folder / "mail" / "abc").write_bytes(mail)
    # a report spanning two days, and reports at the edges of the window
    long = report(org="org9", report_id="long", domain="d1.example", day="2026-10-30", successful=3)
    long["date-range"]["end-datetime"] = "2026-11-01T12:00:00Z"
    put("d1.example", "2026-10-30", "long." + "a" * 64 + ".json", as_json(long))
    late = report(org="org9", report_id="late", domain="d1.example", day="2026-11-30", successful=4)
    put("d1.example", "2026-11-30", "late." + "b" * 64 + ".json", as_json(late))
    (folder / "d3.example" / "junk.json").write_bytes(b"{not json")


WINDOWS = [
    (None, None),
    (dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 11, 16, tzinfo=UTC)),
    (dt.datetime(2026, 11, 3, tzinfo=UTC), None),
    (None, dt.datetime(2026, 11, 2, tzinfo=UTC)),
]


def reference(folder: Path, since: dt.datetime | None, until: dt.datetime | None) -> Summary:
    summary = Summary(since=since, until=until)
    with Reader(summary) as reader:
        reader.read([str(folder)])
    return summary


def counted(summary: Summary) -> dict[str, Any]:
    """What must be equal between engines: every domain's counters, reports, duplicates, conflicting pairs."""
    doc = summary.to_dict()
    return {
        "domains": doc["domains"],
        "reports": doc["reports"],
        "duplicates": doc["duplicates"],
        "conflicts": sorted({(c["organization"], c["report_id"]) for c in doc["conflicts"]}),
    }


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The raw reports, and the rows that backfill wrote from them."""
    raw = tmp_path_factory.mktemp("raw")
    corpus(raw)
    rows = tmp_path_factory.mktemp("rows")
    result = backfill_local(raw, rows)
    assert result.rejected == [{"source": str(raw / "d3.example" / "junk.json"), "reason": ANY}]
    return raw, rows


def duck_summary(rows: Path, since: dt.datetime | None, until: dt.datetime | None) -> Summary:
    summary = Summary(since=since, until=until)
    fill_summary(summary, duckdb_records([str(rows)], Window(since, until)))
    return summary


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_duckdb_over_rows_counts_what_python_counts_over_raw_reports(
    stores: tuple[Path, Path], since: dt.datetime | None, until: dt.datetime | None
) -> None:
    """Per domain, day, organization, result type and MX, reports, duplicates and conflicts: equal, in 4 windows."""
    raw, rows = stores
    ours, theirs = counted(duck_summary(rows, since, until)), counted(reference(raw, since, until))
    assert ours == theirs
    assert theirs["reports"] >= 4


def test_the_corpus_exercises_every_rule(stores: tuple[Path, Path]) -> None:
    """The reference finds duplicates, a conflict, undetailed failures and a two-domain report in the corpus."""
    doc = reference(stores[0], None, None).to_dict()
    assert doc["duplicates"] == 2
    assert doc["conflicts"] == [{"organization": "org1", "report_id": "r1"}]
    d3 = next(d for d in doc["domains"] if d["domain"] == "d3.example")
    assert d3["by_organization"]["mailer"]["successful"] == 5
    assert any(d["by_mx"].get("(all MX)", {}).get("failed") for d in doc["domains"])


def trino(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="trino", error_level=sqlglot.ErrorLevel.RAISE)


def test_the_query_is_trino_sql_with_the_same_meaning(stores: tuple[Path, Path]) -> None:
    """Athena's text parses as Trino, uses only functions both engines have, and read as Trino counts the same."""
    window = Window(*WINDOWS[1])
    text = summary_query('"tlsrpt"."tlsrpt_rows"', window)
    tree = trino(text)
    functions = {type(node).__name__ for node in tree.find_all(exp.Func)}
    assert functions <= {"Count", "Sum", "Min", "Max", "RowNumber", "Cast", "Case", "If", "And", "Or"}, functions
    assert not list(tree.find_all(exp.Anonymous))  # no function sqlglot does not know as standard
    # the Trino reading, written back for DuckDB, counts what the query counts
    import duckdb

    rows = stores[1]
    files = [str(p) for p in sorted(rows.glob("day=*/*.jsonl.gz"))]
    with duckdb.connect() as connection:
        connection.execute(
            "CREATE TABLE t AS SELECT * FROM read_json($f, format='newline_delimited', hive_partitioning=true, "
            "hive_types={'day': 'VARCHAR'})",
            {"f": files},
        )
        local = summary_query("t", window)
        translated = sqlglot.transpile(local, read="trino", write="duckdb")[0]
        assert sorted(connection.execute(translated).fetchall(), key=repr) == sorted(
            connection.execute(local).fetchall(), key=repr
        )


def test_table_names_are_identifiers_only() -> None:
    """A table name that is not an identifier never reaches the SQL text."""
    with pytest.raises(ValueError, match="is not a table name"):
        summary_query("t; DROP TABLE x", Window(None, None))


def athena_stub(records: list[tuple[Any, ...]], page: int = 3) -> tuple[Any, Stubber]:
    """An Athena client answering one query: RUNNING, then SUCCEEDED, then its results in pages of ``page``."""
    client = boto3.client("athena", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q1"},
        {
            "QueryString": ANY,
            "QueryExecutionContext": {"Database": "tlsrpt", "Catalog": "AwsDataCatalog"},
            "WorkGroup": "mtasts",
        },
    )
    for state in ("RUNNING", "SUCCEEDED"):
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": state}, "Statistics": {"DataScannedInBytes": 1234}}},
            {"QueryExecutionId": "q1"},
        )
    header = {"Data": [{"VarCharValue": c} for c in ("kind", "domain", "day", "organization", "result_type", "mx")]}
    text = [
        {"Data": [{} if v is None else {"VarCharValue": str(v)} for v in record]} for record in records
    ]  # Athena answers text, and no VarCharValue for NULL
    pages = [[header, *text[:page]]] + [text[i : i + page] for i in range(page, len(text), page)]
    for n, rows in enumerate(pages):
        params: dict[str, Any] = {"QueryExecutionId": "q1", "MaxResults": 1000}
        if n:
            params["NextToken"] = f"t{n}"
        answer: dict[str, Any] = {"ResultSet": {"Rows": rows}}
        if n + 1 < len(pages):
            answer["NextToken"] = f"t{n + 1}"
        stub.add_response("get_query_results", answer, params)
    return client, stub


def test_athena_reads_every_page_of_results_and_counts_the_same(
    stores: tuple[Path, Path], fake_aws_credentials: None
) -> None:
    """Through botocore's model (Stubber): one query, polled, every result page read; the counts are DuckDB's."""
    window = Window(*WINDOWS[1])
    records = duckdb_records([str(stores[1])], window)
    client, stub = athena_stub(records)
    scanned: list[int] = []
    with stub:
        answered = athena_records(
            AthenaSettings("mtasts", "tlsrpt"), window, client=client, scanned=scanned.append, sleep=lambda s: None
        )
    stub.assert_no_pending_responses()
    assert len(answered) == len(records) > 3  # more than one page, nothing cut
    ours, theirs = Summary(*WINDOWS[1]), Summary(*WINDOWS[1])
    fill_summary(ours, answered)
    fill_summary(theirs, records)
    assert counted(ours) == counted(theirs) == counted(reference(stores[0], *WINDOWS[1]))
    assert scanned == [1234, 1234]


def test_athena_failures_are_one_line_with_athenas_reason(fake_aws_credentials: None) -> None:
    """A FAILED query's reason is the error; a query past the timeout is stopped and said so."""
    client = boto3.client("athena", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q1"})
    failed = {"State": "FAILED", "StateChangeReason": "TABLE_NOT_FOUND: line 5:8: Table 'x' does not exist"}
    stub.add_response("get_query_execution", {"QueryExecution": {"Status": failed}})
    with stub, pytest.raises(MtastsError, match="query q1 failed: TABLE_NOT_FOUND"):
        athena_records(AthenaSettings("w", "d"), Window(None, None), client=client, sleep=lambda s: None)
    stub = Stubber(client)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q2"})
    stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q2"})
    times = iter([0.0, 1000.0])
    with stub, pytest.raises(MtastsError, match=r"query q2 still RUNNING after 600 s; stopped"):
        athena_records(
            AthenaSettings("w", "d"), Window(None, None), client=client, sleep=lambda s: None, clock=lambda: next(times)
        )
    stub.assert_no_pending_responses()


def test_athena_not_configured_says_how_to_configure_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """--engine athena without a workgroup and database: one line naming the setting and options, exit 2."""
    monkeypatch.delenv("MTASTS_ATHENA_WORKGROUP", raising=False)
    monkeypatch.delenv("MTASTS_ATHENA_DATABASE", raising=False)
    result = CliRunner().invoke(main, ["reports", "summarize", "--engine", "athena"])
    assert result.exit_code == 2
    assert "Athena is not configured: set mta-sts:reports.query to athena" in result.output
    assert "(missing: workgroup, database)" in result.output
    assert athena_module.TIMEOUT == 600.0


def test_cli_duckdb_json_equals_python_json(stores: tuple[Path, Path]) -> None:
    """`reports summarize --engine duckdb ROWS --json` prints the domains the Python engine prints from raw files."""
    raw, rows = stores
    args = ["--since", "2026-11-01", "--until", "2026-11-15", "--json"]
    ours = CliRunner().invoke(main, ["reports", "summarize", "--engine", "duckdb", str(rows), *args])
    theirs = CliRunner().invoke(main, ["reports", "summarize", str(raw), *args, "--jobs", "1"])
    assert ours.exit_code == theirs.exit_code == 0, ours.output + theirs.output
    assert json.loads(ours.stdout)["domains"] == json.loads(theirs.stdout)["domains"]


def test_duckdb_without_rows_says_how_to_write_them(tmp_path: Path) -> None:
    """A folder without day= folders is one line pointing at `reports backfill`, exit 2."""
    result = CliRunner().invoke(main, ["reports", "summarize", "--engine", "duckdb", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no rows" in result.output
    assert "mtasts reports backfill" in result.output


def test_fill_summary_reads_text_and_typed_values_alike() -> None:
    """Athena's text values and DuckDB's typed ones fill the same counters; failure details feed status."""
    typed = [
        ("by_day", "a.example", "2026-11-01", None, None, None, 5, 2, None, None, None, None),
        ("by_organization", "a.example", None, "o", None, None, 5, 2, None, None, None, None),
        ("by_policy_type", "a.example", None, None, None, None, 5, 2, "sts", None, None, None),
        ("failures", "a.example", "2026-11-01", "o", "certificate-expired", "", 2, 0, "sts", "192.0.2.1", "", "x"),
        ("reports", None, None, None, None, None, 1, 1, None, None, None, None),
    ]
    text = [tuple(None if v is None else str(v) for v in r) for r in typed]
    one, two = Summary(), Summary()
    details: Counter[tuple[str, str, str, str, str]] = Counter()
    fill_summary(one, typed, details)
    fill_summary(two, text)
    assert one.to_dict() == two.to_dict()
    assert one.domains["a.example"].by_mx["(all MX)"] == {"successful": 5, "failed": 2}
    assert details == {("a.example", "2026-11-01", "o", "certificate-expired", "(all MX)"): 2}
    (row,) = one.domains["a.example"].failure_details
    assert (row["sending_mta_ip"], row["failure_reason_code"], row["organizations"]) == ("192.0.2.1", "x", {"o": 2})
    assert one.domains["a.example"].by_policy_type == {"sts": {"successful": 5, "failed": 2}}
