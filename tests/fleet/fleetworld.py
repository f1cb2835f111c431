"""The fleet's hermetic world: loopback servers and reports from the real TLS-RPT generator.

Loopback DNS/HTTPS/SMTP come from tests/checker/loopback.py; reports from tlsrpt-reporter, run in-process as
tests/tlsrpt/test_generator.py does.

Five domains, one per scenario of `mtasts status`:

* ``ready.example`` — testing, 14 clean days of reports, one MX with a valid certificate → ready, next enforce;
* ``certexp.example`` — testing, reports show certificate-expired on mx1.certexp.example → hold naming it;
* ``newmx.example`` — enforce, a second live MX (mx2) its policy does not cover → action-needed;
* ``ladder.example`` — enforce at max_age 1 day, 14 clean days → ready, next max_age 1 week;
* ``top.example`` — enforce at the top of the ladder, all green → ok.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "checker"), str(HERE.parent / "tlsrpt")]

from loopback import Loopback  # noqa: E402
from test_generator import config, datagram  # noqa: E402
from tlsrpt_reporter import tlsrpt as generator  # noqa: E402

AS_OF = dt.date(2026, 11, 20)
DAYS = 14
ORG = "Generator Test Org"

#: domain -> (mode, max_age, policy MX hosts, live MX hosts)
DOMAINS: dict[str, tuple[str, int, tuple[str, ...], tuple[str, ...]]] = {
    "ready.example": ("testing", 86400, ("mx1.ready.example",), ("mx1.ready.example",)),
    "certexp.example": ("testing", 86400, ("mx1.certexp.example",), ("mx1.certexp.example",)),
    "newmx.example": ("enforce", 604800, ("mx1.newmx.example",), ("mx1.newmx.example", "mx2.newmx.example")),
    "ladder.example": ("enforce", 86400, ("mx1.ladder.example",), ("mx1.ladder.example",)),
    "top.example": ("enforce", 31557600, ("mx1.top.example",), ("mx1.top.example",)),
}
#: Sessions per day and domain, as the generator's collectd codes: None = success, 204 = certificate-expired.
SESSIONS: dict[str, list[tuple[int | None, int]]] = {
    "ready.example": [(None, 50)],
    "certexp.example": [(None, 43), (204, 7)],
    "newmx.example": [(None, 50)],
    "ladder.example": [(None, 50)],
    "top.example": [(None, 50)],
}

STACK = """\
# Fleet test stack: comments, quoting, flow and block styles must survive `mtasts promote`.
config:
  aws:region: eu-west-1  # Ireland
  mta-sts:domains:
    ready.example:       # first customer
      mode: "testing"
      max_age: 86400
      mx: [mx1.ready.example]
      rua: [mailto:tls@ready.example]
    'certexp.example': {mode: testing, max_age: 86400, mx: [mx1.certexp.example], rua: [mailto:tls@certexp.example]}
    newmx.example:
      template: enforce
      mx:
        - mx1.newmx.example   # mx2 was added to DNS but not here
      rua: [mailto:tls@newmx.example]
    ladder.example:
      mode: enforce
      max_age: 86400 # one day, first step
      mx: [mx1.ladder.example]
      rua: [mailto:tls@ladder.example]
    top.example:
      mode: enforce
      max_age: 31557600
      mx: [mx1.top.example]
      rua: [mailto:tls@top.example]
"""


def generate(folder: Path, sessions: dict[str, list[tuple[int | None, int]]]) -> dict[str, dict[str, Any]]:
    """Run tlsrpt-reporter's collectd → fetcher → reportd once; each domain's RFC 8460 report, as posted."""
    logging.getLogger("tlsrpt_reporter").setLevel(logging.CRITICAL)
    posts = folder / "posts"
    posts.mkdir()
    url = f"sqlite://{folder / 'collectd.sqlite'}"
    collectd = generator.TLSRPTCollectdSQLite(
        url, config(generator.ConfigCollectd, generator.options_collectd, storage=url)
    )
    for domain, spec in sessions.items():
        for code, count in spec:
            for _ in range(count):
                collectd.add_datagram(datagram(domain, code))
    collectd.switch_to_next_day(generator.RolloverReason.MANUALLYINDUCED)
    day = str(generator.tlsrpt_utc_date_yesterday())
    fetcher = generator.TLSRPTFetcherSQLite(
        url, config(generator.ConfigFetcher, generator.options_fetcher, storage=url)
    )
    reportd = generator.TLSRPTReportd(
        config(
            generator.ConfigReportd,
            generator.options_reportd,
            dbname=str(folder / "reportd.sqlite"),
            fetchers="unused-fetcher-command",
            organization_name=ORG,
            contact_info="postmaster@sender.example",
            sender_address="tlsrpt@sender.example",
            sendmail_script="cat > /dev/null",
            http_script=f"sh -c 'cat > \"$(mktemp {posts}/post-XXXXXX.gz)\"' http-hook",
        )
    )
    with sqlite3.connect(folder / "reportd.sqlite") as db:
        for domain in sessions:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                fetcher.fetch_domain_details(day, domain)
            db.execute(
                "INSERT INTO reportdata (day, domain, data, fetcher, fetcherindex, retries, status) "
                "VALUES (?, ?, ?, 'in-process', 1, 0, 'fetched')",
                (day, domain, json.dumps(json.loads(out.getvalue())["policies"])),
            )
    reportd.create_reports()
    with sqlite3.connect(folder / "reportd.sqlite") as db:
        db.execute("UPDATE destinations SET nexttry = '2000-01-01 00:00:00'")
    reportd.send_out_reports()
    reports = {}
    for body in sorted(posts.iterdir()):
        document = json.loads(gzip.decompress(body.read_bytes()))
        reports[document["policies"][0]["policy"]["policy-domain"]] = document
    assert sorted(reports) == sorted(sessions), "the generator did not report every domain"
    return reports


def redate(document: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """The generator's report as if it covered ``day`` (the generator always reports "yesterday")."""
    copy = json.loads(json.dumps(document))
    copy["date-range"] = {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"}
    copy["report-id"] = f"{document['report-id']}-{day}"
    return copy


def network_args(world: Loopback) -> list[str]:
    args = ["--nameserver", world.nameserver, "--ca-file", world.ca_file, "--timeout", "5"]
    for rule in world.connect_to():
        args += ["--connect-to", rule]
    return args
