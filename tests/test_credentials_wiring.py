"""The stack's aws:* settings reach every AWS call of the program: the us-east-1 provider and the dynamic providers."""

from __future__ import annotations

from typing import Any

import pytest

from mtasts.resources import gates, program
from mtasts.resources.credentials import AssumeRole, AwsSettings
from mtasts.resources.providers import rollout, rule_set
from pulumi_mocks import build

SETTINGS = AwsSettings(
    region="eu-west-1",
    profile="deploy",
    assume_roles=(AssumeRole(role_arn="arn:aws:iam::123456789012:role/mtasts-deploy", session_name="ci"),),
    allowed_account_ids=("123456789012",),
    default_tags=(("team", "mail"),),
)
#: How the engine sees a secret input (pulumi.runtime.rpc's special signature).
SECRET_SIG, SECRET_VALUE = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
DOMAINS = {"domains": {"example.com": {"mx": ["m.example.com"], "rua": ["mailto:t@example.com"]}}}


def test_us_east_1_provider_carries_the_stacks_settings() -> None:
    """The explicit us-east-1 provider is registered with the stack's profile, role chain, accounts and tags."""
    run = build(DOMAINS, aws_settings=SETTINGS)
    providers = {n: run.mocks.inputs[n] for n, t in run.mocks.types.items() if t == "pulumi:providers:aws"}
    assert list(providers) == ["aws-us-east-1"]  # the name every certificate's provider reference depends on
    inputs = providers["aws-us-east-1"]
    assert inputs["region"] == "us-east-1"
    assert inputs["profile"] == "deploy"
    assert "123456789012" in str(inputs["allowedAccountIds"])
    assert "mtasts-deploy" in str(inputs["assumeRoles"])
    assert "mail" in str(inputs["defaultTags"])


def test_dynamic_providers_get_the_settings_as_a_secret() -> None:
    """The rollout step carries the settings as a secret input and never its own profile key."""
    run = build(DOMAINS, aws_settings=SETTINGS)
    inputs = run.mocks.inputs["policy-rollout"]
    assert "profile" not in inputs
    secret = inputs["aws"]
    assert secret[SECRET_SIG] == SECRET_VALUE  # Pulumi's marker of a secret value: encrypted in the state
    assert AwsSettings.from_props(secret["value"]) == SETTINGS


def test_rollout_and_rule_set_check_call_aws_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside the dynamic providers, boto3 sessions come from the stack's settings, in the right region."""
    seen: list[tuple[AwsSettings, str]] = []

    class Session:
        def client(self, service: str, **_: Any) -> str:
            return service

    def fake_session(settings: AwsSettings, region: str) -> Session:
        seen.append((settings, region))
        return Session()

    monkeypatch.setattr("mtasts.resources.credentials.boto3_session", fake_session)
    assert rollout._client({"aws": SETTINGS.to_props()}) == "cloudfront"
    monkeypatch.setattr(rule_set, "check_active_rule_set", lambda client, *args: client)
    props: dict[str, Any] = {"ruleSetName": "r", "region": "eu-west-1", "replace": False, "aws": SETTINGS.to_props()}
    assert rule_set.ActiveRuleSetGuardProvider()._check(props) == "ses"
    assert seen == [(SETTINGS, "us-east-1"), (SETTINGS, "eu-west-1")]


def test_rotated_credentials_alone_change_nothing() -> None:
    """A new role or profile is not a change of the rollout step: no re-invalidation, no re-verification."""
    targets = {"example.com": {"policyId": "a", "kind": "distribution", "targetId": "E1", "distributionId": "E1"}}
    olds = {"targets": targets, "aws": AwsSettings(profile="old").to_props(), "failures": {}}
    news = {"targets": targets, "aws": SETTINGS.to_props()}
    assert not rollout.PolicyRolloutProvider().diff("policy-rollout", olds, news).changes


def test_main_reads_the_stacks_aws_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The program's entry point reads aws:* once and hands the same settings to the quota check and to deploy."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(program, "aws_settings", lambda: SETTINGS)
    monkeypatch.setattr(program, "read_settings", lambda: dict(DOMAINS))
    monkeypatch.setattr(gates, "preflight", lambda plan: None)
    monkeypatch.setattr(gates, "check_quotas", lambda plan, settings: seen.setdefault("quotas", settings))
    monkeypatch.setattr(program.pulumi, "StackReference", lambda name: type("Ref", (), {"get_output": id})())
    monkeypatch.setattr(program, "published_delegations", lambda domains: set())
    monkeypatch.setattr(program, "deploy", lambda plan, **kw: seen.setdefault("deploy", kw["aws_settings"]) and {})
    monkeypatch.setattr(program.pulumi, "get_stack", lambda: "test")
    monkeypatch.setattr(program.pulumi, "get_organization", lambda: "org")
    monkeypatch.setattr(program.pulumi, "get_project", lambda: "mta-sts")
    program.main()
    assert seen == {"quotas": SETTINGS, "deploy": SETTINGS}
