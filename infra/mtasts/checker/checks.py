"""The checks of `mtasts check`, each a pass / warn / fail with a one-line reason.

Parsing is the policy core's (:mod:`mtasts.policy`, :mod:`mtasts.records`,
:func:`mtasts.names.mx_matches`): the checker reads DNS and HTTPS exactly as
the kit renders them.

This module runs them: :func:`check_domain` for one domain under one deadline, :func:`check_domains` for many
at once. The rules are in :mod:`.rules`, the steps and their deadline in :mod:`.steps`, the results in
:mod:`.result`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ..alerts.settings import DEFAULTS as ALERT_DEFAULTS
from ..alerts.settings import AlertSettings
from ..plan import DomainPlan
from ..policy import Policy
from ..records import (
    sts_record_name,
    tlsrpt_record_name,
)
from .net import Network, mx_answer
from .result import Check, DomainReport, Status, live_mx, uncovered_mx
from .rules import (
    check_delegation,
    check_drift,
    check_mx_coverage,
    check_policy,
    check_starttls,
    check_sts_record,
    check_tlsrpt,
    mx_hosts,
)
from .steps import MAX_PARALLEL, Done, Run, SharedSessions

__all__ = [
    "Check",
    "DomainReport",
    "SharedSessions",
    "Status",
    "check_domain",
    "check_domains",
    "live_mx",
    "uncovered_mx",
]


def check_domain(
    domain: str,
    net: Network,
    expected: DomainPlan | None = None,
    starttls: bool = False,
    alerts: AlertSettings = ALERT_DEFAULTS,
    shared: SharedSessions | None = None,
) -> DomainReport:
    """Run every check for one domain, as a sender would see it, within one deadline of ``net.timeout`` seconds.

    The DNS questions go out at once (one socket, :meth:`Network.send_questions`), the policy is fetched while
    their answers arrive, and the MX sessions run concurrently (with the fetch, too); each step is bounded by the
    domain's deadline, so the whole check ends within it (plus :data:`GRACE`) whatever the servers do. Resolver
    failures are reported once per distinct failure (check ``dns``), naming the checks left without a result.
    Each certificate a handshake verified gets a ``certificate:<host>`` row judged by ``alerts``' thresholds.
    With ``shared``, MX sessions are shared with the other domains of the run (:class:`SharedSessions`).
    """
    report = DomainReport(domain)
    deadline = net.deadline()
    run = Run(deadline, alerts, shared)
    try:
        delegation_names = [r.name for r in expected.delegation] if expected is not None and expected.external else []
        sts_name, tlsrpt_name = sts_record_name(domain), tlsrpt_record_name(domain)
        questions = [(n, "CNAME") for n in delegation_names] + [(sts_name, "TXT"), (domain, "MX"), (tlsrpt_name, "TXT")]
        batch = net.send_questions(questions, deadline)
        # With --starttls the fetch gets a thread of its own, so that a slow policy host does not hold back the MX
        # sessions, which start once the MX answer is in; without, this thread fetches while the answers arrive.
        fetch = run.start(net.fetch_policy, domain) if starttls else run.now(net.fetch_policy, domain)
        answers = batch.answers()
        delegation = [Done(net.cname_target, a) for a in answers[: len(delegation_names)]]
        sts_answer, mx_raw, tlsrpt_answer = answers[len(delegation_names) :]
        sts = Done(net.txt_values, sts_name, sts_answer)
        mx = Done(mx_answer, mx_raw)
        tlsrpt = Done(net.txt_values, tlsrpt_name, tlsrpt_answer)
        answer, hosts, how = mx_hosts(run, domain, mx)
        sessions = [(host, run.session(net, host)) for host in hosts] if starttls else []

        pending = expected is not None and expected.external and check_delegation(report, run, expected, delegation)
        policy: Policy | None = None
        if pending:
            report.add(
                "live",
                "pending",
                "sts-record, policy-fetch, drift and tlsrpt-record are checked once the owner publishes the CNAMEs",
            )
        else:
            live_id, txt_found = check_sts_record(report, run, sts, sts_name)
            body, policy = check_policy(report, run, fetch)
            if expected is not None:
                check_drift(report, run, expected, live_id, txt_found, body)
        if answer is not None:
            # the live policy when there is one; the stack's while pending (what publishing the CNAMEs will enforce)
            reference = policy or (expected.policy if expected else None)
            check_mx_coverage(report, domain, answer, hosts, how, reference)
        check_starttls(report, run, sessions)
        if not pending:
            check_tlsrpt(report, run, tlsrpt, tlsrpt_name, expected)
    finally:
        if run.pool is not None:
            run.pool.shutdown(wait=False, cancel_futures=True)
    at = sum(1 for c in report.checks if c.name.startswith("delegation:"))
    for message, checks in run.dns_failures.items():
        detail = f"{message}; no result for {', '.join(checks)}"
        report.checks.insert(at, Check("dns", "unknown", detail, {"error": message, "checks": checks}))
        at += 1
    return report


def check_domains(
    domains: Sequence[str],
    net: Network,
    expected: dict[str, DomainPlan] | None = None,
    starttls: bool = False,
    parallel: int = MAX_PARALLEL,
    alerts: AlertSettings = ALERT_DEFAULTS,
    share_sessions: bool = False,
) -> list[DomainReport]:
    """Check many domains concurrently (bounded), in the order given; each domain has its own deadline.

    ``share_sessions``: one STARTTLS session per distinct MX host for the whole run (:class:`SharedSessions`).
    """
    expected = expected or {}
    shared = SharedSessions(net) if starttls and share_sessions else None
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(domains)))) as pool:
            futures = [pool.submit(check_domain, d, net, expected.get(d), starttls, alerts, shared) for d in domains]
            return [f.result() for f in futures]
    finally:
        if shared is not None:
            shared.close()
