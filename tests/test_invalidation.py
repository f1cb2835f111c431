"""The CloudFront invalidation step against moto, and what a failure does to the rollout."""

from __future__ import annotations

from typing import Any

import boto3
import pulumi
import pytest
from moto import mock_aws

from mtasts.config import parse_stack_settings
from mtasts.plan import plan_stack
from mtasts.resources.invalidation import InvalidationError, PolicyInvalidationProvider, invalidate_and_wait
from mtasts.resources.program import deploy
from pulumi_mocks import Mocks, use_mocks


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


class FakeClock:
    """Time that advances only when the code sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


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


class FailingInvalidation(Mocks):
    """Mocks in which creating the invalidation fails, as a CloudFront error would."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi-python:dynamic:Resource" and "trigger" in args.inputs:
            raise InvalidationError("invalidation failed; the _mta-sts TXT record was left unchanged")
        return super().new_resource(args)


def test_failed_invalidation_leaves_the_txt_record_untouched() -> None:
    """A policy change whose invalidation fails uploads the body but never sends the new TXT value to the engine.

    Pulumi only changes a record it is sent, so the live `_mta-sts` TXT keeps the old id (RFC 8461 §8.1).
    """

    def run(mocks: Mocks, mx: str) -> Any:
        use_mocks(mocks)
        settings = {"domains": {"example.com": {"mode": "enforce", "max_age": 86400, "mx": [mx]}}}

        @pulumi.runtime.test
        def program() -> pulumi.Output[Any]:
            plan = plan_stack(parse_stack_settings(settings))
            return pulumi.Output.from_input(deploy(plan, stack="test", previous_retirement={}, now=0.0))

        return program()

    before = Mocks()
    run(before, "mx1.example.com")
    old_txt = before.inputs["example.com-sts-txt"]["records"]

    failing = FailingInvalidation()
    with pytest.raises(InvalidationError, match="left unchanged"):
        run(failing, "mx2.example.com")
    assert failing.inputs["example.com-policy"]["content"] != before.inputs["example.com-policy"]["content"]
    assert "example.com-sts-txt" not in failing.inputs
    held_back = plan_stack(
        parse_stack_settings(
            {"domains": {"example.com": {"mode": "enforce", "max_age": 86400, "mx": ["mx2.example.com"]}}}
        )
    )
    assert held_back.get("example.com").sts_record.value not in old_txt  # the id that was not published
