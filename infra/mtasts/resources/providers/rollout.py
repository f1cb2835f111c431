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

The fetch itself is :mod:`.fetch`; the resource the program declares, :class:`mtasts.resources.rollout.PolicyRollout`.
"""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from ...policy import POLICY_PATH
from ...quotas import INVALIDATION_PATHS_IN_PROGRESS
from .cloudfront import cloudfront_client
from .fetch import fetch_policy, served_policy_id

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "PolicyRolloutProvider",
    "RolloutResult",
    "RolloutTarget",
    "batches_needed",
    "run_rollout",
]

#: Longest wait for one domain's invalidation and verification, from the moment its invalidation starts (one
#: batch of :data:`MAX_PATHS_IN_PROGRESS`; later batches each get as long again, see :func:`run_rollout`).
DEFAULT_TIMEOUT_SECONDS = 900.0
#: CloudFront: at most 3,000 file paths in invalidations in progress per distribution ("Quotas on invalidations").
MAX_PATHS_IN_PROGRESS = INVALIDATION_PATHS_IN_PROGRESS
#: Parallel HTTPS verifications.
VERIFY_WORKERS = 32
#: A polling round ends after this many invalidations in a row are still in progress (see :func:`run_rollout`).
PROBE = 20
#: The longest pause between polling rounds (the pause grows from ``poll`` while nothing changes).
MAX_POLL_SECONDS = 30.0
#: Error codes that mean "try again later" (botocore's retry handlers treat the same ones as throttling).
TRANSIENT_ERRORS = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "TooManyInvalidationsInProgress",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


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


def error_code(exc: BaseException) -> str:
    """A botocore ``ClientError``'s code (``Throttling``, ``AccessDenied``, …), else the exception's class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


def _transient(exc: BaseException) -> bool:
    """An error that says "later", not "never": throttling, CloudFront's in-progress limit, 5xx, the network."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error_code(exc) in TRANSIENT_ERRORS or status >= 500
    from botocore.exceptions import ConnectionError as BotocoreConnectionError
    from botocore.exceptions import HTTPClientError

    # The network (connection refused or reset, timeouts); a malformed request (ParamValidationError) is not.
    return isinstance(exc, (OSError, TimeoutError, BotocoreConnectionError, HTTPClientError))


@dataclass
class _Flight:
    """An invalidation in progress: its target, id, the target's deadline and the last read error."""

    target: RolloutTarget
    invalidation_id: str
    deadline: float
    error: str | None = None


def batches_needed(targets: list[RolloutTarget]) -> int:
    """How many rounds of :data:`MAX_PATHS_IN_PROGRESS` the busiest distribution needs (10,000 tenants: 4)."""
    per_distribution: dict[str, int] = {}
    for t in targets:
        per_distribution[t.distribution_id] = per_distribution.get(t.distribution_id, 0) + len(t.paths)
    return max((-(-n // MAX_PATHS_IN_PROGRESS) for n in per_distribution.values()), default=1)


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

    Deadlines: each target has ``timeout`` from the moment its invalidation starts to be invalidated *and*
    verified (at least one fetch is always made); a target queued behind CloudFront's in-progress limit waits
    at most ``timeout`` per batch ahead of it (:func:`batches_needed`: 10,000 tenants of one distribution are
    four batches of 3,000 paths, so the last starts within ``3 × timeout``). Errors that say "later"
    (throttling, ``TooManyInvalidationsInProgress``, 5xx, the network) leave a creation queued, and *every*
    read error is retried, until that deadline: one failed ``GetInvalidation`` never fails a domain. The
    client retries too (botocore's adaptive mode, :func:`cloudfront_client`).

    Polling: each round reads in start order until :data:`PROBE` invalidations in a row are still in
    progress, plus :data:`PROBE` from a window rotating over the rest (so thousands in flight cost tens of
    reads per round, not thousands, and a slow one hides none behind it); the pause between rounds grows from
    ``poll`` by half each round without progress, up to :data:`MAX_POLL_SECONDS`, never past the nearest
    deadline. Each completed invalidation is verified at once, in parallel (:data:`VERIFY_WORKERS`), while
    the rest are polled.
    """
    result = RolloutResult()
    last_good = {**(fallback or {}), **previous}
    changed = [t for t in targets if previous.get(t.domain) != t.policy_id]
    for t in targets:
        if previous.get(t.domain) == t.policy_id:
            result.published[t.domain] = t.policy_id

    def fail(target: RolloutTarget, why: str) -> None:
        result.failures[target.domain] = why
        if target.domain in last_good:
            result.published[target.domain] = last_good[target.domain]

    def verify(target: RolloutTarget, deadline: float) -> tuple[RolloutTarget, str | None]:
        host = f"mta-sts.{target.domain}"
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

    start = clock()
    queue_deadline = start + timeout * max(1, batches_needed(changed) - 1)
    queue = list(changed)
    in_flight: dict[str, _Flight] = {}  # in start order
    paths_in_progress: dict[str, int] = {}
    pause, cursor = poll, 0
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=VERIFY_WORKERS)
    verifying: list[concurrent.futures.Future[tuple[RolloutTarget, str | None]]] = []

    def read_one(name: str) -> bool:
        """Read one invalidation; True once it is no longer in progress (then verified, or failed)."""
        flight = in_flight[name]
        try:
            status = _status(client, flight.target, flight.invalidation_id)
        except Exception as exc:  # transient until the target's deadline
            flight.error = f"{error_code(exc)}: {exc}"
            return False
        if status == "inprogress":
            return False
        del in_flight[name]
        paths_in_progress[flight.target.distribution_id] -= len(flight.target.paths)
        if status == "completed":
            verifying.append(pool.submit(verify, flight.target, flight.deadline))
        else:
            fail(flight.target, f"CloudFront invalidation {flight.invalidation_id} ended {status}")
        return True

    try:
        while queue or in_flight:
            # 1. Start what fits under each distribution's in-progress limit; transient refusals stay queued.
            progress = False
            waiting: list[RolloutTarget] = []
            blocked: set[str] = set()  # CloudFront says the limit is reached (invalidations not ours count too)
            for target in queue:
                used = paths_in_progress.get(target.distribution_id, 0)
                if target.distribution_id in blocked or used + len(target.paths) > MAX_PATHS_IN_PROGRESS:
                    waiting.append(target)
                    continue
                try:
                    invalidation_id = _start(client, target)
                except Exception as exc:
                    if not _transient(exc):
                        fail(target, f"CloudFront invalidation could not be created ({exc})")
                        continue
                    if error_code(exc) == "TooManyInvalidationsInProgress":
                        blocked.add(target.distribution_id)
                    waiting.append(target)
                    continue
                in_flight[target.domain] = _Flight(target, invalidation_id, clock() + timeout)
                paths_in_progress[target.distribution_id] = used + len(target.paths)
                progress = True
            queue = waiting
            # 2. Read in start order until PROBE in a row are still in progress, then PROBE more from a window
            #    that rotates over the rest (so one slow invalidation near the front hides none behind it).
            names = list(in_flight)
            in_progress_run, read = 0, 0
            for name in names:
                if in_progress_run >= PROBE:
                    break
                read += 1
                if read_one(name):
                    in_progress_run, progress = 0, True
                else:
                    in_progress_run += 1
            rest = names[read:]
            if rest:
                window = [rest[(cursor + k) % len(rest)] for k in range(min(PROBE, len(rest)))]
                cursor += PROBE
                for name in window:  # every one read: no short-circuit
                    progress = read_one(name) or progress
            # 3. Deadlines: each flight its own; the queue one per batch ahead of it.
            now = clock()
            for name, flight in list(in_flight.items()):
                if now >= flight.deadline:
                    del in_flight[name]
                    paths_in_progress[flight.target.distribution_id] -= len(flight.target.paths)
                    last_read = f" (last read failed: {flight.error})" if flight.error else ""
                    fail(
                        flight.target,
                        f"CloudFront invalidation {flight.invalidation_id} did not complete within {timeout:.0f} s"
                        + last_read,
                    )
            if queue and now >= queue_deadline:
                for target in queue:
                    fail(target, f"CloudFront invalidation not started within {now - start:.0f} s (in-progress limit)")
                queue = []
            if not (queue or in_flight):
                break
            pause = poll if progress else min(pause * 1.5, MAX_POLL_SECONDS)
            # Never past the nearest deadline, so a stuck invalidation fails when its time is up, not later.
            deadlines = [f.deadline for f in in_flight.values()] + ([queue_deadline] if queue else [])
            sleep(max(0.0, min(pause, min(deadlines) - now)))
        # 3. Verification results (started as each invalidation completed).
        for future in verifying:
            target, problem = future.result()
            if problem is None:
                result.published[target.domain] = target.policy_id
            else:
                fail(target, problem)
    finally:
        pool.shutdown(wait=True)
    return result


_client = cloudfront_client


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
