"""The CloudFront invalidation step against moto, and what a failure does to the rollout."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from mtasts.errors import RecordError
from mtasts.resources.invalidation import InvalidationError, PolicyInvalidationProvider, invalidate_and_wait
from pulumi_mocks import Mocks, build
from rollout_fixtures import FakeClock


@pytest.fixture
def cloudfront(fake_aws_credentials: None) -> Any:
    """A moto CloudFront with one distribution."""
    with mock_aws():
        client = boto3.client("cloudfront")
        created = client.create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Comment": "",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {"Id": "o", "DomainName": "b.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
                    ],
                },
                "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "https-only", "MinTTL": 0},
            }
        )
        yield client, created["Distribution"]["Id"]


def test_provider_creates_an_invalidation_and_waits_for_completed(cloudfront: Any) -> None:
    """create() invalidates the policy path on the distribution and returns once CloudFront reports Completed."""
    client, dist = cloudfront
    result = PolicyInvalidationProvider().create(
        {"distributionId": dist, "paths": ["/.well-known/mta-sts.txt"], "trigger": "abc123", "timeout": 5}
    )
    got = client.get_invalidation(DistributionId=dist, Id=result.id)["Invalidation"]
    assert got["Status"].lower() == "completed"
    assert got["InvalidationBatch"]["Paths"]["Items"] == ["/.well-known/mta-sts.txt"]
    assert got["InvalidationBatch"]["CallerReference"].startswith("mtasts-abc123-")
    assert result.outs["invalidationId"] == result.id


def test_policy_changed_back_is_invalidated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A -> B -> A: the second create for A sends a new caller reference, so CloudFront makes a new invalidation.

    CloudFront answers a caller reference it has seen with the old, completed invalidation, which would leave
    B's body cached under A's id (RFC 8461 §8.1).
    """
    sent: list[str] = []

    class RecordingClient:
        def create_invalidation(self, **kwargs: Any) -> dict[str, Any]:
            sent.append(kwargs["InvalidationBatch"]["CallerReference"])
            return {"Invalidation": {"Id": f"I{len(sent)}", "Status": "Completed"}}

    monkeypatch.setattr("mtasts.resources.invalidation._client", lambda props: RecordingClient())
    provider = PolicyInvalidationProvider()
    for trigger in ("a", "b", "a"):
        provider.create({"distributionId": "E1", "paths": ["/.well-known/mta-sts.txt"], "trigger": trigger})
    assert len(set(sent)) == 3
    assert [r.split("-")[1] for r in sent] == ["a", "b", "a"]


def test_unknown_distribution_is_a_clear_error(cloudfront: Any) -> None:
    """An invalidation CloudFront refuses fails with a message saying the TXT record was left alone."""
    with pytest.raises(InvalidationError, match="left unchanged"):
        PolicyInvalidationProvider().create(
            {"distributionId": "ENOPE", "paths": ["/.well-known/mta-sts.txt"], "trigger": "x", "timeout": 5}
        )


def test_new_trigger_replaces_same_trigger_does_nothing() -> None:
    """A policy change (new trigger) replaces the resource; an unchanged policy is a no-op."""
    provider = PolicyInvalidationProvider()
    old = {"distributionId": "E1", "paths": ["/p"], "trigger": "a"}
    assert provider.diff("i", old, {**old, "trigger": "b"}).replaces == ["trigger"]
    assert provider.diff("i", old, dict(old)).changes is False


class SlowClient:
    """A CloudFront client whose invalidation stays InProgress for a number of polls."""

    def __init__(self, polls_until_done: int) -> None:
        self.left = polls_until_done
        self.polls = 0

    def create_invalidation(self, **_: Any) -> dict[str, Any]:
        return {"Invalidation": {"Id": "I1", "Status": "InProgress"}}

    def get_invalidation(self, **_: Any) -> dict[str, Any]:
        self.polls += 1
        self.left -= 1
        return {"Invalidation": {"Id": "I1", "Status": "Completed" if self.left <= 0 else "InProgress"}}


def test_waits_through_in_progress() -> None:
    """The step polls until Completed."""
    clock, client = FakeClock(), SlowClient(3)
    assert invalidate_and_wait(client, "E1", ["/p"], "r", timeout=60, poll=5, sleep=clock.sleep, clock=clock) == "I1"
    assert client.polls == 3
    assert clock.now == 15


def test_wait_is_bounded() -> None:
    """An invalidation still in progress at the deadline fails, naming the wait and the untouched TXT record."""
    clock = FakeClock()
    with pytest.raises(InvalidationError, match=r"did not complete within 20 s; the _mta-sts TXT record was left"):
        invalidate_and_wait(SlowClient(100), "E1", ["/p"], "r", timeout=20, poll=5, sleep=clock.sleep, clock=clock)
    assert clock.now == 20


def test_failed_rollout_leaves_only_that_domains_txt_record_untouched() -> None:
    """A domain whose rollout fails keeps its old TXT id while the others publish theirs (RFC 8461 §8.1).

    The rollout step reports per domain the id verified live; the failed domain's is its previous one.
    """
    domains = {
        f"d{i}.example.com": {"mode": "enforce", "max_age": 86400, "mx": [f"mx.d{i}.example.com"]} for i in range(3)
    }
    before = build({"domains": domains})
    old = {d: before.mocks.inputs[f"{d}-sts-txt"]["records"] for d in domains}
    changed = {d: {**s, "mx": [f"mx2.{d}"]} for d, s in domains.items()}
    failing = Mocks()
    failing.rollout_failures = {"d1.example.com": before.plan.get("d1.example.com").policy_id}
    after = build({"domains": changed}, mocks=failing)
    assert (
        after.mocks.inputs["d1.example.com-policy"]["content"]
        != before.mocks.inputs["d1.example.com-policy"]["content"]
    )
    assert after.mocks.inputs["d1.example.com-sts-txt"]["records"] == old["d1.example.com"]
    for d in ("d0.example.com", "d2.example.com"):
        assert after.mocks.inputs[f"{d}-sts-txt"]["records"] == [after.plan.get(d).sts_record.value]
        assert after.mocks.inputs[f"{d}-sts-txt"]["records"] != old[d]


def test_a_new_domain_whose_rollout_fails_announces_no_policy() -> None:
    """A new domain whose policy was not verified live gets a _mta-sts value senders discard: no policy yet."""
    from mtasts.records import select_record

    failing = Mocks()
    failing.rollout_failures = {"d1.example.com": None}  # new: no id was ever verified for it
    run = build(
        {
            "domains": {
                f"d{i}.example.com": {"mx": [f"mx.d{i}.example.com"], "rua": ["mailto:t@example.com"]} for i in range(2)
            }
        },
        mocks=failing,
    )
    (held,) = run.mocks.inputs["d1.example.com-sts-txt"]["records"]
    assert not held.startswith("v=STSv1")
    with pytest.raises(RecordError, match="no TXT record begins with"):
        select_record([held], "v=STSv1")  # RFC 8461 §3.1: discarded, so senders see no policy
    assert run.mocks.inputs["d0.example.com-sts-txt"]["records"] == [run.plan.get("d0.example.com").sts_record.value]
