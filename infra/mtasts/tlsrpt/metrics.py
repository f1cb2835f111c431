"""CloudWatch metrics at ingestion, as Embedded Metric Format (EMF) lines in the function's log.

The rua function (:mod:`.receiver`) and the SES mail path print one JSON line per metric group to stdout; the
Lambda runtime ships stdout to CloudWatch Logs, which extracts the metrics ("Specification: Embedded metric
format", CloudWatch User Guide). No ``PutMetricData`` call, no extra permission, no extra latency. Standard
library only, like the handler it ships with.

Metrics, in the namespace :data:`NAMESPACE_ENV` names (``mtasts/<project>-<stack>``, set by the stack):

======================  =====================  ====================================================================
metric                  dimensions             value
======================  =====================  ====================================================================
``Reports``             none; ``PolicyDomain``  1 per newly stored report (a redelivery counts nothing)
``SuccessfulSessions``  none; ``PolicyDomain``  ``total-successful-session-count`` (RFC 8460 §4.4)
``FailedSessions``      none; ``PolicyDomain``  ``total-failure-session-count``
``FailedSessions``      ``ResultType``         ``failed-session-count`` per result type (RFC 8460 §4.3; unknown
                                               types count as ``other``)
``RejectedReports``     ``Reason``             1 per refused request (:data:`REJECT_REASONS`)
======================  =====================  ====================================================================

Dimensions stay bounded: result types and reasons are fixed lists, and ``PolicyDomain`` (only when per-domain
metrics are on, :data:`PER_DOMAIN_ENV`) takes only the stack's own domains, as nothing else is accepted. The cost
at 10 and 10,000 domains is in docs/reports.md ("Metrics").

Each line stays far inside the format's limits (EMF specification: at most 100 metric definitions per directive
and 30 dimension keys per set; a log event of at most 256 KB): 3 metrics and 1 dimension at most, a few hundred
bytes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from .report import RESULT_TYPES, Report

__all__ = [
    "NAMESPACE_ENV",
    "PER_DOMAIN_ENV",
    "REJECT_REASONS",
    "accepted_lines",
    "emit",
    "namespace_for",
    "reason_for",
    "rejected_line",
]

#: Environment variable holding the metrics namespace; no metrics are written when it is unset.
NAMESPACE_ENV = "METRICS_NAMESPACE"
#: Environment variable: ``1`` adds the per-domain metrics (``PolicyDomain`` dimension).
PER_DOMAIN_ENV = "METRICS_PER_DOMAIN"
#: HTTP status of a refused request -> the ``Reason`` dimension.
REJECT_REASONS: dict[int, str] = {
    400: "invalid-report",
    403: "foreign-domain",
    405: "method",
    413: "too-large",
    415: "content-type",
    500: "internal-error",
    503: "unavailable",
}
OTHER = "other"
_KNOWN_TYPES = frozenset(RESULT_TYPES)


def namespace_for(project: str, stack: str) -> str:
    """The stack's metrics namespace: ``mtasts/<project>-<stack>`` (one per stack, so two stacks never mix)."""
    return f"mtasts/{project}-{stack}"


def _line(
    namespace: str,
    dimensions: dict[str, str],
    values: dict[str, int],
    timestamp_ms: int,
    properties: dict[str, str] | None = None,
) -> str:
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [sorted(dimensions)],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
                }
            ],
        },
        **(properties or {}),
        **dimensions,
        **values,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def accepted_lines(
    report: Report,
    namespace: str,
    per_domain: bool,
    timestamp_ms: int,
    source: str = "https",
    domains: Collection[str] | None = None,
) -> list[str]:
    """The EMF lines of one newly stored report: fleet totals, failures by result type, and (optionally) per domain.

    ``source`` (``https`` or ``mail``) is a property of the fleet line, searchable in the log but not a
    dimension, so it costs no metric. Per-domain lines are written only for names in ``domains`` when it is
    given (the mail path stores any report, so only the stack's own domains may become dimension values).
    """
    successful = sum(p.successful for p in report.policies)
    failed = sum(p.failed for p in report.policies)
    totals = {"Reports": 1, "SuccessfulSessions": successful, "FailedSessions": failed}
    lines = [_line(namespace, {}, totals, timestamp_ms, {"Source": source})]
    by_type: dict[str, int] = {}
    for policy in report.policies:
        for failure in policy.failures:
            kind = failure.result_type if failure.result_type in _KNOWN_TYPES else OTHER
            by_type[kind] = by_type.get(kind, 0) + failure.failed_sessions
    lines += [
        _line(namespace, {"ResultType": kind}, {"FailedSessions": count}, timestamp_ms)
        for kind, count in sorted(by_type.items())
    ]
    if per_domain:
        by_domain: dict[str, tuple[int, int]] = {}
        for policy in report.policies:
            name = policy.policy_domain.strip().rstrip(".").lower()
            if domains is not None and name not in domains:
                continue
            ok, bad = by_domain.get(name, (0, 0))
            by_domain[name] = (ok + policy.successful, bad + policy.failed)
        lines += [
            _line(
                namespace,
                {"PolicyDomain": name},
                {"Reports": 1, "SuccessfulSessions": ok, "FailedSessions": bad},
                timestamp_ms,
            )
            for name, (ok, bad) in sorted(by_domain.items())
        ]
    return lines


def reason_for(status: int) -> str | None:
    """The ``Reason`` of a refused request's status; ``None`` for an accepted one (2xx)."""
    if 200 <= status < 300:
        return None
    return REJECT_REASONS.get(status, OTHER)


def rejected_line(reason: str, namespace: str, timestamp_ms: int) -> str:
    """The EMF line of one refused request."""
    return _line(namespace, {"Reason": reason}, {"RejectedReports": 1}, timestamp_ms)


def emit(
    lines_for: Callable[[str, bool, int], Iterable[str]],
    environ: dict[str, str] | None = None,
    write: Callable[[str], Any] = print,
    clock: Callable[[], float] = time.time,
) -> None:
    """Print the lines ``lines_for(namespace, per_domain, timestamp_ms)`` gives, when a namespace is configured.

    Never raises: metrics must not cost a report (an error is one line in the log instead).
    """
    env = os.environ if environ is None else environ
    namespace = env.get(NAMESPACE_ENV, "")
    if not namespace:
        return
    try:
        for line in lines_for(namespace, env.get(PER_DOMAIN_ENV) == "1", int(clock() * 1000)):
            write(line)
    except Exception as exc:  # a metric is never worth a lost report
        write(json.dumps({"metrics_error": f"{type(exc).__name__}: {exc}"[:300]}))
