"""One rollout step per deployment: invalidate every changed policy at once, wait together, verify over HTTPS.

RFC 8461 §8.1 (and §3.1): a sender that sees a new ``id`` fetches the policy and caches it for ``max_age``, so
the new body must be what CloudFront serves *before* the ``_mta-sts`` TXT record changes. The previous design
did that with one blocking invalidation per domain; Pulumi's dynamic-provider host runs four workers
(``ThreadPoolExecutor(max_workers=4)`` in ``pulumi/dynamic/__main__.py``), so a template change across 500
domains waited 500 invalidations, four at a time. Here one resource per stack does, in one worker:

1. start the invalidation of every changed domain at once: one request per dedicated distribution, one per
   tenant of the shared distribution (``CreateInvalidationForDistributionTenant``), each batching its paths,
   never more in flight per distribution than CloudFront allows (3,000 file paths; "Quotas on invalidations");
2. poll them together until each is ``Completed``;
3. fetch each changed policy over HTTPS through CloudFront, with SNI and ``Host`` = ``mta-sts.<domain>``, until
   the served bytes hash to the new id (:func:`mtasts.policy.policy_id` of the body);
4. report per domain the id that is now verified live. Each domain's TXT record takes its value from that
   report, so a domain whose invalidation or fetch failed keeps its previous id (its TXT does not change)
   (a new domain's announces no policy, see mtasts.records.sts_held_back_value) while every other domain goes
   ahead. The program logs the failures as errors, which fails ``pulumi up``
   after everything else was done, and the next run retries just those domains.

The wall time is about one invalidation (CloudFront usually completes them in well under a minute, all in
parallel) plus seconds of verification, whatever the number of domains: bench/bench_rollout.py measures it
against moto and a loopback HTTPS server.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from ..policy import POLICY_PATH, policy_id
from .credentials import AwsSettings
from .sdk import CachedProviderResource

__all__ = ["PolicyRollout", "PolicyRolloutProvider", "RolloutTarget", "run_rollout", "served_policy_id"]

#: Longest wait for all invalidations together, then for all verifications together.
DEFAULT_TIMEOUT_SECONDS = 900.0
#: CloudFront: at most 3,000 file paths in invalidations in progress per distribution ("Quotas on invalidations").
MAX_PATHS_IN_PROGRESS = 3_000
#: A policy is at most 64 KiB (RFC 8461 §3.3 lets senders refuse larger); read at most this much.
MAX_POLICY_BYTES = 65_536
#: Parallel HTTPS verifications.
VERIFY_WORKERS = 32


@dataclass(frozen=True)
class RolloutTarget:
    """One domain as the rollout step sees it."""

    domain: str
    policy_id: str
    """The id the plan wants published."""
    kind: str
    """``distribution`` or ``tenant``."""
    target_id: str
    """The distribution's or the tenant's id."""
    distribution_id: str
    """The distribution whose in-progress limit applies (for a tenant: the multi-tenant distribution)."""
    paths: tuple[str, ...] = (POLICY_PATH,)


@dataclass
class RolloutResult:
    """What one rollout did."""

    published: dict[str, str] = field(default_factory=dict)
    """Per domain, the id verified live now (its TXT value), or the previous one if it failed."""
    failures: dict[str, str] = field(default_factory=dict)
    """Per failed domain, why."""


def served_policy_id(body: bytes) -> str:
    """The id of the served bytes: :func:`mtasts.policy.policy_id`, the same hash the plan announces."""
    return policy_id(body)


def fetch_policy(
    host: str,
    *,
    connect_to: tuple[str, int] | None = None,
    ca_file: str | None = None,
    timeout: float = 10.0,
) -> bytes:
    """GET ``https://<host>/.well-known/mta-sts.txt`` with SNI and Host = ``host``; at most 64 KiB, one deadline.

    ``connect_to`` sends the connection elsewhere while keeping SNI and Host (tests: a loopback server).
    """
    deadline = time.monotonic() + timeout
    address = connect_to or (host, 443)
    context = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection(address, timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        request = (
            f"GET {POLICY_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mtasts-rollout\r\nConnection: close\r\n\r\n"
        )
        tls.sendall(request.encode("ascii"))
        response = http.client.HTTPResponse(tls)
        tls.settimeout(max(0.1, deadline - time.monotonic()))
        response.begin()
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}")
        body = b""
        while len(body) <= MAX_POLICY_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline passed while reading the policy")
            tls.settimeout(remaining)
            chunk = response.read(8192)
            if not chunk:
                break
            body += chunk
        if len(body) > MAX_POLICY_BYTES:
            raise ValueError(f"policy larger than {MAX_POLICY_BYTES} bytes (RFC 8461 §3.3)")
        return body


def _start(client: Any, target: RolloutTarget) -> str:
    batch = {
        "Paths": {"Quantity": len(target.paths), "Items": list(target.paths)},
        # New on every call: CloudFront answers a reference it has seen with the old, completed invalidation.
        "CallerReference": f"mtasts-{target.policy_id[:16]}-{uuid.uuid4().hex}",
    }
    if target.kind == "tenant":
        created = client.create_invalidation_for_distribution_tenant(Id=target.target_id, InvalidationBatch=batch)
    else:
        created = client.create_invalidation(DistributionId=target.target_id, InvalidationBatch=batch)
    return str(created["Invalidation"]["Id"])


def _status(client: Any, target: RolloutTarget, invalidation_id: str) -> str:
    if target.kind == "tenant":
        got = client.get_invalidation_for_distribution_tenant(DistributionTenantId=target.target_id, Id=invalidation_id)
    else:
        got = client.get_invalidation(DistributionId=target.target_id, Id=invalidation_id)
    return str(got["Invalidation"]["Status"]).lower()  # CloudFront says Completed, moto COMPLETED


def run_rollout(
    client: Any,
    targets: list[RolloutTarget],
    previous: Mapping[str, str],
    *,
    fallback: Mapping[str, str] | None = None,
    fetch: Callable[[str], bytes] = fetch_policy,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RolloutResult:
    """Invalidate, wait and verify every target whose id differs from ``previous``; see the module docstring.

    Targets whose id is already in ``previous`` are left alone (their TXT already carries it). A failure of
    one target (an API error, a timeout, wrong bytes) is recorded for that domain only, which keeps publishing
    its id from ``previous``, else from ``fallback``: the id a domain moving to another distribution or tenant
    announced before the move (it is verified again at its new target, but a failure there must not withdraw
    a live policy: its TXT keeps the id senders already hold).
    """
    last_good = {**(fallback or {}), **previous}
    result = RolloutResult()
    changed = [t for t in targets if previous.get(t.domain) != t.policy_id]
    for t in targets:
        if previous.get(t.domain) == t.policy_id:
            result.published[t.domain] = t.policy_id

    def fail(target: RolloutTarget, why: str) -> None:
        result.failures[target.domain] = why
        if target.domain in last_good:
            result.published[target.domain] = last_good[target.domain]

    # 1. Start every invalidation, within each distribution's in-progress path limit (queue the rest).
    queue = list(changed)
    in_flight: dict[str, tuple[RolloutTarget, str]] = {}
    paths_in_progress: dict[str, int] = {}
    deadline = clock() + timeout
    done: list[RolloutTarget] = []
    while queue or in_flight:
        waiting = []
        for target in queue:
            used = paths_in_progress.get(target.distribution_id, 0)
            if used + len(target.paths) > MAX_PATHS_IN_PROGRESS:
                waiting.append(target)
                continue
            try:
                in_flight[target.domain] = (target, _start(client, target))
                paths_in_progress[target.distribution_id] = used + len(target.paths)
            except Exception as exc:  # any API error fails this domain only
                fail(target, f"CloudFront invalidation could not be created ({exc})")
        queue = waiting
        # 2. Poll everything in flight.
        for name, (target, invalidation_id) in list(in_flight.items()):
            try:
                status = _status(client, target, invalidation_id)
            except Exception as exc:
                fail(target, f"CloudFront invalidation {invalidation_id} could not be read ({exc})")
                status = "failed"
            if status != "inprogress":
                del in_flight[name]
                paths_in_progress[target.distribution_id] -= len(target.paths)
                if status == "completed":
                    done.append(target)
        if not (queue or in_flight):
            break
        if clock() >= deadline:
            for target, invalidation_id in in_flight.values():
                fail(target, f"CloudFront invalidation {invalidation_id} did not complete within {timeout:.0f} s")
            for target in queue:
                fail(target, f"CloudFront invalidation not started within {timeout:.0f} s (in-progress limit)")
            break
        sleep(poll)

    # 3. Verify over HTTPS, in parallel, until the served bytes hash to the new id.
    def verify(target: RolloutTarget) -> tuple[RolloutTarget, str | None]:
        host = f"mta-sts.{target.domain}"
        last = "no answer"
        while True:
            try:
                served = served_policy_id(fetch(host))
                if served == target.policy_id:
                    return target, None
                last = f"https://{host}{POLICY_PATH} serves id {served}, not {target.policy_id}"
            except Exception as exc:  # any failure is retried until the deadline
                last = f"https://{host}{POLICY_PATH}: {exc}"
            if clock() >= deadline:
                return target, last
            sleep(min(poll, 2.0))

    with concurrent.futures.ThreadPoolExecutor(max_workers=VERIFY_WORKERS) as pool:
        for target, problem in pool.map(verify, done):
            if problem is None:
                result.published[target.domain] = target.policy_id
            else:
                fail(target, problem)
    return result


def _client(props: Mapping[str, Any]) -> Any:
    """The CloudFront client of the dynamic provider, with the stack's ``aws:*`` credentials (CloudFront is global)."""
    from .credentials import boto3_session

    return boto3_session(AwsSettings.from_props(props.get("aws") or {}), "us-east-1").client("cloudfront")


def _targets(props: Mapping[str, Any]) -> list[RolloutTarget]:
    return [
        RolloutTarget(
            domain=d,
            policy_id=str(t["policyId"]),
            kind=str(t["kind"]),
            target_id=str(t["targetId"]),
            distribution_id=str(t["distributionId"]),
            paths=tuple(t.get("paths") or (POLICY_PATH,)),
        )
        for d, t in sorted(dict(props["targets"]).items())
    ]


class PolicyRolloutProvider(ResourceProvider):
    """Dynamic provider: create and update run :func:`run_rollout`; delete forgets (nothing to undo)."""

    def _run(
        self, props: Mapping[str, Any], previous: Mapping[str, str], fallback: Mapping[str, str]
    ) -> dict[str, Any]:
        targets = _targets(props)
        timeout = float(props.get("timeout", DEFAULT_TIMEOUT_SECONDS))
        result = run_rollout(_client(props), targets, previous, fallback=fallback, timeout=timeout)
        return {**props, "published": result.published, "failures": result.failures}

    def create(self, props: dict[str, Any]) -> CreateResult:
        """The step's first run: every domain is new, except those the stack's last outputs show live.

        ``live`` (domain → id) comes from the previous deployment's ``domains`` output: a stack deployed before
        this step existed already announces those ids, so a domain whose id is unchanged is left alone, and one
        whose new policy fails keeps announcing its old id instead of none. A domain in ``moving`` changes its
        distribution or tenant in this deployment: it is verified again, with its live id as the fallback.
        """
        live = {str(k): str(v) for k, v in dict(props.get("live") or {}).items()}
        moving = {str(d) for d in props.get("moving") or ()}
        previous = {d: i for d, i in live.items() if d not in moving}
        return CreateResult(id_="policy-rollout", outs=self._run(props, previous, live))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Update when a target changes or a domain failed last time (never for rotated credentials alone)."""
        changed = olds.get("targets") != news.get("targets") or bool(olds.get("failures"))
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Roll out what changed since the ids verified last time."""
        published = {str(k): str(v) for k, v in dict(olds.get("published") or {}).items()}
        previous = dict(published)
        # A domain that moved (another distribution or tenant) needs its new path invalidated and verified; until
        # that succeeds its TXT keeps the id it announced (``published`` is the fallback).
        old_targets = dict(olds.get("targets") or {})
        for name, target in dict(news["targets"]).items():
            old = old_targets.get(name)
            if old and (old.get("targetId"), old.get("kind")) != (target.get("targetId"), target.get("kind")):
                previous.pop(name, None)
        return UpdateResult(outs=self._run(news, previous, published))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Invalidations cannot be undone; deleting the step only forgets it."""


class PolicyRollout(CachedProviderResource):
    """The stack's rollout step; ``published[domain]`` is the id each TXT record carries."""

    published: pulumi.Output[dict[str, str]]
    failures: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        targets: pulumi.Input[Mapping[str, Any]],
        aws_settings: AwsSettings | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        opts: pulumi.ResourceOptions | None = None,
        live: Mapping[str, str] | None = None,
        moving: Sequence[str] = (),
    ) -> None:
        # The stack's aws:* settings as a secret: they may hold static keys or a web identity token, and
        # dynamic-resource inputs are stored in the state (mtasts.resources.credentials).
        credentials = pulumi.Output.secret((aws_settings or AwsSettings()).to_props())
        props = {
            "targets": targets,
            "aws": credentials,
            "timeout": timeout,
            "live": dict(live or {}),  # read by create() only; see PolicyRolloutProvider.create
            "moving": sorted(moving),
            "published": None,
            "failures": None,
        }
        super().__init__(PolicyRolloutProvider(), name, props, opts)
