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

import datetime as dt
import gzip
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "checker"), str(HERE.parent / "tlsrpt")]

from loopback import Loopback  # noqa: E402
from reporter_pipeline import run_reporter  # noqa: E402

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
    _, posts = run_reporter(folder, sessions, ORG)
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
    return world.cli_args()
