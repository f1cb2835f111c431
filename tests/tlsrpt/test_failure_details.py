"""Every failing source visible: the failure-detail breakdown, per-day failures, small counts (issue 17)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from real_senders import DOMAIN, as_bytes, google_no_policy, google_sts, microsoft

from mtasts.cli import main
from mtasts.tlsrpt.aggregate import Summary, success_rate
from mtasts.tlsrpt.charts import sparkline
from mtasts.tlsrpt.html import render_html


def corpus(tmp_path: Path) -> Path:
    for name, doc in (("g", google_sts()), ("n", google_no_policy()), ("m", microsoft())):
        (tmp_path / f"{name}.json").write_bytes(as_bytes(doc))
    return tmp_path


def test_json_breaks_failures_down_by_path_with_organizations_and_days(tmp_path: Path) -> None:
    """Each failing path (result type × policy × MX × sending IP × receiving IP × reason) has its count and senders."""
    result = CliRunner().invoke(main, ["reports", "summarize", str(corpus(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    (domain,) = json.loads(result.stdout)["domains"]
    assert domain["failure_details"] == [
        {
            "policy_type": "sts",
            "result_type": "certificate-expired",
            "receiving_mx": f"mx2.mx.{DOMAIN}",
            "sending_mta_ip": "",
            "receiving_ip": "192.0.2.25",
            "failure_reason_code": "X509_V_ERR_CERT_HAS_EXPIRED",
            "failed_sessions": 16,
            "organizations": {"Google Inc.": 16},
        },
        {
            "policy_type": "sts",
            "result_type": "sts-policy-fetch-error",
            "receiving_mx": "(all MX)",
            "sending_mta_ip": "",
            "receiving_ip": "",
            "failure_reason_code": "",
            "failed_sessions": 3,
            "organizations": {"Microsoft Corporation": 3},
        },
        {
            "policy_type": "sts",
            "result_type": "sts-policy-fetch-error",
            "receiving_mx": "(all MX)",
            "sending_mta_ip": "",
            "receiving_ip": "",
            "failure_reason_code": "no-policy-served",
            "failed_sessions": 1,
            "organizations": {"Google Inc.": 1},
        },
    ]
    assert domain["failures_by_day"] == {
        "2024-03-26": {"sts-policy-fetch-error": 3},
        "2024-09-03": {"certificate-expired": 16, "sts-policy-fetch-error": 1},
    }
    assert domain["by_policy_type"] == {
        "no-policy-found": {"successful": 48, "failed": 0},
        "sts": {"successful": 27002, "failed": 20},
        "tlsa": {"successful": 2, "failed": 0},
    }


def test_terminal_shows_the_breakdown_small_failures_and_no_rate_per_mx(tmp_path: Path) -> None:
    """An MX row has no 0.00% rate (successes are not reported per MX); every failing path is listed."""
    (tmp_path / "g.json").write_bytes(as_bytes(google_sts()))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "100.00%" not in out
    assert "0.00%" not in out
    assert re.search(rf"^{re.escape(DOMAIN)}\s+27000\s+17\s+99\.94%$", out, re.MULTILINE)
    mx_row = next(line for line in out.splitlines() if line.startswith("receiving MX") and "mx2" in line)
    assert mx_row.split()[-3:] == ["-", "16", "-"]
    assert f"{DOMAIN}: failure details" in out
    detail = next(line for line in out.splitlines() if "X509_V_ERR_CERT_HAS_EXPIRED" in line)
    assert detail.split() == [
        "certificate-expired",
        "sts",
        f"mx2.mx.{DOMAIN}",
        "-",
        "192.0.2.25",
        "X509_V_ERR_CERT_HAS_EXPIRED",
        "16",
        "Google",
        "Inc.",
        "(16)",
    ]
    assert re.search(r"^2024-09-03\s+certificate-expired\s+16$", out, re.MULTILINE)


def test_no_empty_tables_for_a_domain_without_failures(tmp_path: Path) -> None:
    """A domain with no failures gets no failure tables in the terminal or on the page, rather than empty ones."""
    (tmp_path / "n.json").write_bytes(as_bytes(google_no_policy()))
    out = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path)]).stdout
    assert "failure details" not in out
    assert "failures per UTC day" not in out
    summary = Summary()
    summary.read("n.json", as_bytes(google_no_policy()))
    page = render_html(summary)
    assert "<tbody></tbody>" not in page
    assert "Failure details" not in page
    assert "Failures by result type" not in page


def test_page_has_the_breakdown_and_shows_small_failures_in_red() -> None:
    """The page lists every failing path, per-day failures, red failed counts and a visible sparkline mark."""
    summary = Summary()
    summary.read("g.json", as_bytes(google_sts()))
    page = render_html(summary)
    assert "Failure details" in page
    assert "X509_V_ERR_CERT_HAS_EXPIRED" in page
    assert "192.0.2.25" in page
    assert "Failures per UTC day by result type" in page
    assert '<td class="n fail">17</td>' in page
    assert "0.00%" not in page.replace("99.94%", "")
    svg = sparkline({"2024-09-03": (27000, 17)})
    (red,) = re.findall(r'height="([0-9.]+)" fill="#d62728"', svg)
    assert float(red) >= 2.0


def test_success_rate_text() -> None:
    """No sessions: "-"; one failure in 27,001 sessions is ">99.99%", never a clean-looking 100.00%."""
    assert [success_rate(0, 0), success_rate(27000, 1), success_rate(1, 1), success_rate(5, 0)] == [
        "-",
        ">99.99%",
        "50.00%",
        "100.00%",
    ]
