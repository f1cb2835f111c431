"""Reports from a real generator: tlsrpt-reporter's collectd → fetcher → reportd pipeline, run in-process.

collectd receives the per-session datagrams an MTA sends, the fetcher reads the finished day back out of its
database, and reportd renders the RFC 8460 report it would mail or POST. The kit and parsedmarc must read
those reports and count exactly the sessions that went in.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sqlite3
from typing import Any

import pytest
from parsedmarc import parse_smtp_tls_report_json
from tlsrpt_reporter import tlsrpt as generator

from mtasts.tlsrpt.aggregate import Summary

DOMAIN = "example.com"
RECORD = "v=TLSRPTv1; rua=mailto:tls-reports@example.com"
POLICY = {
    "policy-type": 2,  # sts, in the collectd datagram protocol
    "policy-string": ["version: STSv1", "mode: testing", "mx: mx1.example.com", "max_age: 86400"],
    "policy-domain": DOMAIN,
    "mx-host": ["mx1.example.com"],
}


def datagram(failure_code: int | None) -> dict[str, Any]:
    """One delivery attempt as an MTA reports it to collectd; 204 = certificate-expired, 201 = no STARTTLS."""
    failures = [] if failure_code is None else [{"c": failure_code, "n": "mx1.example.com", "s": "192.0.2.25"}]
    policy = {**POLICY, "f": failure_code is not None, "t": len(failures), "failure-details": failures}
    return {"dpv": "1", "d": DOMAIN, "pr": RECORD, "policies": [policy]}


def config(named_tuple: Any, options: dict[str, Any], **values: Any) -> Any:
    defaults = {name: spec["default"] for name, spec in options.items() if name in named_tuple._fields}
    return named_tuple(**{**dict.fromkeys(named_tuple._fields, ""), **defaults, **values})


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Run the generator on 50 sessions: 40 good, 7 expired certificates, 3 without STARTTLS."""
    logging.getLogger("tlsrpt_reporter").setLevel(logging.CRITICAL)
    folder = tmp_path_factory.mktemp("tlsrpt-reporter")
    url = f"sqlite://{folder / 'collectd.sqlite'}"
    collectd = generator.TLSRPTCollectdSQLite(
        url, config(generator.ConfigCollectd, generator.options_collectd, storage=url)
    )
    for code in [None] * 40 + [204] * 7 + [201] * 3:
        collectd.add_datagram(datagram(code))
    collectd.switch_to_next_day(generator.RolloverReason.MANUALLYINDUCED)  # finish "yesterday" now
    day = str(generator.tlsrpt_utc_date_yesterday())

    fetcher = generator.TLSRPTFetcherSQLite(
        url, config(generator.ConfigFetcher, generator.options_fetcher, storage=url)
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fetcher.fetch_domain_details(day, DOMAIN)
    details = json.loads(out.getvalue())

    reportd = generator.TLSRPTReportd(
        config(
            generator.ConfigReportd,
            generator.options_reportd,
            dbname=str(folder / "reportd.sqlite"),
            fetchers="unused-fetcher-command",
            organization_name="Generator Test Org",
            contact_info="postmaster@sender.example",
            sender_address="tlsrpt@sender.example",
        )
    )
    with sqlite3.connect(folder / "reportd.sqlite") as db:
        db.execute(
            "INSERT INTO reportdata (day, domain, data, fetcher, fetcherindex, retries, status) "
            "VALUES (?, ?, ?, 'in-process', 1, 0, 'fetched')",
            (day, DOMAIN, json.dumps(details["policies"])),
        )
    reportd.create_report_for(day, DOMAIN)
    with sqlite3.connect(folder / "reportd.sqlite") as db:
        reports = [row[0].encode() for row in db.execute("SELECT report FROM reports")]
    assert reports, "the generator produced no report"
    return reports


def test_kit_counts_every_generated_session(generated: list[bytes]) -> None:
    """The kit accepts the generator's report and counts 40 successful and 10 failed sessions by result type."""
    summary = Summary()
    for index, data in enumerate(generated):
        summary.read(f"generated-{index}", data)
    assert summary.rejected == []
    d = summary.domains[DOMAIN].to_dict()
    assert (d["successful_sessions"], d["failed_sessions"]) == (40, 10)
    assert d["by_result_type"] == {"certificate-expired": 7, "starttls-not-supported": 3}
    assert d["by_organization"] == {"Generator Test Org": {"successful": 40, "failed": 10}}
    assert d["by_mx"]["mx1.example.com"] == {"successful": 0, "failed": 10}


def test_parsedmarc_agrees_on_the_generated_report(generated: list[bytes]) -> None:
    """parsedmarc reads the same counts from the same bytes."""
    (policy,) = parse_smtp_tls_report_json(generated[0])["policies"]
    assert (policy["successful_session_count"], policy["failed_session_count"]) == (40, 10)
