"""The alarms `pulumi up` declares from `mta-sts:alerts`, under Pulumi mocks: topic, subscriptions, alarm counts."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from mtasts.alerts.settings import MAX_BASELINE_DOMAINS
from mtasts.config import parse_stack_settings
from mtasts.errors import ConfigError
from mtasts.resources.alerts import Alerts, AlertsArgs, alarm_count, watched_domains
from pulumi_mocks import Mocks, Registration, build, recording, use_mocks

REPORTS = {"endpoint": "tlsrpt.example.net"}
DOMAINS = {
    "a.example": {"mx": ["mx.a.example"], "template": "enforce"},
    "b.example": {"mx": ["mx.b.example"], "template": "enforce"},
    "c.example": {"mx": ["mx.c.example"]},
}
ALERTS = {"email": ["ops@example.net"], "https": ["https://hooks.example.net/mtasts"], "per_domain_metrics": True}
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def of_type(regs: dict[str, Registration], kind: str) -> list[str]:
    return sorted(name for name, reg in regs.items() if reg.type == kind)


def test_program_declares_topic_subscriptions_and_alarms() -> None:
    """Email and https subscriptions, two fleet alarms and two per enforce domain, all children of mtasts-alerts."""
    run = build({"reports": REPORTS, "domains": DOMAINS, "alerts": ALERTS})
    regs, inputs = run.regs, run.mocks.inputs
    assert regs["mtasts-alerts"].type == "mtasts:index:Alerts"
    assert of_type(regs, "aws:sns/topic:Topic") == ["mtasts-alerts-topic"]
    email, https = inputs["mtasts-alerts-email-0"], inputs["mtasts-alerts-https-0"]
    assert (email["protocol"], email["endpoint"]) == ("email", "ops@example.net")
    assert (https["protocol"], https["endpoint"]) == ("https", "https://hooks.example.net/mtasts")
    assert of_type(regs, ALARM) == [
        "mtasts-alerts-failures-a.example",
        "mtasts-alerts-failures-b.example",
        "mtasts-alerts-fleet-failure-rate",
        "mtasts-alerts-reports-stopped",
        "mtasts-alerts-reports-stopped-a.example",
        "mtasts-alerts-reports-stopped-b.example",
    ]
    assert all(regs[name].parent == "mtasts-alerts" for name in of_type(regs, ALARM))


def test_fleet_failure_rate_is_metric_math_in_the_stacks_namespace() -> None:
    """The fleet alarm divides the hour's failed sessions by all sessions, ignoring hours under min_sessions."""
    alerts = {**ALERTS, "fleet_failure_rate": 0.02, "min_sessions": 50}
    inputs = build({"reports": REPORTS, "domains": DOMAINS, "alerts": alerts}).mocks.inputs
    fleet = inputs["mtasts-alerts-fleet-failure-rate"]
    assert (fleet["threshold"], fleet["comparisonOperator"], fleet["evaluationPeriods"]) == (
        0.02,
        "GreaterThanThreshold",
        1,
    )
    queries = {q["id"]: q for q in fleet["metricQueries"]}
    assert queries["rate"]["expression"] == "IF((ok + failed) >= 50, failed / (ok + failed), 0)"
    assert queries["failed"]["metric"] == {
        "namespace": "mtasts/mta-sts-test",
        "metricName": "FailedSessions",
        "period": 3600,
        "stat": "Sum",
    }
    assert len(queries) <= 10  # metric math alarms: at most 10 metrics (CloudWatch quotas)
    stopped = inputs["mtasts-alerts-reports-stopped"]
    assert (stopped["metricName"], stopped["period"], stopped["treatMissingData"]) == ("Reports", 86400, "breaching")
    assert stopped["period"] * stopped["evaluationPeriods"] <= 86400  # the evaluation window quota


def test_per_domain_alarm_uses_the_domains_anomaly_band() -> None:
    """An enforce domain's failures alarm compares its hourly FailedSessions with its anomaly detection band."""
    inputs = build({"reports": REPORTS, "domains": DOMAINS, "alerts": ALERTS}).mocks.inputs
    alarm = inputs["mtasts-alerts-failures-a.example"]
    assert (alarm["comparisonOperator"], alarm["thresholdMetricId"]) == ("GreaterThanUpperThreshold", "band")
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["band"]["expression"] == "ANOMALY_DETECTION_BAND(failed, 2)"
    assert queries["failed"]["metric"]["dimensions"] == {"PolicyDomain": "a.example"}
    assert "mtasts-alerts-failures-c.example" not in inputs  # testing: no alarms of its own


def test_without_per_domain_metrics_only_the_fleet_alarms() -> None:
    """Per-domain alarms need per-domain metrics: without them, just the two fleet alarms."""
    alerts = {"email": ["ops@example.net"]}
    regs = build({"reports": REPORTS, "domains": DOMAINS, "alerts": alerts}).regs
    assert of_type(regs, ALARM) == ["mtasts-alerts-fleet-failure-rate", "mtasts-alerts-reports-stopped"]


def test_no_destination_declares_nothing() -> None:
    """mta-sts:alerts without email or https (certificate thresholds only) declares no topic and no alarm."""
    regs = build({"reports": REPORTS, "domains": DOMAINS, "alerts": {"certificate_warn_days": 20}}).regs
    assert of_type(regs, ALARM) == []
    assert of_type(regs, "aws:sns/topic:Topic") == []


def test_destinations_without_the_report_endpoint_are_refused() -> None:
    """Alarms read the endpoint's metrics: email/https without mta-sts:reports is a config error."""
    with pytest.raises(ConfigError, match="set mta-sts:reports"):
        parse_stack_settings({"domains": DOMAINS, "alerts": {"email": ["ops@example.net"]}})


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"email": ["not-an-address"]}, "'not-an-address' is not an email address"),
        ({"https": ["http://hooks.example.net/"]}, "is not an https:// URL"),
        ({"email": "ops@example.net"}, "expected a list of strings"),
        ({"fleet_failure_rate": 1.5}, "expected a fraction between 0 and 1"),
        ({"baseline_domains": 451}, "from 0 to 450"),
        ({"min_sessions": 0}, "from 1 to 1000000000"),
        ({"per_domain_metrics": "yes"}, "expected true or false"),
    ],
)
def test_alert_keys_are_validated(alerts: dict[str, Any], message: str) -> None:
    """Each alarm key is checked with the rest of the stack, naming the key."""
    with pytest.raises(ConfigError, match=message):
        parse_stack_settings({"domains": DOMAINS, "reports": REPORTS, "alerts": alerts})


def component_alarms(watched: int) -> int:
    """Run the Alerts component alone with ``watched`` domains; the number of alarms it registered."""
    mocks = Mocks()
    use_mocks(mocks)
    seen: dict[str, Registration] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        with recording() as regs:
            domains = tuple(f"d{i:05d}.example" for i in range(watched))
            alerts = Alerts(
                "mtasts-alerts", AlertsArgs(namespace="ns", email=("o@example.net",), baseline_domains=domains)
            )
            seen.update(regs)
        return alerts.topic.arn

    program()
    return len(of_type(seen, ALARM))


@pytest.mark.parametrize("enforce", [99, 100, 101])
def test_alarm_count_at_99_100_101_enforce_domains(enforce: int) -> None:
    """With the default cap of 100, 99 enforce domains get 200 alarms, 100 and 101 get 202 (the 101st none)."""
    watched = watched_domains([f"d{i:05d}.example" for i in range(enforce)], True, 100)
    assert len(watched) == min(enforce, 100)
    assert component_alarms(len(watched)) == alarm_count(len(watched)) == 2 + 2 * min(enforce, 100)


def test_ten_thousand_enforce_domains_stay_within_quotas() -> None:
    """At 10,000 enforce domains: 202 alarms by default, 902 at most, anomaly models under the 500 quota."""
    enforce = [f"d{i:05d}.example" for i in range(10_000)]
    assert alarm_count(len(watched_domains(enforce, True, 100))) == 202
    most = watched_domains(enforce, True, MAX_BASELINE_DOMAINS)
    assert len(most) == 450 < 500  # anomaly detection models: 500 per Region and account
    assert alarm_count(len(most)) == 902
    assert watched_domains(enforce, False, 100) == ()


def test_long_domain_names_keep_alarm_names_under_255() -> None:
    """A 253-character domain still gives an alarm name (resource name + Pulumi's 8) under CloudWatch's 255."""
    label = "a" * 63
    domain = f"{label}.{label}.{label}.{'b' * 53}.example"
    assert len(domain) == 253
    mocks = Mocks()
    use_mocks(mocks)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        alerts = Alerts(
            "mtasts-alerts", AlertsArgs(namespace="ns", https=("https://h.example/",), baseline_domains=(domain,))
        )
        return alerts.topic.arn

    program()
    names = [n for n, t in mocks.types.items() if t == ALARM]
    assert len(names) == 4
    assert all(len(n) + 8 <= 255 for n in names)
