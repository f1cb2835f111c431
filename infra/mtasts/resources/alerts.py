"""The stack's alarms, declared by the program when ``mta-sts:alerts`` names a destination (docs/alerts.md).

An SNS topic with the email and HTTPS subscriptions, and CloudWatch alarms on the report endpoint's ingestion
metrics (:mod:`mtasts.tlsrpt.metrics`, namespace ``mtasts/<project>-<stack>``), each notifying the topic when it
fires and when it clears:

* ``fleet-failure-rate`` — metric math over the fleet metrics, ``IF(ok + failed >= min_sessions,
  failed / (ok + failed), 0)`` per hour, above ``fleet_failure_rate``: one alarm whatever the number of domains;
* ``reports-stopped`` — no report at all for a day (``Reports`` < 1 over 86,400 s, missing data breaching);
* per enforce domain, for the first ``baseline_domains`` in name order and only with ``per_domain_metrics``:
  ``failures-<domain>``, the domain's hourly ``FailedSessions`` above the upper edge of its anomaly detection band
  (its own baseline, learned from up to two weeks of its history), and ``reports-stopped-<domain>``.

Why anomaly detection for the per-domain baseline, and why it is capped, with the quotas
(CloudWatch service quotas; "Alarms on Metrics Insights queries" limits):

* a metric math alarm cannot see a baseline: every metric of it has the same period, and period × evaluation
  periods is at most one day (86,400 s, not adjustable), so "this hour against the last two weeks" cannot be
  written; at most 10 metrics per metric math alarm;
* a Metrics Insights alarm evaluates only the last 3 hours of data, and TLS-RPT reports arrive once a day, so it
  has nothing to compare with; and 200 such alarms per Region;
* Contributor Insights ranks contributors against an absolute value, with no per-contributor history;
* anomaly detection trains a model on the metric's own history (daily and weekly patterns included), which is
  the "own recent baseline" asked for. Its quota is 500 models per Region and account, and it costs three alarm
  metrics per alarm; so the kit caps the per-domain alarms at ``baseline_domains`` (default 100, at most 450).

Counts: 2 fleet alarms + 2 per watched domain (0 to 900); 1 topic; a subscription per destination. The monthly
cost at 10 and 10,000 domains is in docs/alerts.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

__all__ = ["Alerts", "AlertsArgs", "alarm_count", "watched_domains"]

#: Sessions are summed per hour for the failure alarms: "within the hour".
HOUR = 3600
#: Reports are counted per day for the reports-stopped alarms (the longest window: period × evaluation periods is
#: at most 86,400 s).
DAY = 86_400
#: Longest domain part of a resource name (an alarm name may be 255 characters; Pulumi adds 8).
MAX_NAME_PART = 180


@dataclass(frozen=True)
class AlertsArgs:
    """What the alarms watch and where they go."""

    namespace: str
    """The ingestion metrics' namespace (``mtasts/<project>-<stack>``)."""
    email: tuple[str, ...] = ()
    """Addresses subscribed to the topic (each confirms once, from the mail SNS sends)."""
    https: tuple[str, ...] = ()
    """HTTPS endpoints subscribed to the topic (each confirms once, answering SNS's subscription request)."""
    fleet_failure_rate: float = 0.01
    """Fraction of an hour's sessions failed at which the fleet alarm fires."""
    min_sessions: int = 100
    """Fewer sessions in an hour count as a rate of 0."""
    baseline_domains: tuple[str, ...] = ()
    """Enforce domains with their own alarms (:func:`watched_domains`)."""


def watched_domains(enforce: Sequence[str], per_domain_metrics: bool, limit: int) -> tuple[str, ...]:
    """The enforce domains that get their own alarms: the first ``limit`` in name order, none without metrics."""
    if not per_domain_metrics:
        return ()
    return tuple(sorted(enforce)[:limit])


def alarm_count(watched: int) -> int:
    """Alarms declared: the two fleet alarms and two per watched domain."""
    return 2 + 2 * watched


def _part(domain: str) -> str:
    if len(domain) <= MAX_NAME_PART:
        return domain
    return domain[: MAX_NAME_PART - 9] + "-" + hashlib.sha256(domain.encode()).hexdigest()[:8]


class Alerts(pulumi.ComponentResource):
    """SNS topic, subscriptions and alarms on the ingestion metrics."""

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mtasts:index:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(f"{name}-topic", opts=child)
        for index, address in enumerate(args.email):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}", topic=self.topic.arn, protocol="email", endpoint=address, opts=child
            )
        for index, url in enumerate(args.https):
            aws.sns.TopicSubscription(
                f"{name}-https-{index}", topic=self.topic.arn, protocol="https", endpoint=url, opts=child
            )
        actions = [self.topic.arn]
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []

        def alarm(resource_name: str, description: str, **settings: Any) -> None:
            """One alarm, one evaluation period, notifying the topic when it fires and when it clears."""
            self.alarms.append(
                aws.cloudwatch.MetricAlarm(
                    resource_name,
                    alarm_description=description,
                    evaluation_periods=1,
                    alarm_actions=actions,
                    ok_actions=actions,
                    opts=child,
                    **settings,
                )
            )

        def metric(
            id_: str, metric_name: str, period: int, dimensions: dict[str, str] | None = None, data: bool = False
        ) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=id_,
                return_data=data,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=args.namespace, metric_name=metric_name, period=period, stat="Sum", dimensions=dimensions
                ),
            )

        def reports_stopped(resource_name: str, description: str, dimensions: dict[str, str] | None) -> None:
            """No report in a day (the longest window an alarm has); no data at all counts as none."""
            alarm(
                resource_name,
                description,
                comparison_operator="LessThanThreshold",
                threshold=1,
                treat_missing_data="breaching",
                namespace=args.namespace,
                metric_name="Reports",
                dimensions=dimensions,
                statistic="Sum",
                period=DAY,
            )

        alarm(
            f"{name}-fleet-failure-rate",
            f"More than {args.fleet_failure_rate:.2%} of the TLS sessions reported in an hour failed (hours with "
            f"fewer than {args.min_sessions} sessions ignored). See docs/alerts.md.",
            comparison_operator="GreaterThanThreshold",
            threshold=args.fleet_failure_rate,
            treat_missing_data="notBreaching",
            metric_queries=[
                metric("failed", "FailedSessions", HOUR),
                metric("ok", "SuccessfulSessions", HOUR),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="rate",
                    expression=f"IF((ok + failed) >= {args.min_sessions}, failed / (ok + failed), 0)",
                    label="fleet failure rate",
                    return_data=True,
                ),
            ],
        )
        reports_stopped(
            f"{name}-reports-stopped", "No TLS-RPT report reached the endpoint in a day. See docs/alerts.md.", None
        )
        for domain in args.baseline_domains:
            part = _part(domain)
            dimensions = {"PolicyDomain": domain}
            alarm(
                f"{name}-failures-{part}",
                f"{domain} (enforce): failed TLS sessions in an hour above its own baseline (anomaly detection "
                "band, 2 standard deviations). Senders refuse mail under enforce (RFC 8461 §5).",
                comparison_operator="GreaterThanUpperThreshold",
                threshold_metric_id="band",
                treat_missing_data="notBreaching",
                metric_queries=[
                    metric("failed", "FailedSessions", HOUR, dimensions, data=True),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="band", expression="ANOMALY_DETECTION_BAND(failed, 2)", return_data=True
                    ),
                ],
            )
            reports_stopped(
                f"{name}-reports-stopped-{part}",
                f"{domain} (enforce): no TLS-RPT report in a day; it had reports before enforce "
                "(mta-sts:promotion min_report_days). See docs/alerts.md.",
                dimensions,
            )
        self.register_outputs({"topicArn": self.topic.arn, "alarms": len(self.alarms)})
