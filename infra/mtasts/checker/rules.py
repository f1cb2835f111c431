"""One function per rule a sender applies to a domain, each adding its rows to the domain's report.

TXT record (RFC 8461 §3.1), policy fetch and syntax (§3.2, §3.3), drift from the plan, MX coverage (§4.1),
STARTTLS (§4.2, RFC 3207), certificates' days left, TLS-RPT (RFC 8460 §3) and delegation CNAMEs. Parsing is the
policy core's (:mod:`mtasts.policy`, :mod:`mtasts.records`, :func:`mtasts.names.mx_matches`): the checker
reads DNS and HTTPS exactly as the kit renders them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dns.exception

from ..errors import RecordError
from ..plan import DomainPlan
from ..policy import Policy, parse_policy, policy_id
from ..records import (
    STS_PREFIX,
    TLSRPT_PREFIX,
    parse_sts_record,
    parse_tlsrpt_record,
    select_record,
    sts_record_name,
)
from .certs import expiry
from .net import FetchError, MxAnswer, NoAddressError, TlsSession
from .result import DomainReport, Status, live_mx, uncovered_mx
from .steps import Done, Outcome, Run

__all__ = [
    "check_certificate",
    "check_delegation",
    "check_drift",
    "check_mx_coverage",
    "check_policy",
    "check_starttls",
    "check_sts_record",
    "check_tlsrpt",
    "mx_hosts",
]


def check_sts_record(report: DomainReport, run: Run, outcome: Outcome | Done, name: str) -> tuple[str | None, bool]:
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


def check_policy(report: DomainReport, run: Run, outcome: Outcome | Done) -> tuple[bytes | None, Policy | None]:
    """Rows ``policy-fetch`` and ``policy-syntax`` (RFC 8461 §3.2, §3.3); the body and the policy, when read."""
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
    check_certificate(report, run, f"mta-sts.{report.domain}", response.certificate_not_after)
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


def check_drift(
    report: DomainReport, run: Run, expected: DomainPlan, live_id: str | None, txt_found: bool, body: bytes | None
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


def mx_hosts(run: Run, domain: str, outcome: Outcome | Done) -> tuple[MxAnswer | None, list[str], str]:
    """The MX answer (``None`` when the resolver failed), the hosts senders use, and how they were found."""
    try:
        answer: MxAnswer = outcome.get()
    except dns.exception.DNSException as exc:
        run.resolver_failed("mx-coverage", exc)
        return None, [], ""
    hosts, how = live_mx(domain, answer)
    return answer, hosts, how


def check_mx_coverage(
    report: DomainReport, domain: str, answer: MxAnswer, hosts: list[str], how: str, reference: Policy | None
) -> None:
    """Row ``mx-coverage``: every live MX host matches a pattern of the policy (RFC 8461 §4.1)."""
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


def check_certificate(report: DomainReport, run: Run, host: str, not_after: dt.datetime | None) -> None:
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


def check_starttls(report: DomainReport, run: Run, sessions: list[tuple[str, Outcome]]) -> None:
    """A ``starttls:<mx>`` row per MX session (RFC 8461 §4.2), and its certificate's days left."""
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
            check_certificate(report, run, host, session.certificate_not_after)


def check_tlsrpt(
    report: DomainReport, run: Run, outcome: Outcome | Done, name: str, expected: DomainPlan | None
) -> None:
    """Row ``tlsrpt-record``: the ``_smtp._tls`` record (RFC 8460 §3), and whether it is the planned one."""
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


def check_delegation(report: DomainReport, run: Run, expected: DomainPlan, outcomes: list[Done]) -> bool:
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
