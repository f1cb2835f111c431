"""The checks of `mtasts check`, each a pass / warn / fail with a one-line reason.

Parsing is the policy core's (:mod:`mtasts.policy`, :mod:`mtasts.records`,
:func:`mtasts.names.mx_matches`): the checker reads DNS and HTTPS exactly as
the kit renders them.

Why over 400 lines: one short check per rule a sender applies (TXT record, policy fetch and syntax, MX
coverage, STARTTLS, certificates, TLS-RPT), and the one pass that runs them per domain under one deadline.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import dns.exception

from ..alerts.settings import DEFAULTS as ALERT_DEFAULTS
from ..alerts.settings import AlertSettings
from ..errors import RecordError
from ..names import mx_matches
from ..plan import DomainPlan
from ..policy import Policy, parse_policy, policy_id
from ..records import (
    STS_PREFIX,
    TLSRPT_PREFIX,
    parse_sts_record,
    parse_tlsrpt_record,
    select_record,
    sts_record_name,
    tlsrpt_record_name,
)
from .certs import expiry
from .net import Deadline, FetchError, MxAnswer, Network, NoAddressError, ResolverError, TlsSession, mx_answer

__all__ = ["Check", "DomainReport", "SharedSessions", "check_domain", "check_domains", "live_mx", "uncovered_mx"]

#: ``unknown``: the check has no result because a lookup failed (the resolver did not answer); a failed lookup
#: proves nothing about the live records, so it is neither a pass nor a failure.
Status = Literal["pass", "warn", "fail", "pending", "unknown"]
#: Domains checked at once; each check waits on the network, not the CPU.
MAX_PARALLEL = 200
#: MX sessions of one domain (--starttls) run at once, at most this many.
DOMAIN_PARALLEL = 8
#: STARTTLS sessions open at once across the domains of one run that share their sessions (:class:`SharedSessions`).
SHARED_PARALLEL = 200
#: How long past its deadline a domain waits for a step that has not ended (every step ends by itself at the
#: deadline; this only guards against one that does not).
GRACE = 1.0
T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    """One check's result."""

    name: str
    status: Status
    detail: str
    """One line for people; programs read :attr:`data`."""
    data: dict[str, Any] = field(default_factory=dict, compare=False)
    """What the check found, JSON-ready, for programs (the keys per check are listed in docs/check.md)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "status": self.status, "detail": self.detail, "data": self.data}


@dataclass
class DomainReport:
    """Every check of one domain."""

    domain: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No check failed (a pending domain is ok: it waits for its owner, nothing is broken)."""
        return all(c.status != "fail" for c in self.checks)

    @property
    def status(self) -> Literal["pass", "pending", "unknown", "fail"]:
        """``fail``, ``unknown``, ``pending`` or ``pass``, the first that applies to one of the checks.

        ``unknown``: a check could not be read (a lookup failed); ``pending``: one waits for the owner's DNS.
        """
        if not self.ok:
            return "fail"
        if any(c.status == "unknown" for c in self.checks):
            return "unknown"
        return "pending" if any(c.status == "pending" for c in self.checks) else "pass"

    def add(self, name: str, status: Status, detail: str, data: dict[str, Any] | None = None) -> None:
        """Record one result, with what it found for programs (``data``)."""
        self.checks.append(Check(name, status, detail, data or {}))

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of one domain."""
        return {
            "domain": self.domain,
            "ok": self.ok,
            "status": self.status,
            "checks": [c.to_dict() for c in self.checks],
        }


def uncovered_mx(hosts: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """MX hosts that no pattern covers (RFC 8461 §4.1)."""
    return [h for h in hosts if not any(mx_matches(h, p) for p in patterns)]


def live_mx(domain: str, answer: MxAnswer) -> tuple[list[str], str]:
    """The hosts a sender delivers to, and how they were found.

    Without MX records a sender delivers to the domain itself (the implicit MX, RFC 5321 §5.1), and an
    ``enforce`` policy is then checked against that name like any MX host (RFC 8461 §4.1, §5). A null MX
    (RFC 7505) and NXDOMAIN give no host.
    """
    if answer.implicit:
        return [domain], f"no MX records, so senders use the implicit MX {domain} (RFC 5321 §5.1)"
    if answer.null_mx:
        return [], "null MX (RFC 7505): the domain accepts no mail"
    if answer.nxdomain:
        return [], f"{domain} does not exist (NXDOMAIN)"
    return list(answer.hosts), f"{len(answer.hosts)} MX host(s)"


class _Outcome:
    """A step's value or the exception it raised, waited for no longer than the deadline (plus a grace)."""

    def __init__(self, future: Future[Any], deadline: Deadline, owned: bool = True) -> None:
        self._future = future
        self._deadline = deadline
        self._owned = owned  # a step shared with other domains is never cancelled by one of them

    def get(self) -> Any:
        """The value; re-raises the step's exception, :class:`TimeoutError` if it outlived the deadline."""
        try:
            return self._future.result(timeout=self._deadline.left() + GRACE)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            if self._owned:
                self._future.cancel()
            raise TimeoutError(f"not finished within the {self._deadline.seconds:g} s deadline") from None


class _Done:
    """A step that has already run in this thread: its value or the exception it raised."""

    def __init__(self, step: Callable[..., T], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        try:
            self._value = step(*args)
        except Exception as exc:  # re-raised by get(), where each check handles what it expects
            self._error = exc

    def get(self) -> Any:
        """The value; re-raises the step's exception."""
        if self._error is not None:
            raise self._error
        return self._value


class SharedSessions:
    """STARTTLS sessions shared by the domains of one run: one per MX host, whichever domain asks first.

    Hosting providers serve thousands of domains from a few MX hosts; one session per host is faster and polite.
    The session runs under the deadline of the domain that started it, and every domain waits for it no longer
    than its own deadline, so ``--timeout`` still bounds each domain's whole check, STARTTLS included.
    """

    def __init__(self, net: Network, parallel: int = SHARED_PARALLEL) -> None:
        self._net = net
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="mtasts-starttls")
        self._sessions: dict[str, Future[TlsSession]] = {}
        self._lock = threading.Lock()

    def start(self, host: str, deadline: Deadline) -> Future[TlsSession]:
        """The session with ``host``: the one already started, else one started now under ``deadline``."""
        with self._lock:
            future = self._sessions.get(host)
            if future is None:
                future = self._sessions[host] = self._pool.submit(self._net.starttls_session, host, deadline)
            return future

    def close(self) -> None:
        """Stop waiting: sessions still running end by their own deadline."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class _Run:
    """The steps of one domain under its one deadline; resolver failures are collected once."""

    def __init__(
        self, deadline: Deadline, alerts: AlertSettings = ALERT_DEFAULTS, shared: SharedSessions | None = None
    ) -> None:
        self.deadline = deadline
        self.alerts = alerts
        self.shared = shared
        self.pool: ThreadPoolExecutor | None = None  # only for MX sessions, several at once
        self.dns_failures: dict[str, list[str]] = {}  # one message -> the checks it left without a result

    def start(self, step: Callable[..., T], *args: Any) -> _Outcome:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=DOMAIN_PARALLEL, thread_name_prefix="mtasts-check")
        return _Outcome(self.pool.submit(step, *args, self.deadline), self.deadline)

    def session(self, net: Network, host: str) -> _Outcome:
        """The STARTTLS session with ``host``, shared with the run's other domains when they share sessions."""
        if self.shared is None:
            return self.start(net.starttls_session, host)
        return _Outcome(self.shared.start(host, self.deadline), self.deadline, owned=False)

    def now(self, step: Callable[..., T], *args: Any) -> _Done:
        return _Done(step, *args, self.deadline)

    def resolver_failed(self, check: str, exc: ResolverError | dns.exception.DNSException) -> None:
        self.dns_failures.setdefault(str(exc), []).append(check)


def _sts_record(report: DomainReport, run: _Run, outcome: _Outcome | _Done, name: str) -> tuple[str | None, bool]:
    """The live id (None when there is none or it cannot be read) and whether any TXT record is there."""
    try:
        values, canonical = outcome.get()
    except dns.exception.DNSException as exc:
        run.resolver_failed("sts-record", exc)
        return None, False
    via = f" (via CNAME to {canonical})" if canonical.lower() != name else ""
    if not values:
        report.add("sts-record", "fail", f"no TXT record at {name}: senders see no MTA-STS policy")
        return None, False
    try:
        record = parse_sts_record(select_record(values, STS_PREFIX))
    except RecordError as exc:
        report.add("sts-record", "fail", f"{name}: {'; '.join(exc.lines())} (RFC 8461 §3.1)")
        return None, True
    data = {"id": record.id, "name": canonical.lower()}
    if record.warnings:
        report.add("sts-record", "warn", f"id={record.id}{via}; " + "; ".join(str(w) for w in record.warnings), data)
    else:
        report.add("sts-record", "pass", f"id={record.id}{via}", data)
    return record.id, True


def _policy(report: DomainReport, run: _Run, outcome: _Outcome | _Done) -> tuple[bytes | None, Policy | None]:
    try:
        response = outcome.get()
    except dns.exception.DNSException as exc:
        run.resolver_failed("policy-fetch", exc)
        return None, None
    except NoAddressError as exc:
        report.add("policy-fetch", "fail", str(exc), {"host_exists": False})
        return None, None
    except (FetchError, TimeoutError) as exc:
        report.add("policy-fetch", "fail", str(exc))
        return None, None
    media_type = response.content_type.split(";")[0].strip().lower()
    fetched = {
        "http_status": response.status,
        "media_type": media_type,
        "bytes": len(response.body),
        "tls_version": response.tls_version,
    }
    if 300 <= response.status < 400:
        report.add(
            "policy-fetch",
            "fail",
            f"HTTP {response.status} redirect to {response.location or '?'}: senders do not follow it (RFC 8461 §3.3)",
            {**fetched, "location": response.location},
        )
        return None, None
    if response.status != 200:
        report.add("policy-fetch", "fail", f"HTTP {response.status}, not 200 (RFC 8461 §3.3)", fetched)
        return None, None
    if media_type != "text/plain":
        report.add(
            "policy-fetch",
            "fail",
            f"media type {media_type or 'missing'}, not text/plain (RFC 8461 §3.2)",
            fetched,
        )
        return None, None
    detail = f"200 text/plain, {len(response.body)} bytes over {response.tls_version}"
    report.add("policy-fetch", "pass", detail, {**fetched, "id": policy_id(response.body)})
    _certificate(report, run, f"mta-sts.{report.domain}", response.certificate_not_after)
    parsed = parse_policy(response.body)
    if not parsed.ok:
        report.add("policy-syntax", "fail", "; ".join(str(e) for e in parsed.errors))
        return response.body, None
    policy = parsed.unwrap()
    summary = f"mode {policy.mode}, max_age {policy.max_age}, {len(policy.mx)} mx"
    data = {"mode": policy.mode, "max_age": policy.max_age, "mx": list(policy.mx)}
    if parsed.warnings:
        report.add("policy-syntax", "warn", summary + "; " + "; ".join(str(w) for w in parsed.warnings), data)
    else:
        report.add("policy-syntax", "pass", summary, data)
    return response.body, policy


def _drift(
    report: DomainReport, run: _Run, expected: DomainPlan, live_id: str | None, txt_found: bool, body: bytes | None
) -> None:
    """The ``drift`` row: the live id and policy against the plan.

    ``unknown`` when the TXT record or the policy host could not be looked up (a failed lookup proves nothing
    about the live records); ``fail`` with "not deployed" when neither exists yet (no TXT record, and the policy
    host has no address), which ``mtasts status`` calls ``not-deployed`` rather than drift.
    """
    new_id, new_body = expected.policy_id, expected.policy_bytes
    id_ok, body_ok = live_id == new_id, body == new_body
    unread = sorted({c for checks in run.dns_failures.values() for c in checks} & {"sts-record", "policy-fetch"})
    fetch = next((c for c in report.checks if c.name == "policy-fetch"), None)
    deployed = txt_found or not (fetch is not None and fetch.data.get("host_exists") is False)
    data = {
        "planned_id": new_id,
        "live_id": live_id,
        "served_id": policy_id(body) if body is not None else None,
        "id_live": id_ok,
        "policy_equal": body_ok,
        "deployed": deployed if not unread else None,
    }
    if unread:
        report.add(
            "drift",
            "unknown",
            f"could not be read: no result for {', '.join(unread)} (see the dns row); a failed lookup proves "
            "nothing about the live records",
            {
                **data,
                "id_live": None if "sts-record" in unread else id_ok,
                "policy_equal": None if "policy-fetch" in unread else body_ok,
            },
        )
    elif not deployed:
        report.add(
            "drift",
            "fail",
            f"not deployed: no TXT record at {sts_record_name(report.domain)} and no policy host "
            f"mta-sts.{report.domain} yet; deploy the stack (`pulumi up`) to publish id {new_id}",
            data,
        )
    elif id_ok and body_ok:
        report.add("drift", "pass", f"id and policy are what the stack config says ({new_id})", data)
    elif id_ok and body is not None:
        served = data["served_id"]
        report.add(
            "drift",
            "fail",
            f"stale cache: the TXT record announces the new id {new_id} but the policy host serves an older body "
            f"(its hash id is {served}); senders that fetch now cache the old policy under the new id for max_age "
            "(RFC 8461 §8.1). Invalidate the CDN cache",
            data,
        )
    elif body_ok:
        report.add(
            "drift",
            "fail",
            f"the new policy is served but the TXT record still announces id {live_id or 'none'}, not {new_id}: "
            "senders keep the old policy; finish the rollout with `pulumi up`",
            data,
        )
    else:
        report.add(
            "drift", "fail", f"live id {live_id or 'none'} and policy differ from the stack config (id {new_id})", data
        )


def _mx_hosts(run: _Run, domain: str, outcome: _Outcome | _Done) -> tuple[MxAnswer | None, list[str], str]:
    """The MX answer (``None`` when the resolver failed), the hosts senders use, and how they were found."""
    try:
        answer: MxAnswer = outcome.get()
    except dns.exception.DNSException as exc:
        run.resolver_failed("mx-coverage", exc)
        return None, [], ""
    hosts, how = live_mx(domain, answer)
    return answer, hosts, how


def _mx_coverage(
    report: DomainReport, domain: str, answer: MxAnswer, hosts: list[str], how: str, reference: Policy | None
) -> None:
    data: dict[str, Any] = {
        "hosts": list(hosts),
        "uncovered": [],
        "implicit": answer.implicit,
        "null_mx": answer.null_mx,
        "nxdomain": answer.nxdomain,
    }
    if answer.nxdomain:
        report.add("mx-coverage", "fail", f"{how}: senders cannot deliver mail to it", data)
        return
    if answer.null_mx:
        report.add("mx-coverage", "pass", f"{how}; no policy can strand it", data)
        return
    if reference is None:
        report.add("mx-coverage", "warn", f"{how}; no policy to compare them with", {**data, "uncovered": None})
        return
    missing = uncovered_mx(hosts, reference.mx)
    data["uncovered"] = missing
    if not missing:
        report.add("mx-coverage", "pass", f"{how} covered: {', '.join(hosts)}", data)
    elif reference.mode == "enforce":
        report.add(
            "mx-coverage",
            "fail",
            f"MX {', '.join(missing)} not covered by the policy's mx patterns ({how}): senders refuse it in "
            "enforce mode (RFC 8461 §4.1, §5)",
            data,
        )
    elif reference.mode == "testing":
        report.add("mx-coverage", "warn", f"MX {', '.join(missing)} not covered; enforce mode would refuse it", data)
    else:
        detail = f"mode none: MX {', '.join(missing)} not covered, nothing is enforced"
        report.add("mx-coverage", "pass", detail, data)


def _certificate(report: DomainReport, run: _Run, host: str, not_after: dt.datetime | None) -> None:
    """A ``certificate:<host>`` row: days left on a certificate the handshake verified (see :mod:`.certs`)."""
    if not_after is None:
        return
    found = expiry(host, not_after, dt.datetime.now(dt.UTC), run.alerts)
    levels: dict[str, Status] = {"ok": "pass", "warn": "warn", "action": "fail"}
    status = levels[found.level]
    limits = run.alerts
    if found.level == "ok":
        detail = f"{found.sentence}; warning at {limits.certificate_warn_days} days"
    elif found.level == "warn":
        detail = f"{found.sentence}: renew it (warning at {limits.certificate_warn_days} days)"
    else:
        detail = (
            f"{found.sentence}: renew it now (action at {limits.certificate_action_days} days); an expired "
            "certificate fails validation and senders refuse it under enforce (RFC 8461 §4.2, §5)"
        )
    report.add(f"certificate:{host}", status, detail, found.to_dict())


def _starttls(report: DomainReport, run: _Run, sessions: list[tuple[str, _Outcome]]) -> None:
    for host, outcome in sessions:
        try:
            session: TlsSession = outcome.get()
        except dns.exception.DNSException as exc:
            run.resolver_failed(f"starttls:{host}", exc)
        except (FetchError, TimeoutError) as exc:
            report.add(f"starttls:{host}", "fail", str(exc), {"host": host})
        else:
            detail = f"STARTTLS {session.version}, certificate valid for {host}"
            report.add(f"starttls:{host}", "pass", detail, {"host": host, "tls_version": session.version})
            _certificate(report, run, host, session.certificate_not_after)


def _tlsrpt(report: DomainReport, run: _Run, outcome: _Outcome | _Done, name: str, expected: DomainPlan | None) -> None:
    try:
        values, _ = outcome.get()
    except dns.exception.DNSException as exc:
        run.resolver_failed("tlsrpt-record", exc)
        return
    wanted = expected.tlsrpt_record if expected else None
    if not values:
        status: Status = "fail" if wanted else "warn"
        report.add("tlsrpt-record", status, f"no TXT record at {name}: senders send no TLS reports (RFC 8460 §3)")
        return
    try:
        value = select_record(values, TLSRPT_PREFIX)
        record = parse_tlsrpt_record(value)
    except RecordError as exc:
        report.add("tlsrpt-record", "fail", f"{name}: {'; '.join(exc.lines())} (RFC 8460 §3)")
        return
    if wanted is not None and value != wanted.value:
        report.add("tlsrpt-record", "fail", f"{name} is {value!r}, the stack config says {wanted.value!r}")
    elif record.warnings:
        report.add("tlsrpt-record", "warn", "; ".join(str(w) for w in record.warnings), {"rua": list(record.rua)})
    else:
        report.add("tlsrpt-record", "pass", f"rua={','.join(record.rua)}", {"rua": list(record.rua)})


def _delegation(report: DomainReport, run: _Run, expected: DomainPlan, outcomes: list[_Done]) -> bool:
    """One row per CNAME the owner publishes; whether the domain is pending (some missing, none wrong).

    A missing CNAME is ``pending``, not a failure: a ``dns: external`` domain waits for its owner, and what the
    kit serves behind the CNAMEs cannot be seen until they exist. A CNAME pointing elsewhere is a failure.
    """
    missing, wrong = 0, 0
    for record, outcome in zip(expected.delegation, outcomes, strict=True):
        check = f"delegation:{record.name}"
        try:
            target = outcome.get()
        except dns.exception.DNSException as exc:
            run.resolver_failed(check, exc)
            wrong += 1  # unknown: do not call the domain pending on a guess
            continue
        data = {"name": record.name, "target": target, "expected": record.value}
        if target == record.value:
            report.add(check, "pass", f"CNAME to {record.value}", data)
        elif target is None:
            missing += 1
            report.add(check, "pending", f"not published yet: the owner must publish CNAME {record.value}", data)
        else:
            wrong += 1
            report.add(check, "fail", f"CNAME to {target}; the owner must publish CNAME {record.value}", data)
    return missing > 0 and wrong == 0


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
    run = _Run(deadline, alerts, shared)
    try:
        delegation_names = [r.name for r in expected.delegation] if expected is not None and expected.external else []
        sts_name, tlsrpt_name = sts_record_name(domain), tlsrpt_record_name(domain)
        questions = [(n, "CNAME") for n in delegation_names] + [(sts_name, "TXT"), (domain, "MX"), (tlsrpt_name, "TXT")]
        batch = net.send_questions(questions, deadline)
        # With --starttls the fetch gets a thread of its own, so that a slow policy host does not hold back the MX
        # sessions, which start once the MX answer is in; without, this thread fetches while the answers arrive.
        fetch = run.start(net.fetch_policy, domain) if starttls else run.now(net.fetch_policy, domain)
        answers = batch.answers()
        delegation = [_Done(net.cname_target, a) for a in answers[: len(delegation_names)]]
        sts_answer, mx_raw, tlsrpt_answer = answers[len(delegation_names) :]
        sts = _Done(net.txt_values, sts_name, sts_answer)
        mx = _Done(mx_answer, mx_raw)
        tlsrpt = _Done(net.txt_values, tlsrpt_name, tlsrpt_answer)
        answer, hosts, how = _mx_hosts(run, domain, mx)
        sessions = [(host, run.session(net, host)) for host in hosts] if starttls else []

        pending = expected is not None and expected.external and _delegation(report, run, expected, delegation)
        policy: Policy | None = None
        if pending:
            report.add(
                "live",
                "pending",
                "sts-record, policy-fetch, drift and tlsrpt-record are checked once the owner publishes the CNAMEs",
            )
        else:
            live_id, txt_found = _sts_record(report, run, sts, sts_name)
            body, policy = _policy(report, run, fetch)
            if expected is not None:
                _drift(report, run, expected, live_id, txt_found, body)
        if answer is not None:
            # the live policy when there is one; the stack's while pending (what publishing the CNAMEs will enforce)
            reference = policy or (expected.policy if expected else None)
            _mx_coverage(report, domain, answer, hosts, how, reference)
        _starttls(report, run, sessions)
        if not pending:
            _tlsrpt(report, run, tlsrpt, tlsrpt_name, expected)
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
