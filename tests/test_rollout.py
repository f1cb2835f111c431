"""The rollout step: every invalidation started at once, waited for together, then verified over HTTPS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mtasts.policy import Policy, policy_id
from mtasts.resources.providers import rollout
from mtasts.resources.providers.fetch import fetch_policy
from mtasts.resources.providers.rollout import PolicyRolloutProvider, RolloutTarget, run_rollout
from pulumi_mocks import build
from rollout_fixtures import FakeClock, StubbedCloudFront, loopback_edge, moto_distribution


def body(i: int, version: int) -> bytes:
    return Policy(mode="testing", max_age=86400, mx=(f"mx{version}.d{i}.example.com",)).to_bytes()


def tenants(count: int, version: int = 2) -> list[RolloutTarget]:
    return [
        RolloutTarget(f"d{i}.example.com", policy_id(body(i, version)), "tenant", f"dt_{i}", "EMULTI")
        for i in range(count)
    ]


def test_all_invalidations_start_before_any_wait_and_finish_in_one_invalidations_time(tmp_path: Path) -> None:
    """50 changed tenants: 50 creates, then polling; done one invalidation's time (10 s) plus one pause later."""
    count = 50
    hosts = [f"mta-sts.d{i}.example.com" for i in range(count)]
    with loopback_edge(hosts, str(tmp_path)) as edge:
        edge.bodies = {f"mta-sts.d{i}.example.com": body(i, 2) for i in range(count)}
        clock = FakeClock()
        client = StubbedCloudFront(clock, complete_after=10)
        result = run_rollout(client, tenants(count), {}, fetch=edge.fetch, poll=5, sleep=clock.sleep, clock=clock)
    assert result.failures == {}
    assert result.published == {t.domain: t.policy_id for t in tenants(count)}
    assert all(c.startswith("create") for c in client.calls[:count])
    assert client.most_in_flight == count
    assert clock.now == 12.5  # polled at 0 and 5 s (in progress), then after a pause of 7.5 s: all done
    assert client.reads == 2 * 2 * rollout.PROBE + count  # a round without progress reads 2 x PROBE, not all 50


def test_a_domain_serving_stale_bytes_holds_back_only_itself(tmp_path: Path) -> None:
    """A tenant whose edge still serves the old body fails verification; it keeps its old id, the others go."""
    hosts = [f"mta-sts.d{i}.example.com" for i in range(3)]
    previous = {f"d{i}.example.com": policy_id(body(i, 1)) for i in range(3)}
    with loopback_edge(hosts, str(tmp_path)) as edge:
        edge.bodies = {f"mta-sts.d{i}.example.com": body(i, 2) for i in range(3)}
        edge.bodies["mta-sts.d1.example.com"] = body(1, 1)
        clock = FakeClock()
        result = run_rollout(
            StubbedCloudFront(clock),
            tenants(3),
            previous,
            fetch=edge.fetch,
            timeout=30,
            poll=5,
            sleep=clock.sleep,
            clock=clock,
        )
    assert set(result.failures) == {"d1.example.com"}
    assert f"serves id {previous['d1.example.com']}, not" in result.failures["d1.example.com"]
    assert result.published["d1.example.com"] == previous["d1.example.com"]
    assert result.published["d0.example.com"] == policy_id(body(0, 2))


def test_unchanged_domains_are_not_invalidated() -> None:
    """A domain whose id is already published needs no invalidation and no fetch."""
    clock = FakeClock()
    client = StubbedCloudFront(clock)
    targets = tenants(2)
    previous = {targets[0].domain: targets[0].policy_id}
    fetched: list[str] = []

    def fetch(host: str) -> bytes:
        fetched.append(host)
        return body(1, 2)

    result = run_rollout(client, targets, previous, fetch=fetch, sleep=clock.sleep, clock=clock)
    assert [c for c in client.calls if c.startswith("create")] == ["create dt_1"]
    assert fetched == ["mta-sts.d1.example.com"]
    assert result.published == {t.domain: t.policy_id for t in targets}


def test_in_progress_limit_per_distribution_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for 2 paths in flight per distribution, 5 tenants are invalidated 2 at a time, all in the end."""
    monkeypatch.setattr(rollout, "MAX_PATHS_IN_PROGRESS", 2)
    clock = FakeClock()
    client = StubbedCloudFront(clock, complete_after=5)
    targets = tenants(5)
    result = run_rollout(
        client, targets, {}, fetch=lambda h: body(int(h.split(".")[1][1:]), 2), sleep=clock.sleep, clock=clock
    )
    assert client.most_in_flight == 2
    assert result.failures == {}
    assert len(result.published) == 5


def test_an_api_error_fails_one_domain_with_its_reason() -> None:
    """CloudFront refusing one tenant's invalidation (AccessDenied: not transient) fails that domain only."""
    clock = FakeClock()
    client = StubbedCloudFront(clock, refuse={"dt_0": "AccessDenied"})
    result = run_rollout(client, tenants(2), {}, fetch=lambda h: body(1, 2), sleep=clock.sleep, clock=clock)
    assert list(result.failures) == ["d0.example.com"]
    assert result.failures["d0.example.com"].startswith("CloudFront invalidation could not be created (An error")
    assert "AccessDenied" in result.failures["d0.example.com"]
    assert client.calls.count("create dt_0") == 1  # not retried
    assert "d0.example.com" not in result.published  # a new domain: no TXT value at all
    assert result.published == {"d1.example.com": policy_id(body(1, 2))}


def test_wait_is_bounded_by_one_deadline() -> None:
    """Invalidations still in progress at the deadline fail with the wait named; nothing waits longer."""
    clock = FakeClock()
    result = run_rollout(
        StubbedCloudFront(clock, complete_after=10**6),
        tenants(3),
        {},
        fetch=lambda h: b"",
        timeout=20,
        poll=5,
        sleep=clock.sleep,
        clock=clock,
    )
    assert clock.now == 20
    assert all("did not complete within 20 s" in why for why in result.failures.values())
    assert len(result.failures) == 3


def test_against_moto_distributions_and_loopback_https(fake_aws_credentials: None, tmp_path: Path) -> None:
    """Real boto3 calls (moto) for 3 dedicated distributions, then HTTPS verification through the loopback edge."""
    with mock_aws():
        client = boto3.client("cloudfront")
        targets = []
        for i in range(3):
            dist = moto_distribution(client, f"d{i}")
            targets.append(RolloutTarget(f"d{i}.example.com", policy_id(body(i, 2)), "distribution", dist, dist))
        hosts = [f"mta-sts.d{i}.example.com" for i in range(3)]
        with loopback_edge(hosts, str(tmp_path)) as edge:
            edge.bodies = {f"mta-sts.d{i}.example.com": body(i, 2) for i in range(3)}
            result = run_rollout(client, targets, {}, fetch=edge.fetch, poll=0.01)
        for t in targets:
            listed = client.list_invalidations(DistributionId=t.target_id)["InvalidationList"]
            assert listed["Quantity"] == 1
    assert result.failures == {}
    assert result.published == {t.domain: t.policy_id for t in targets}
    assert edge.requests == dict.fromkeys(hosts, 1)


def test_fetch_refuses_a_policy_over_64_kib(tmp_path: Path) -> None:
    """The verification read is capped at 64 KiB (RFC 8461 §3.3), so a hostile edge cannot stall it."""
    with loopback_edge(["mta-sts.big.example"], str(tmp_path)) as edge:
        edge.bodies = {"mta-sts.big.example": b"x" * 70_000}
        with pytest.raises(ValueError, match="larger than 65536 bytes"):
            fetch_policy("mta-sts.big.example", connect_to=("127.0.0.1", edge.port), ca_file=edge.ca_file)


def test_provider_update_rolls_out_only_changes_and_retries_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """update() starts from the ids verified last time; a failure last time makes diff report a change."""
    seen: list[tuple[list[str], dict[str, str]]] = []
    fallbacks: list[dict[str, str]] = []

    def fake_run(client: Any, targets: list[RolloutTarget], previous: dict[str, str], **kw: Any) -> Any:
        seen.append(([t.domain for t in targets], dict(previous)))
        fallbacks.append(dict(kw["fallback"]))
        return rollout.RolloutResult(published={t.domain: t.policy_id for t in targets})

    monkeypatch.setattr(rollout, "run_rollout", fake_run)
    monkeypatch.setattr(rollout, "_client", lambda props: None)
    provider = PolicyRolloutProvider()
    target = {"policyId": "b", "kind": "tenant", "targetId": "dt_1", "distributionId": "E"}
    olds = {"targets": {"x.example": {**target, "policyId": "a"}}, "published": {"x.example": "a"}, "failures": {}}
    news = {"targets": {"x.example": target}}
    assert provider.diff("r", olds, news).changes is True
    assert provider.diff("r", olds, dict(olds)).changes is False
    assert provider.diff("r", {**olds, "failures": {"x.example": "e"}}, dict(olds)).changes is True
    outs = provider.update("r", olds, news).outs
    assert seen == [(["x.example"], {"x.example": "a"})]
    assert outs["published"] == {"x.example": "b"}
    moved = {"targets": {"x.example": {**target, "targetId": "dt_2", "policyId": "a"}}}
    provider.update("r", {**olds, "targets": {"x.example": {**target, "policyId": "a"}}}, moved)
    assert seen[-1][1] == {}  # moved to another tenant: verified again even with the same id
    assert fallbacks[-1] == {"x.example": "a"}  # ... keeping the id it announced if that fails


def test_first_run_on_a_live_stack_starts_from_the_ids_it_announces() -> None:
    """The step's first run leaves unchanged live domains alone, and a failing changed one keeps its old id."""
    clock = FakeClock()
    client = StubbedCloudFront(clock)
    targets = tenants(3)  # version 2 of every policy
    live = {"d0.example.com": targets[0].policy_id, "d1.example.com": policy_id(body(1, 1))}  # d2: new
    props = {
        "targets": {t.domain: {"policyId": t.policy_id, "kind": t.kind, "targetId": t.target_id,
                               "distributionId": t.distribution_id} for t in targets},
        "live": live,
    }  # fmt: skip
    served = {"mta-sts.d2.example.com": body(2, 2)}  # d1's edge still serves version 1: its check fails
    original = rollout.run_rollout

    def run(client_: Any, targets_: list[RolloutTarget], previous: dict[str, str], **kw: Any) -> Any:
        fetch = lambda host: served.get(host, body(1, 1))  # noqa: E731
        return original(
            client, targets_, previous, fallback=kw.get("fallback"), fetch=fetch, sleep=clock.sleep, clock=clock,
            timeout=20,
        )  # fmt: skip

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rollout, "run_rollout", run)
        patch.setattr(rollout, "_client", lambda props: client)
        outs = PolicyRolloutProvider().create(props).outs
    assert "create dt_0" not in client.calls  # unchanged and live: not invalidated again
    assert outs["published"] == {
        "d0.example.com": targets[0].policy_id,
        "d1.example.com": live["d1.example.com"],  # the new policy is not served: the old id stays announced
        "d2.example.com": targets[2].policy_id,
    }
    assert list(outs["failures"]) == ["d1.example.com"]


def test_the_program_hands_the_rollout_the_ids_live_after_the_last_deployment() -> None:
    """The rollout's `live` input is each domain's last policyId output, without pending domains."""
    settings = {"domains": {f"d{i}.example.com": {"mx": [f"mx.d{i}.example.com"]} for i in range(2)}}
    previous = {"d0.example.com": {"policyId": "aaa", "hosting": "dedicated"}, "d1.example.com": {"pending": True}}
    run = build(settings, previous_domains=previous)
    assert run.mocks.inputs["policy-rollout"]["live"] == {"d0.example.com": "aaa"}


def test_ten_thousand_tenants_through_throttling_and_failed_reads_in_four_batches() -> None:
    """10,000 tenants on one distribution: four batches of 3,000 paths, each taking most of its own deadline.

    Every 7th creation is throttled and every 5th read fails (503 or Throttling) through botocore's Stubber;
    each invalidation takes 700 s of a 900 s timeout. All 10,000 are published: transient errors are retried,
    and each batch gets its own deadline (one deadline for all would have failed the last three batches).
    """
    count = 10_000
    clock = FakeClock()
    client = StubbedCloudFront(clock, complete_after=700, throttle_every=7, fail_read_every=5)
    targets = tenants(count)
    bodies = {f"mta-sts.{t.domain}": body(i, 2) for i, t in enumerate(targets)}
    result = run_rollout(client, targets, {}, fetch=bodies.__getitem__, timeout=900, sleep=clock.sleep, clock=clock)
    assert result.failures == {}
    assert len(result.published) == count
    assert rollout.batches_needed(targets) == 4
    assert client.most_in_flight == rollout.MAX_PATHS_IN_PROGRESS
    assert client.injected > 2_000  # throttled creations and failed reads did happen
    assert 4 * 700 <= clock.now < 4 * (700 + rollout.MAX_POLL_SECONDS)
    # Reads grow with completions and failures (10,000 + about a fifth), plus 2 x PROBE per round: not with
    # rounds x invalidations in flight (3,000 a round, over 300,000 in all).
    assert client.reads < 2 * count


def test_the_rollout_client_retries_in_adaptive_mode_unless_the_stack_says_otherwise() -> None:
    """botocore's adaptive retries (client-side rate limiting) by default; aws:retryMode wins when set."""
    assert rollout.cloudfront_client({}).meta.config.retries["mode"] == "adaptive"
    standard = rollout.cloudfront_client({"aws": {"retry_mode": "standard"}})
    assert standard.meta.config.retries["mode"] == "standard"


def test_only_errors_that_say_later_are_retried() -> None:
    """Throttling, the in-progress limit, 5xx and the network are transient; access and validation errors are not."""
    from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

    def client_error(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")

    transient = [
        client_error("Throttling", 400),
        client_error("TooManyInvalidationsInProgress", 400),
        client_error("ServiceUnavailable", 503),
        client_error("Whatever", 500),
        EndpointConnectionError(endpoint_url="https://cloudfront.amazonaws.com"),
        TimeoutError(),
    ]
    permanent = [
        client_error("AccessDenied", 403),
        client_error("InvalidArgument", 400),
        ParamValidationError(report="x"),
    ]
    assert [rollout._transient(e) for e in transient] == [True] * len(transient)
    assert [rollout._transient(e) for e in permanent] == [False] * len(permanent)
