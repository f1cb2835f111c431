"""tlsrpt-reporter's collectd → fetcher → reportd pipeline, run in-process: reports from a real generator.

collectd receives the per-session datagrams an MTA sends; the fetcher reads the finished day back out of its
database; reportd renders the RFC 8460 reports and delivers them through its own hook scripts, as in production:
``sendmail_script`` gets each report mail (§5.3) on stdin, ``http_script`` each gzip'd body for the https rua
(§5.4). Here the hooks write to folders. Used by tests/tlsrpt/test_generator.py and tests/fleet/fleetworld.py.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from tlsrpt_reporter import tlsrpt as generator

# tlsrpt_reporter opens a socket pair when imported (its signal wake-up) and never closes it; close it at exit,
# before the interpreter tears modules down, so the run ends without "unclosed socket" warnings.
atexit.register(generator.interrupt_write.close)
atexit.register(generator.interrupt_read.close)

RECORD = "v=TLSRPTv1; rua=mailto:tls-reports@example.net,https://tlsrpt.example.net/v1/report"


def datagram(domain: str, failure_code: int | None) -> dict[str, Any]:
    """One delivery attempt as an MTA reports it to collectd."""
    failures = [] if failure_code is None else [{"c": failure_code, "n": f"mx1.{domain}", "s": "192.0.2.25"}]
    policy = {
        "policy-type": 2,  # sts, in the collectd datagram protocol
        "policy-string": ["version: STSv1", "mode: testing", f"mx: mx1.{domain}", "max_age: 86400"],
        "policy-domain": domain,
        "mx-host": [f"mx1.{domain}"],
        "f": failure_code is not None,
        "t": len(failures),
        "failure-details": failures,
    }
    return {"dpv": "1", "d": domain, "pr": RECORD, "policies": [policy]}


def config(named_tuple: Any, options: dict[str, Any], **values: Any) -> Any:
    defaults = {name: spec["default"] for name, spec in options.items() if name in named_tuple._fields}
    return named_tuple(**{**dict.fromkeys(named_tuple._fields, ""), **defaults, **values})


def run_reporter(
    folder: Path, sessions: dict[str, list[tuple[int | None, int]]], organization: str
) -> tuple[Path, Path]:
    """Run the pipeline once over ``sessions`` (domain -> (failure code or None, count)); its mail and post folders.

    Each domain gets one report, delivered both ways: a mail in ``folder/mails`` and a gzip'd body in
    ``folder/posts``.
    """
    logging.getLogger("tlsrpt_reporter").setLevel(logging.CRITICAL)
    mails, posts = folder / "mails", folder / "posts"
    mails.mkdir()
    posts.mkdir()
    url = f"sqlite://{folder / 'collectd.sqlite'}"
    collectd = generator.TLSRPTCollectdSQLite(
        url, config(generator.ConfigCollectd, generator.options_collectd, storage=url)
    )
    for domain, spec in sessions.items():
        for code, count in spec:
            for _ in range(count):
                collectd.add_datagram(datagram(domain, code))
    collectd.switch_to_next_day(generator.RolloverReason.MANUALLYINDUCED)  # finish "yesterday" now
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
            organization_name=organization,
            contact_info="postmaster@sender.example",
            sender_address="tlsrpt@sender.example",
            sendmail_script=f'cat > "$(mktemp {mails}/mail-XXXXXX.eml)"',
            # reportd appends the rua URI; the hook records the body as curl would have posted it.
            http_script=f"sh -c 'cat > \"$(mktemp {posts}/post-XXXXXX.gz)\"' http-hook",
        )
    )
    with sqlite3.connect(folder / "reportd.sqlite") as db:
        for domain in sessions:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):  # the fetcher speaks JSON on stdout, as to reportd's pipe
                fetcher.fetch_domain_details(day, domain)
            db.execute(
                "INSERT INTO reportdata (day, domain, data, fetcher, fetcherindex, retries, status) "
                "VALUES (?, ?, ?, 'in-process', 1, 0, 'fetched')",
                (day, domain, json.dumps(json.loads(out.getvalue())["policies"])),
            )
    reportd.create_reports()
    with sqlite3.connect(folder / "reportd.sqlite") as db:  # deliver now rather than spread over 10 hours
        db.execute("UPDATE destinations SET nexttry = '2000-01-01 00:00:00'")
    reportd.send_out_reports()
    assert len(list(mails.iterdir())) == len(sessions), "reportd sent no mail"
    assert len(list(posts.iterdir())) == len(sessions), "reportd posted no report"
    return mails, posts
