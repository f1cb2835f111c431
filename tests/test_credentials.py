"""The stack's aws:* settings, read once, reach explicit providers and boto3 in dynamic providers alike."""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import json
import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest
from moto import mock_aws

from mtasts.errors import ConfigError
from mtasts.resources import credentials
from mtasts.resources.credentials import (
    AssumeRole,
    AwsSettings,
    CredentialsError,
    WebIdentityRole,
    aws_settings,
    boto3_session,
    parse_duration,
    provider,
    settings_from,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # pulumi_aws warns about its own deprecated modules
    import pulumi_aws as aws

ACCOUNT = "123456789012"
OTHER = "210987654321"
TOKEN_FILE = "/var/run/token"

#: Every aws:* key, as Pulumi stores it: plain strings unquoted, everything else as JSON.
FULL = {
    "region": "eu-west-1",
    "profile": "deploy",
    "accessKey": "AKIAEXAMPLE",
    "secretKey": "very-secret",
    "token": "session-token",
    "assumeRoles": json.dumps(
        [
            {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/hop", "sessionName": "ci", "duration": "1h"},
            {
                "roleArn": f"arn:aws:iam::{OTHER}:role/deploy",
                "externalId": "ext-1",
                "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "tags": {"team": "mail"},
                "transitiveTagKeys": ["team"],
                "sourceIdentity": "alice",
                "policy": '{"Version":"2012-10-17","Statement":[]}',
            },
        ]
    ),
    "assumeRoleWithWebIdentity": json.dumps(
        {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/oidc", "webIdentityTokenFile": TOKEN_FILE, "duration": "15m"}
    ),
    "allowedAccountIds": json.dumps([OTHER]),
    "defaultTags": json.dumps({"tags": {"owner": "platform", "app": "mta-sts"}}),
    "ignoreTags": json.dumps({"keys": ["lastScanned"], "keyPrefixes": ["kubernetes.io/"]}),
    "sharedConfigFiles": json.dumps(["/etc/aws/config"]),
    "sharedCredentialsFiles": json.dumps(["/etc/aws/credentials"]),
    "skipCredentialsValidation": "true",
    "skipMetadataApiCheck": "true",
    "skipRegionValidation": "false",
    "skipRequestingAccountId": "false",
    "endpoints": json.dumps(
        [{"sts": "https://sts.example.test", "servicequotas": "https://sq.example.test", "lambda": "https://l.test"}]
    ),
    "stsRegion": "eu-central-1",
    "maxRetries": "7",
    "retryMode": "adaptive",
    "customCaBundle": "/etc/ssl/ca.pem",
    "insecure": "false",
    "httpProxy": "http://proxy:3128",
    "httpsProxy": "http://proxy:3128",
    "noProxy": "localhost",
    "ec2MetadataServiceEndpoint": "http://169.254.169.254",
    "ec2MetadataServiceEndpointMode": "IPv4",
    "s3UsePathStyle": "true",
    "s3UsEast1RegionalEndpoint": "regional",
    "useFipsEndpoint": "false",
    "useDualstackEndpoint": "true",
    "tokenBucketRateLimiterCapacity": "500",
    "tagPolicyCompliance": "warning",
    "userAgents": json.dumps(["mtasts/0.1"]),
}


def read(values: dict[str, str]) -> AwsSettings:
    return settings_from(values.get)


def test_every_provider_argument_has_a_setting() -> None:
    """AwsSettings covers every argument of pulumi-aws's Provider in the venv, and nothing it does not take."""
    provider_args = set(inspect.signature(aws.ProviderArgs.__init__).parameters) - {"__self__", "self"}
    ours = {f.name for f in dataclasses.fields(AwsSettings)}
    ours = (ours - {"ignore_tags_keys", "ignore_tags_key_prefixes"}) | {"ignore_tags"}
    assert ours == provider_args


def test_every_key_is_read() -> None:
    """Each aws:* key lands in its field, typed, with roles and tags as tuples."""
    s = read(FULL)
    assert (s.region, s.profile, s.sts_region, s.retry_mode, s.max_retries) == (
        "eu-west-1",
        "deploy",
        "eu-central-1",
        "adaptive",
        7,
    )
    assert s.assume_roles[0] == AssumeRole(f"arn:aws:iam::{ACCOUNT}:role/hop", session_name="ci", duration="1h")
    second = s.assume_roles[1]
    assert second.external_id == "ext-1"
    assert second.tags == (("team", "mail"),)
    assert second.transitive_tag_keys == ("team",)
    assert second.policy_arns == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    assert s.assume_role_with_web_identity == WebIdentityRole(
        f"arn:aws:iam::{ACCOUNT}:role/oidc", web_identity_token_file=TOKEN_FILE, duration="15m"
    )
    assert s.allowed_account_ids == (OTHER,)
    assert s.default_tags == (("app", "mta-sts"), ("owner", "platform"))
    assert (s.ignore_tags_keys, s.ignore_tags_key_prefixes) == (("lastScanned",), ("kubernetes.io/",))
    assert s.endpoints == (
        ("lambda", "https://l.test"),
        ("servicequotas", "https://sq.example.test"),
        ("sts", "https://sts.example.test"),
    )
    assert (s.skip_credentials_validation, s.skip_region_validation, s.s3_use_path_style) == (True, False, True)
    assert s.token_bucket_rate_limiter_capacity == 500
    assert s.user_agents == ("mtasts/0.1",)
    assert read({}) == AwsSettings()


def test_aws_settings_reads_the_running_stacks_config() -> None:
    """aws_settings() reads pulumi.Config("aws") of the running program, account ids written as numbers included."""
    config = pulumi.runtime.config
    saved = dict(config.CONFIG.get())
    try:
        config.set_all_config(
            {
                "aws:region": "eu-west-1",
                "aws:profile": "ops",
                "aws:allowedAccountIds": f"[{ACCOUNT}]",
                "aws:assumeRoles": json.dumps([{"roleArn": f"arn:aws:iam::{ACCOUNT}:role/r"}]),
            }
        )
        s = aws_settings()
    finally:
        config.set_all_config(saved)
    assert (s.region, s.profile, s.allowed_account_ids) == ("eu-west-1", "ops", (ACCOUNT,))
    assert s.assume_roles == (AssumeRole(f"arn:aws:iam::{ACCOUNT}:role/r"),)


def test_the_older_single_assume_role_is_read_as_a_chain_of_one() -> None:
    """aws:assumeRole (one object) is the chain of one role; with aws:assumeRoles too it is refused."""
    role = json.dumps({"roleArn": f"arn:aws:iam::{ACCOUNT}:role/r"})
    assert read({"assumeRole": role}).assume_roles == (AssumeRole(f"arn:aws:iam::{ACCOUNT}:role/r"),)
    with pytest.raises(ConfigError, match=r"aws:assumeRole: set aws:assumeRoles or aws:assumeRole, not both"):
        read({"assumeRole": role, "assumeRoles": f"[{role}]"})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"assumeRoles": '[{"roleArn": "deploy"}]'}, "aws:assumeRoles[0].roleArn: must be an IAM role ARN"),
        (
            {"assumeRoles": '[{"roleArn": "arn:aws:iam::1:role/r", "role_arn": "x"}]'},
            "aws:assumeRoles[0].role_arn: is not a setting",
        ),
        (
            {"assumeRoles": '[{"roleArn": "arn:aws:iam::1:role/r", "duration": "2d"}]'},
            "aws:assumeRoles[0].duration: '2d' is not a duration",
        ),
        (
            {"assumeRoles": '[{"roleArn": "arn:aws:iam::1:role/r", "duration": "5m"}]'},
            "aws:assumeRoles[0].duration: 5m is outside STS's 15 minutes to 12 hours",
        ),
        (
            {"assumeRoleWithWebIdentity": '{"roleArn": "arn:aws:iam::1:role/r"}'},
            "aws:assumeRoleWithWebIdentity: needs webIdentityToken or webIdentityTokenFile",
        ),
        ({"allowedAccountIds": '["1"]', "forbiddenAccountIds": '["2"]'}, "aws:forbiddenAccountIds: set"),
        ({"allowedAccountIds": '{"a": 1}'}, "aws:allowedAccountIds: must be a list of strings"),
        ({"insecure": "yes"}, "aws:insecure: must be true or false"),
        ({"maxRetries": "-1"}, "aws:maxRetries: must be a non-negative integer"),
        ({"retryMode": "legacy"}, "aws:retryMode: must be standard or adaptive"),
        ({"defaultTags": '{"tags": {"a": 1}}'}, "aws:defaultTags.tags: must be a mapping of tag names to strings"),
        ({"endpoints": '[{"s3": 1}]'}, "aws:endpoints[0]: must map service names to URLs"),
    ],
)
def test_bad_settings_name_the_key(values: dict[str, str], message: str) -> None:
    """A bad aws:* value is one ConfigError naming the key (and the entry) at fault."""
    with pytest.raises(ConfigError) as caught:
        read(values)
    (line,) = caught.value.lines()
    assert line.startswith(message), line


def test_durations_follow_go_syntax() -> None:
    """Durations are read as the provider reads them: 1h, 90m, 1h30m, 3600s."""
    assert [parse_duration(d, "x") for d in ("1h", "90m", "1h30m", "3600s", "12h")] == [3600, 5400, 5400, 3600, 43200]


def test_settings_are_plain_picklable_data_that_hide_secrets() -> None:
    """Settings pickle, round-trip through dynamic-resource props, and never print keys or tokens."""
    s = read(FULL)
    assert pickle.loads(pickle.dumps(s)) == s  # noqa: S301 - our own data
    assert AwsSettings.from_props(json.loads(json.dumps(s.to_props()))) == s
    assert "very-secret" not in repr(s)
    assert "session-token" not in repr(s)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.region = "us-east-1"  # type: ignore[misc]


class ProviderMocks(pulumi.runtime.Mocks):
    """Records each resource's inputs."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def declared_provider(settings: AwsSettings) -> dict[str, Any]:
    mocks = ProviderMocks()
    pulumi.runtime.set_mocks(mocks, project="mta-sts", stack="test", preview=False)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        return provider("aws-us-east-1", "us-east-1", settings).id

    program()
    return mocks.inputs["aws-us-east-1"]


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_explicit_provider_carries_every_setting() -> None:
    """The us-east-1 provider gets the stack's profile, role chain, account list, tags, endpoints and the rest."""
    inputs = declared_provider(read(FULL))
    assert inputs["region"] == "us-east-1"
    assert inputs["profile"] == "deploy"
    assert inputs["stsRegion"] == "eu-central-1"
    roles = as_json(inputs["assumeRoles"])
    assert [r["roleArn"] for r in roles] == [f"arn:aws:iam::{ACCOUNT}:role/hop", f"arn:aws:iam::{OTHER}:role/deploy"]
    assert roles[0]["sessionName"] == "ci"
    assert roles[1]["externalId"] == "ext-1"
    assert roles[1]["tags"] == {"team": "mail"}
    assert roles[1]["transitiveTagKeys"] == ["team"]
    assert as_json(inputs["assumeRoleWithWebIdentity"])["webIdentityTokenFile"] == "/var/run/token"
    assert as_json(inputs["allowedAccountIds"]) == [OTHER]
    assert as_json(inputs["defaultTags"]) == {"tags": {"app": "mta-sts", "owner": "platform"}}
    assert as_json(inputs["ignoreTags"]) == {"keys": ["lastScanned"], "keyPrefixes": ["kubernetes.io/"]}
    assert as_json(inputs["endpoints"]) == [
        {"lambda": "https://l.test", "servicequotas": "https://sq.example.test", "sts": "https://sts.example.test"}
    ]
    assert as_json(inputs["sharedConfigFiles"]) == ["/etc/aws/config"]
    assert as_json(inputs["skipMetadataApiCheck"]) is True
    assert as_json(inputs["maxRetries"]) == 7
    assert inputs["secretKey"]["value"] == "very-secret"  # the provider marks it secret


def test_a_web_identity_token_stays_secret() -> None:
    """A web identity token given inline reaches the provider as a secret, never as plain state."""
    web = WebIdentityRole(f"arn:aws:iam::{ACCOUNT}:role/oidc", web_identity_token="eyJ.secret.sig")  # noqa: S106
    inputs = declared_provider(AwsSettings(assume_role_with_web_identity=web))
    value = inputs["assumeRoleWithWebIdentity"]
    assert isinstance(value, dict)
    assert as_json(value["value"])["webIdentityToken"] == "eyJ.secret.sig"
    assert set(value) == {"4dabf18193072939515e22adb298388d", "value"}  # Pulumi's secret signature


def test_explicit_provider_without_settings_names_only_its_region() -> None:
    """With no aws:* settings, the provider gets its region and nothing the stack did not say."""
    inputs = declared_provider(AwsSettings())
    provider_defaults = {"skipCredentialsValidation": "false", "skipRegionValidation": "true"}  # pulumi-aws's own
    assert {k: v for k, v in inputs.items() if v is not None and k != "version"} == {
        "region": "us-east-1",
        **provider_defaults,
    }


# --- boto3 against moto ---------------------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Moto, fake default credentials, and no shared files of the machine's user."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for key in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        yield


def make_role(name: str) -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}]}
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def identity(session: boto3.Session) -> dict[str, Any]:
    return session.client("sts").get_caller_identity()  # type: ignore[no-any-return]


def test_without_settings_the_default_chain_is_used(aws_env: None) -> None:
    """No settings: the session is boto3's default chain, in the region asked for."""
    session = boto3_session(AwsSettings(), "us-east-1")
    assert session.region_name == "us-east-1"
    assert identity(session)["Account"] == ACCOUNT


def test_the_assume_role_chain_is_followed(aws_env: None) -> None:
    """Each role in aws:assumeRoles is assumed with the previous one's credentials; the last one does the work."""
    hop, deploy = make_role("hop"), make_role("deploy")
    settings = AwsSettings(
        assume_roles=(AssumeRole(hop, session_name="first"), AssumeRole(deploy, duration="1h", external_id="ext-x"))
    )
    session = boto3_session(settings, "eu-west-1")
    arn = identity(session)["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/mtasts"
    assert session.region_name == "eu-west-1"
    assert session.client("s3").meta.region_name == "eu-west-1"


def test_every_role_parameter_reaches_sts(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session name, external id, duration, policies, tags and source identity go to sts:AssumeRole as set."""
    deploy = make_role("deploy")
    calls: list[dict[str, Any]] = []
    real_sts = credentials._sts

    def recording_sts(session: Any, region: str) -> Any:
        client = real_sts(session, region)
        client.meta.events.register("provide-client-params.sts.AssumeRole", lambda params, **_: calls.append(params))
        calls.append({"region": region})
        return client

    monkeypatch.setattr(credentials, "_sts", recording_sts)
    role = read(FULL).assume_roles[1]
    role = dataclasses.replace(role, role_arn=deploy)
    boto3_session(AwsSettings(assume_roles=(role,), sts_region="eu-central-1"), "eu-west-1")
    assert calls[0] == {"region": "eu-central-1"}
    assert calls[1] == {
        "RoleArn": deploy,
        "RoleSessionName": "mtasts",
        "ExternalId": "ext-1",
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
        "Policy": '{"Version":"2012-10-17","Statement":[]}',
        "Tags": [{"Key": "team", "Value": "mail"}],
        "TransitiveTagKeys": ["team"],
        "SourceIdentity": "alice",
    }


def test_web_identity_comes_before_the_chain(aws_env: None, tmp_path: Path) -> None:
    """aws:assumeRoleWithWebIdentity is assumed first, from its token file, then the chain."""
    oidc, deploy = make_role("oidc"), make_role("deploy")
    token = tmp_path / "token"
    token.write_text("eyJ.token.sig\n")
    settings = AwsSettings(
        assume_role_with_web_identity=WebIdentityRole(oidc, web_identity_token_file=str(token)),
        assume_roles=(AssumeRole(deploy),),
    )
    assert identity(boto3_session(settings, "us-east-1"))["Arn"].endswith(":assumed-role/deploy/mtasts")
    web = WebIdentityRole(oidc, web_identity_token="eyJ.t.s")  # noqa: S106 - a fake token
    only_web = AwsSettings(assume_role_with_web_identity=web)
    assert ":assumed-role/oidc/" in identity(boto3_session(only_web, "us-east-1"))["Arn"]


def test_the_profile_comes_from_the_named_shared_files(aws_env: None, tmp_path: Path) -> None:
    """aws:profile is read from aws:sharedConfigFiles/aws:sharedCredentialsFiles, not from the user's files."""
    config, creds = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[profile deploy]\nregion = ap-south-1\n")
    creds.write_text("[deploy]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n")
    settings = AwsSettings(profile="deploy", shared_config_files=(str(config),), shared_credentials_files=(str(creds),))
    session = boto3_session(settings, "us-east-1")
    assert session.profile_name == "deploy"
    assert session.get_credentials().access_key == "AKIDPROFILE"
    assert session.region_name == "us-east-1"  # the region asked for wins over the profile's


def test_an_unknown_profile_is_one_clear_error(aws_env: None) -> None:
    """A profile that no shared file defines is a CredentialsError naming aws:profile."""
    with pytest.raises(CredentialsError) as caught:
        boto3_session(AwsSettings(profile="nope"), "us-east-1")
    (line,) = caught.value.lines()
    assert line.startswith("aws:profile: cannot be used:")
    assert "nope" in line


def test_more_than_one_shared_file_is_refused(aws_env: None) -> None:
    """boto3 reads one shared config file: two are refused with a line saying so, not silently half-used."""
    with pytest.raises(CredentialsError, match=r"aws:sharedConfigFiles: boto3 reads one file, not 2"):
        boto3_session(AwsSettings(shared_config_files=("a", "b")), "us-east-1")


def test_static_keys_win_over_the_profile(aws_env: None) -> None:
    """aws:accessKey/aws:secretKey/aws:token are used as given."""
    static = AwsSettings(access_key="AKIDSTATIC", secret_key="s", token="t", profile="x")  # noqa: S106 - fake keys
    session = boto3_session(static, "us-east-1")
    frozen = session.get_credentials().get_frozen_credentials()
    assert (frozen.access_key, frozen.token) == ("AKIDSTATIC", "t")


def test_allowed_account_ids_are_enforced(aws_env: None) -> None:
    """Credentials for an account outside aws:allowedAccountIds are refused, naming the account and the list."""
    assert boto3_session(AwsSettings(allowed_account_ids=(ACCOUNT,)), "us-east-1")
    with pytest.raises(CredentialsError) as caught:
        boto3_session(AwsSettings(allowed_account_ids=(OTHER, "333333333333")), "us-east-1")
    assert caught.value.lines() == [
        f"aws:allowedAccountIds: the credentials are for account {ACCOUNT}, not one of {OTHER}, 333333333333"
    ]


def test_the_account_is_checked_after_the_role_chain(aws_env: None) -> None:
    """The allow-list applies to the final assumed role's account, not to the base credentials'."""
    role = f"arn:aws:iam::{OTHER}:role/deploy"
    session = boto3_session(AwsSettings(assume_roles=(AssumeRole(role),), allowed_account_ids=(OTHER,)), "us-east-1")
    assert identity(session)["Account"] == OTHER
    with pytest.raises(CredentialsError, match=f"account {OTHER}, not one of {ACCOUNT}"):
        boto3_session(AwsSettings(assume_roles=(AssumeRole(role),), allowed_account_ids=(ACCOUNT,)), "us-east-1")


def test_forbidden_account_ids_are_enforced(aws_env: None) -> None:
    """Credentials for an account in aws:forbiddenAccountIds are refused."""
    with pytest.raises(CredentialsError) as caught:
        boto3_session(AwsSettings(forbidden_account_ids=(ACCOUNT,)), "us-east-1")
    assert caught.value.lines() == [
        f"aws:forbiddenAccountIds: the credentials are for account {ACCOUNT}, which is forbidden"
    ]
    assert boto3_session(AwsSettings(forbidden_account_ids=(OTHER,)), "us-east-1")


def test_a_role_that_cannot_be_assumed_is_one_clear_error(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """An STS refusal names the chain entry and the role."""

    class Refusing:
        def assume_role(self, **_: Any) -> Any:
            raise RuntimeError("AccessDenied: not authorized to perform sts:AssumeRole")

    monkeypatch.setattr(credentials, "_sts", lambda session, region: Refusing())
    role = f"arn:aws:iam::{OTHER}:role/deploy"
    with pytest.raises(CredentialsError) as caught:
        boto3_session(AwsSettings(assume_roles=(AssumeRole(f"arn:aws:iam::{ACCOUNT}:role/hop"), AssumeRole(role))), "x")
    assert caught.value.lines() == [
        f"aws:assumeRoles[0]: cannot assume arn:aws:iam::{ACCOUNT}:role/hop: "
        "AccessDenied: not authorized to perform sts:AssumeRole"
    ]


def test_a_session_policy_that_is_not_json_is_one_clear_error(aws_env: None) -> None:
    """A role entry whose policy is not JSON is refused before any STS call, naming the entry and the role."""
    role = AssumeRole(f"arn:aws:iam::{ACCOUNT}:role/r", policy="{not json")
    with pytest.raises(CredentialsError) as caught:
        boto3_session(AwsSettings(assume_roles=(role,)), "us-east-1")
    (line,) = caught.value.lines()
    assert line.startswith(f"aws:assumeRoles[0]: cannot assume arn:aws:iam::{ACCOUNT}:role/r: ")


def test_a_missing_web_identity_token_file_is_one_clear_error(aws_env: None, tmp_path: Path) -> None:
    """A web identity token file that cannot be read names aws:assumeRoleWithWebIdentity and the role."""
    web = WebIdentityRole(f"arn:aws:iam::{ACCOUNT}:role/oidc", web_identity_token_file=str(tmp_path / "none"))
    with pytest.raises(CredentialsError) as caught:
        boto3_session(AwsSettings(assume_role_with_web_identity=web), "us-east-1")
    (line,) = caught.value.lines()
    assert line.startswith(f"aws:assumeRoleWithWebIdentity: cannot assume arn:aws:iam::{ACCOUNT}:role/oidc: ")
    assert "No such file" in line


class FakeSts:
    """An STS whose AssumeRole issues numbered keys (ASIA0, ASIA1, ...), each expiring ``lifetime`` from now."""

    def __init__(self, lifetime: datetime.timedelta) -> None:
        self.lifetime = lifetime
        self.issued: list[str] = []

    def assume_role(self, **_: Any) -> Any:
        self.issued.append(f"ASIA{len(self.issued)}")
        expiry = datetime.datetime.now(datetime.UTC) + self.lifetime
        keys = {"AccessKeyId": self.issued[-1], "SecretAccessKey": "s", "SessionToken": "t"}
        return {"Credentials": {**keys, "Expiration": expiry}}


def test_credentials_within_the_window_are_not_fetched_again(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials with an hour left are used as they are: one sts:AssumeRole per session, however many clients."""
    sts = FakeSts(datetime.timedelta(hours=1))
    monkeypatch.setattr(credentials, "_sts", lambda session, region: sts)
    session = boto3_session(AwsSettings(assume_roles=(AssumeRole(f"arn:aws:iam::{ACCOUNT}:role/r"),)), "us-east-1")
    for _ in range(3):
        assert session.get_credentials().get_frozen_credentials().access_key == "ASIA0"
    assert sts.issued == ["ASIA0"]


def test_assumed_credentials_refresh_before_they_expire(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wait longer than the role session (an invalidation) gets fresh credentials, not ExpiredToken."""
    sts = FakeSts(datetime.timedelta(minutes=5))
    monkeypatch.setattr(credentials, "_sts", lambda session, region: sts)
    session = boto3_session(AwsSettings(assume_roles=(AssumeRole(f"arn:aws:iam::{ACCOUNT}:role/r"),)), "us-east-1")
    # Five minutes left is inside botocore's mandatory refresh window: the next use assumes the role again.
    assert session.get_credentials().get_frozen_credentials().access_key == "ASIA1"
    assert sts.issued == ["ASIA0", "ASIA1"]


def test_clients_follow_endpoints_and_client_options(aws_env: None) -> None:
    """Endpoints (provider service names mapped to boto3's), retries, proxies, S3 style and user agent apply."""
    settings = AwsSettings(
        endpoints=(("cloudfront", "http://127.0.0.1:9"), ("servicequotas", "http://127.0.0.1:8")),
        max_retries=3,
        http_proxy="http://proxy:3128",
        s3_use_path_style=True,
        use_dualstack_endpoint=True,
        user_agents=("mtasts/0.1",),
        custom_ca_bundle="/etc/ssl/ca.pem",
    )
    session = boto3_session(settings, "eu-west-1")
    cloudfront = session.client("cloudfront")
    assert cloudfront.meta.endpoint_url == "http://127.0.0.1:9"
    assert session.client("service-quotas").meta.endpoint_url == "http://127.0.0.1:8"
    config = cloudfront.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert config.proxies == {"http": "http://proxy:3128"}
    assert config.use_dualstack_endpoint is True
    assert config.user_agent_extra == "mtasts/0.1"
    assert session.client("s3").meta.config.s3["addressing_style"] == "path"
    assert cloudfront._endpoint.http_session._verify == "/etc/ssl/ca.pem"
    insecure = boto3_session(AwsSettings(insecure=True), "eu-west-1").client("cloudfront")
    assert insecure._endpoint.http_session._verify is False


def test_skip_metadata_api_check_drops_instance_metadata(aws_env: None) -> None:
    """With aws:skipMetadataApiCheck, the EC2 metadata service is never asked for credentials."""
    resolver = boto3_session(AwsSettings(skip_metadata_api_check=True), "us-east-1")._session.get_component(
        "credential_provider"
    )
    assert "iam-role" not in [p.METHOD for p in resolver.providers]
    default = boto3_session(AwsSettings(), "us-east-1")._session.get_component("credential_provider")
    assert "iam-role" in [p.METHOD for p in default.providers]
