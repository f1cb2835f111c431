"""Certificate expiry ahead of time: days left on MX (STARTTLS) and policy host certificates, in check and status."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from loopback import Loopback, running
from scenarios import policy_for, serve

from mtasts.alerts.settings import AlertSettings
from mtasts.checker.certs import expiry
from mtasts.cli import main
from mtasts.config import parse_stack_settings

#: Half a day more than the whole days, so that "5 days left" is still 5 when the test runs a little later.
HALF = dt.timedelta(hours=12)
#: domain -> (days left on the MX certificate, days left on the policy host's certificate)
LIFETIMES = {"soon.example": (5, 20), "later.example": (20, 90), "fine.example": (90, 90)}

STACK = "config:\n  mta-sts:domains:\n" + "".join(
    f"    {d}: {{mode: enforce, max_age: 604800, mx: [mx.{d}], rua: ['mailto:tls@{d}']}}\n" for d in LIFETIMES
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    lifetimes: dict[str, dt.timedelta] = {}
    for domain, (mx_days, policy_days) in LIFETIMES.items():
        lifetimes[f"mx.{domain}"] = dt.timedelta(days=mx_days) + HALF
        lifetimes[f"mta-sts.{domain}"] = dt.timedelta(days=policy_days) + HALF
    smtp: dict[str, str | None] = {f"mx.{d}": f"mx.{d}" for d in LIFETIMES}
    with running(str(tmp_path_factory.mktemp("ca")), smtp, lifetimes=lifetimes) as w:
        for domain in LIFETIMES:
            serve(w, domain, policy_for(domain))
        yield w


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def certificates(result: Result) -> dict[str, dict[str, Any]]:
    """``certificate:<host>`` rows of ``mtasts check --json``: host -> status and data."""
    rows = {}
    for domain in json.loads(result.stdout)["domains"]:
        for check in domain["checks"]:
            if check["name"].startswith("certificate:"):
                rows[check["name"].partition(":")[2]] = {"status": check["status"], **check["data"]}
    return rows


def test_check_reports_days_left_on_every_certificate(world: Loopback) -> None:
    """`check --starttls` shows days left on each MX and policy host certificate: 5 fails, 20 warns, 90 passes."""
    result = run("check", "--starttls", "--json", *LIFETIMES, *world.cli_args(timeout=30))
    assert result.exit_code == 1, result.output
    rows = certificates(result)
    assert {host: (row["status"], row["days_left"], row["level"]) for host, row in rows.items()} == {
        "mx.soon.example": ("fail", 5, "action"),
        "mta-sts.soon.example": ("warn", 20, "warn"),
        "mx.later.example": ("warn", 20, "warn"),
        "mta-sts.later.example": ("pass", 90, "ok"),
        "mx.fine.example": ("pass", 90, "ok"),
        "mta-sts.fine.example": ("pass", 90, "ok"),
    }
    not_after = dt.datetime.fromisoformat(rows["mx.soon.example"]["not_after"])
    left = not_after - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=5) < left <= dt.timedelta(days=5) + HALF


def test_check_without_starttls_reports_the_policy_host_only(world: Loopback) -> None:
    """Without --starttls no MX is contacted, and only the policy host's certificate (from the fetch) is judged."""
    result = run("check", "--json", "fine.example", *world.cli_args(timeout=30))
    assert result.exit_code == 0, result.output
    assert list(certificates(result)) == ["mta-sts.fine.example"]


def test_check_text_names_days_left_and_the_rule(world: Loopback) -> None:
    """The terminal row of a certificate at 5 days says so and why it matters (RFC 8461 §4.2, §5)."""
    result = run("check", "--starttls", "soon.example", *world.cli_args(timeout=30))
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "certificate:mx.soon.example" in line)
    assert "expires in 5 day(s)" in line
    assert "fail" in line


def test_threshold_options_override_the_defaults(world: Loopback) -> None:
    """--cert-warn-days 10 --cert-action-days 3: 5 days left only warns, 20 days passes, exit 0."""
    result = run("check", "--starttls", "--json", "soon.example", "--cert-warn-days", "10", "--cert-action-days", "3",
                 *world.cli_args(timeout=30))  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = certificates(result)
    assert rows["mx.soon.example"]["status"] == "warn"
    assert rows["mta-sts.soon.example"]["status"] == "pass"


def test_threshold_options_out_of_order_are_one_line_exit_2(world: Loopback) -> None:
    """An action threshold above the warning threshold is refused before any network access, exit 2."""
    result = run(
        "check", "soon.example", "--cert-warn-days", "3", "--cert-action-days", "5", *world.cli_args(timeout=30)
    )
    assert result.exit_code == 2
    assert "--cert-warn-days/--cert-action-days" in result.output
    assert "Traceback" not in result.output


def test_stack_alerts_setting_sets_the_thresholds(world: Loopback, tmp_path: Path) -> None:
    """`mta-sts:alerts: {certificate_warn_days: 100}` in the stack makes 90 days left a warning in check."""
    stack = tmp_path / "Pulumi.expiry.yaml"
    stack.write_text(STACK + "  mta-sts:alerts:\n    certificate_warn_days: 100\n")
    result = run("check", "--config", str(stack), "--json", "fine.example", *world.cli_args(timeout=30))
    rows = certificates(result)
    assert rows["mta-sts.fine.example"]["status"] == "warn"


def test_status_action_needed_at_7_days_warning_at_30(world: Loopback, tmp_path: Path) -> None:
    """status: MX at 5 days is action-needed naming it; 20 days is a warning, not a verdict; 90 days is silent."""
    stack = tmp_path / "Pulumi.expiry.yaml"
    stack.write_text(STACK)
    result = run("status", "--config", str(stack), "--json", *world.cli_args(timeout=30))
    assert result.exit_code == 1, result.output
    domains = {d["domain"]: d for d in json.loads(result.stdout)["domains"]}
    soon, later, fine = domains["soon.example"], domains["later.example"], domains["fine.example"]
    assert soon["verdict"] == "action-needed"
    (reason,) = [r for r in soon["reasons"] if r.startswith("certificate of mx.soon.example")]
    assert "expires in 5 day(s)" in reason
    assert "RFC 8461 §4.2" in reason
    assert soon["demote"] is None  # renewing the certificate is the fix, not testing mode
    (warning,) = soon["warnings"]
    assert warning.startswith("certificate of mta-sts.soon.example expires in 20 day(s)")
    assert later["verdict"] != "action-needed"
    (warning,) = later["warnings"]
    assert warning.startswith("certificate of mx.later.example expires in 20 day(s)")
    assert fine["warnings"] == []
    hosts = {c["host"]: c["days_left"] for c in fine["live"]["certificates"]}
    assert hosts == {"mta-sts.fine.example": 90, "mx.fine.example": 90}


def test_status_options_override_the_stack(world: Loopback, tmp_path: Path) -> None:
    """status --cert-action-days 3: the MX at 5 days is only a warning, so nothing is action-needed."""
    stack = tmp_path / "Pulumi.expiry.yaml"
    stack.write_text(STACK)
    result = run("status", "--config", str(stack), "--json", "--cert-action-days", "3", *world.cli_args(timeout=30))
    assert result.exit_code == 0, result.output
    domains = {d["domain"]: d for d in json.loads(result.stdout)["domains"]}
    assert any("mx.soon.example expires in 5 day(s)" in w for w in domains["soon.example"]["warnings"])


def test_days_left_rounds_down_and_counts_expired_as_negative() -> None:
    """Days left are whole days rounded down; an expired certificate has negative days and needs action."""
    now = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
    limits = AlertSettings(certificate_warn_days=30, certificate_action_days=7)
    assert expiry("a", now + dt.timedelta(days=7, hours=23), now, limits).days_left == 7
    assert expiry("a", now + dt.timedelta(days=7, hours=23), now, limits).level == "action"
    assert expiry("a", now + dt.timedelta(days=8), now, limits).level == "warn"
    assert expiry("a", now + dt.timedelta(days=31), now, limits).level == "ok"
    gone = expiry("a", now - dt.timedelta(hours=1), now, limits)
    assert (gone.days_left, gone.level) == (-1, "action")
    assert gone.sentence.startswith("certificate of a expired on 2026-01-10")


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"certificate_warn_days": "30"}, "mta-sts:alerts.certificate_warn_days: expected a whole number of days"),
        ({"certificate_action_days": 400}, "from 0 to 398"),
        ({"certificate_warn_days": 5}, "certificate_action_days: 7 is more than certificate_warn_days (5)"),
        ({"certificate_days": 5}, "mta-sts:alerts.certificate_days: unknown key"),
        ([1], "mta-sts:alerts: expected a mapping"),
    ],
)
def test_alerts_setting_is_validated(alerts: object, message: str) -> None:
    """Bad `mta-sts:alerts` values are config problems naming the key."""
    from mtasts.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        parse_stack_settings({"domains": {"a.example": {"mode": "testing", "mx": ["mx.a.example"]}}, "alerts": alerts})
    assert message in str(error.value)


def test_status_table_shows_certificate_warnings(world: Loopback, tmp_path: Path) -> None:
    """The terminal table of `mtasts status` lists a domain's certificate warning under its reasons."""
    stack = tmp_path / "Pulumi.expiry.yaml"
    stack.write_text(STACK)
    result = run("status", "--config", str(stack), *world.cli_args(timeout=30), "--cert-action-days", "3")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "warning: certificate of" in flat
    assert "later.example" in flat


def test_markdown_and_page_show_certificate_warnings(world: Loopback, tmp_path: Path) -> None:
    """The pull-request markdown and the HTML page carry the certificate warning with the reasons."""
    stack = tmp_path / "Pulumi.expiry.yaml"
    stack.write_text(STACK)
    page = tmp_path / "fleet.html"
    result = run("status", "--config", str(stack), "--markdown", "--html", str(page), *world.cli_args(timeout=30))
    assert "warning: certificate of mx.later.example expires in 20 day(s)" in result.output
    assert "<li>warning: certificate of mx.later.example expires in 20 day(s)" in page.read_text()
