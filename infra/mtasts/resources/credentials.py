"""One set of AWS credentials for the whole stack: the default provider's ``aws:*`` settings, everywhere.

Pulumi configures the *default* AWS provider from the stack's ``aws:*`` settings, but an explicit
``aws.Provider`` (the us-east-1 one CloudFront's certificates need) starts from nothing but the environment,
and the boto3 calls inside dynamic providers (the CloudFront invalidation, anything else that runs in the
dynamic-provider host) use boto3's default credential chain. A stack that deploys through an assumed role, a
profile or an account allow-list would then do part of its work as someone else, in another account. This
module reads the settings once and hands the same ones to both:

- :func:`aws_settings` reads every ``aws:*`` key the provider understands (the names of pulumi-aws 7's
  ``Provider``, camelCase as in ``Pulumi.<stack>.yaml``) into :class:`AwsSettings`, a frozen, picklable
  dataclass of plain data;
- :func:`provider` declares an explicit ``aws.Provider`` in a given region with exactly those settings;
- :func:`boto3_session` builds, inside a dynamic provider, a ``boto3.Session`` with the same profile, shared
  files, static keys, web-identity role and ``assumeRoles`` chain (botocore's own assume-role fetchers, the ones
  its profiles use, with refreshable credentials, so a long wait does not outlive them), the same endpoints,
  retries, proxies, CA bundle and FIPS/dual-stack choices, and refuses with :class:`CredentialsError` when the
  account is not in ``allowedAccountIds`` or is in ``forbiddenAccountIds`` — as the provider does (Terraform AWS
  provider, "allowed_account_ids"/"forbidden_account_ids").

Where it is used (tests/test_credentials_wiring.py):

1. :func:`mtasts.resources.program.main` reads ``aws_settings()`` once and passes it to the quota check and to
   ``deploy(..., aws_settings=...)``.
2. ``deploy`` builds the us-east-1 provider with :func:`provider` under its old name ``aws-us-east-1`` (a new
   name would replace the provider and with it every certificate it manages).
3. Each dynamic resource (the rollout step, the SES rule-set check) gets the settings as a *secret* input
   ``"aws"`` (they may hold static keys or a web identity token, and dynamic-resource inputs are stored in the
   state); inside the provider, ``boto3_session(AwsSettings.from_props(props["aws"]), region)``. ``"aws"`` is
   left out of the providers' ``diff``, so rotated credentials replace or re-run nothing.
4. ``mtasts`` commands that call AWS outside Pulumi (``reports summarize``) keep boto3's default chain: they
   run as the operator, not as the stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from ..errors import ConfigError, MtastsError, Problem

if TYPE_CHECKING:  # imported at call time: the dynamic-provider host needs neither, and pulumi_aws is slow to import
    import pulumi
    import pulumi_aws as aws

__all__ = [
    "AssumeRole",
    "AwsSettings",
    "CredentialsError",
    "WebIdentityRole",
    "aws_settings",
    "boto3_session",
    "parse_duration",
    "provider",
]

#: ``aws:endpoints`` service keys whose boto3 service name differs (the rest are the same).
BOTO3_SERVICE_NAMES: Mapping[str, str] = {
    "servicequotas": "service-quotas",
    "cloudwatchlogs": "logs",
    "cloudcontrol": "cloudcontrol",
    "resourcegroupstaggingapi": "resourcegroupstaggingapi",
}
#: ``aws:endpoints`` service keys that are Python keywords get a trailing underscore in ``ProviderEndpointArgs``.
_PYTHON_ENDPOINT_NAMES: Mapping[str, str] = {"lambda": "lambda_"}
#: STS limits for a role session: 15 minutes to 12 hours (STS API Reference, AssumeRole, DurationSeconds).
MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 43_200
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


class CredentialsError(MtastsError):
    """The AWS credentials the stack settings describe cannot be used (wrong account, failed role assumption)."""


@dataclass(frozen=True)
class AssumeRole:
    """One entry of ``aws:assumeRoles`` (pulumi-aws ``ProviderAssumeRoleArgs``)."""

    role_arn: str
    """ARN of the role to assume (``roleArn``)."""
    session_name: str | None = None
    """``sessionName``; the kit uses ``mtasts`` when unset (STS requires one)."""
    external_id: str | None = None
    """``externalId`` the role's trust policy may require."""
    duration: str | None = None
    """``duration`` as the provider takes it (Go syntax, ``1h``, ``90m``), 15 minutes to 12 hours."""
    policy: str | None = None
    """``policy``: an IAM policy JSON that narrows the session."""
    policy_arns: tuple[str, ...] = ()
    """``policyArns``: managed policies that narrow the session."""
    tags: tuple[tuple[str, str], ...] = ()
    """``tags``: session tags."""
    transitive_tag_keys: tuple[str, ...] = ()
    """``transitiveTagKeys``: session tags passed on to later roles in the chain."""
    source_identity: str | None = None
    """``sourceIdentity`` recorded in CloudTrail."""


@dataclass(frozen=True)
class WebIdentityRole:
    """``aws:assumeRoleWithWebIdentity`` (pulumi-aws ``ProviderAssumeRoleWithWebIdentityArgs``)."""

    role_arn: str
    """``roleArn``."""
    session_name: str | None = None
    """``sessionName``; ``mtasts`` when unset."""
    web_identity_token: str | None = field(default=None, repr=False)
    """``webIdentityToken``: the OIDC token itself (secret)."""
    web_identity_token_file: str | None = None
    """``webIdentityTokenFile``: a file holding the token, read on every assumption (it may be rotated)."""
    duration: str | None = None
    """``duration``, as for :class:`AssumeRole`."""
    policy: str | None = None
    """``policy``."""
    policy_arns: tuple[str, ...] = ()
    """``policyArns``."""


@dataclass(frozen=True)
class AwsSettings:
    """Every ``aws:*`` stack setting the default provider uses, as plain, picklable data.

    Field names are the Python names of pulumi-aws 7's ``Provider`` arguments; the docstrings name the stack key.
    """

    region: str | None = None
    """``aws:region``: the stack's region (the default provider's)."""
    profile: str | None = None
    """``aws:profile``: a named profile of the shared config/credentials files."""
    access_key: str | None = field(default=None, repr=False)
    """``aws:accessKey`` (secret)."""
    secret_key: str | None = field(default=None, repr=False)
    """``aws:secretKey`` (secret)."""
    token: str | None = field(default=None, repr=False)
    """``aws:token``: session token for temporary static credentials (secret)."""
    assume_roles: tuple[AssumeRole, ...] = ()
    """``aws:assumeRoles`` (or the single object of the older ``aws:assumeRole``): a chain, assumed in order."""
    assume_role_with_web_identity: WebIdentityRole | None = None
    """``aws:assumeRoleWithWebIdentity``: assumed first, before the ``assumeRoles`` chain."""
    allowed_account_ids: tuple[str, ...] = ()
    """``aws:allowedAccountIds``: refuse to work in any other account."""
    forbidden_account_ids: tuple[str, ...] = ()
    """``aws:forbiddenAccountIds``: refuse to work in these accounts."""
    default_tags: tuple[tuple[str, str], ...] = ()
    """``aws:defaultTags.tags``: tags the provider adds to every taggable resource."""
    ignore_tags_keys: tuple[str, ...] = ()
    """``aws:ignoreTags.keys``."""
    ignore_tags_key_prefixes: tuple[str, ...] = ()
    """``aws:ignoreTags.keyPrefixes``."""
    shared_config_files: tuple[str, ...] = ()
    """``aws:sharedConfigFiles`` (default ``~/.aws/config``)."""
    shared_credentials_files: tuple[str, ...] = ()
    """``aws:sharedCredentialsFiles`` (default ``~/.aws/credentials``)."""
    skip_credentials_validation: bool | None = None
    """``aws:skipCredentialsValidation``."""
    skip_metadata_api_check: bool | None = None
    """``aws:skipMetadataApiCheck``: never ask the EC2 instance metadata service for credentials."""
    skip_region_validation: bool | None = None
    """``aws:skipRegionValidation``."""
    skip_requesting_account_id: bool | None = None
    """``aws:skipRequestingAccountId``: with it, the account id lists cannot be (and are not) enforced."""
    endpoints: tuple[tuple[str, str], ...] = ()
    """``aws:endpoints``: ``(service, url)`` pairs, services as the provider names them (``s3``, ``sts``)."""
    sts_region: str | None = None
    """``aws:stsRegion``: where STS calls (role assumption, caller identity) go."""
    max_retries: int | None = None
    """``aws:maxRetries``: retries per API call."""
    retry_mode: str | None = None
    """``aws:retryMode``: ``standard`` or ``adaptive``."""
    custom_ca_bundle: str | None = None
    """``aws:customCaBundle``: a PEM file of the CAs to trust."""
    insecure: bool | None = None
    """``aws:insecure``: skip TLS verification (never in production)."""
    http_proxy: str | None = None
    """``aws:httpProxy``."""
    https_proxy: str | None = None
    """``aws:httpsProxy``."""
    no_proxy: str | None = None
    """``aws:noProxy`` (boto3 honours only the ``NO_PROXY`` environment variable; see :func:`boto3_session`)."""
    ec2_metadata_service_endpoint: str | None = None
    """``aws:ec2MetadataServiceEndpoint``."""
    ec2_metadata_service_endpoint_mode: str | None = None
    """``aws:ec2MetadataServiceEndpointMode``: ``IPv4`` or ``IPv6``."""
    s3_use_path_style: bool | None = None
    """``aws:s3UsePathStyle``."""
    s3_us_east1_regional_endpoint: str | None = None
    """``aws:s3UsEast1RegionalEndpoint``: ``legacy`` or ``regional``."""
    use_fips_endpoint: bool | None = None
    """``aws:useFipsEndpoint``."""
    use_dualstack_endpoint: bool | None = None
    """``aws:useDualstackEndpoint``."""
    token_bucket_rate_limiter_capacity: int | None = None
    """``aws:tokenBucketRateLimiterCapacity``."""
    tag_policy_compliance: str | None = None
    """``aws:tagPolicyCompliance``: ``error``, ``warning`` or ``disabled``."""
    user_agents: tuple[str, ...] = ()
    """``aws:userAgents``: product tokens appended to the User-Agent."""

    def to_props(self) -> dict[str, Any]:
        """Plain JSON-able data for a dynamic resource's inputs (wrap it in ``pulumi.Output.secret``)."""
        return json.loads(json.dumps(asdict(self)))  # type: ignore[no-any-return]

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> AwsSettings:
        """The inverse of :meth:`to_props` (lists back to tuples), as a dynamic provider receives them."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = props.get(f.name)
            if value is None:
                continue
            if f.name == "assume_roles":
                value = tuple(_role_from_props(AssumeRole, r) for r in value)
            elif f.name == "assume_role_with_web_identity":
                value = _role_from_props(WebIdentityRole, value)
            elif isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            values[f.name] = value
        return cls(**values)


def _role_from_props(kind: Callable[..., Any], props: Mapping[str, Any]) -> Any:
    return kind(
        **{
            k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
            for k, v in props.items()
        }
    )


# --- reading the stack settings ------------------------------------------------------------------------------


def parse_duration(text: str, where: str) -> int:
    """Seconds in a Go-style duration (``1h``, ``90m``, ``1h30m``), as the provider's ``duration`` takes it."""
    text = text.strip()
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise ConfigError(Problem(where, f"{text!r} is not a duration such as 1h or 90m"))
    seconds = int(total)
    if not MIN_SESSION_SECONDS <= seconds <= MAX_SESSION_SECONDS:
        raise ConfigError(Problem(where, f"{text} is outside STS's 15 minutes to 12 hours for a role session"))
    return seconds


class _Reader:
    """Typed access to a ``pulumi.Config("aws")``-like ``get(key) -> str | None``, with one error per bad key."""

    def __init__(self, get: Callable[[str], str | None]) -> None:
        self._get = get

    def raw(self, key: str) -> Any:
        text = self._get(key)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text  # plain strings are stored unquoted

    def string(self, key: str) -> str | None:
        text = self._get(key)
        return None if text is None or text == "" else text

    def boolean(self, key: str) -> bool | None:
        value = self.raw(key)
        if value is None or isinstance(value, bool):
            return value
        raise ConfigError(Problem(f"aws:{key}", f"must be true or false, not {value!r}"))

    def integer(self, key: str) -> int | None:
        value = self.raw(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        raise ConfigError(Problem(f"aws:{key}", f"must be a non-negative integer, not {value!r}"))

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        return _strings(value, f"aws:{key}")

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        value = self.raw(key)
        if value is None or isinstance(value, dict):
            return value
        raise ConfigError(Problem(f"aws:{key}", f"must be a mapping, not {value!r}"))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise ConfigError(Problem(where, f"must be a list of strings, not {value!r}"))
    return tuple(str(v) for v in value)  # account ids written without quotes arrive as integers


def _tags(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(Problem(where, f"must be a mapping of tag names to strings, not {value!r}"))
    return tuple(sorted((str(k), v) for k, v in value.items()))


_ROLE_KEYS = {
    "roleArn": "role_arn",
    "sessionName": "session_name",
    "externalId": "external_id",
    "duration": "duration",
    "policy": "policy",
    "policyArns": "policy_arns",
    "tags": "tags",
    "transitiveTagKeys": "transitive_tag_keys",
    "sourceIdentity": "source_identity",
}
_WEB_IDENTITY_KEYS = {
    "roleArn": "role_arn",
    "sessionName": "session_name",
    "webIdentityToken": "web_identity_token",
    "webIdentityTokenFile": "web_identity_token_file",
    "duration": "duration",
    "policy": "policy",
    "policyArns": "policy_arns",
}


def _role(value: Any, where: str, keys: Mapping[str, str], kind: Callable[..., Any]) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(Problem(where, f"must be a mapping with roleArn, not {value!r}"))
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise ConfigError(Problem(f"{where}.{unknown[0]}", f"is not a setting; use one of {', '.join(keys)}"))
    arn = value.get("roleArn")
    if not isinstance(arn, str) or not arn.startswith("arn:") or ":role/" not in arn:
        raise ConfigError(Problem(f"{where}.roleArn", f"must be an IAM role ARN, not {arn!r}"))
    args: dict[str, Any] = {}
    for key, name in keys.items():
        item = value.get(key)
        if item is None:
            continue
        if key == "tags":
            args[name] = _tags(item, f"{where}.tags")
        elif key in ("policyArns", "transitiveTagKeys"):
            args[name] = _strings(item, f"{where}.{key}")
        elif not isinstance(item, str):
            raise ConfigError(Problem(f"{where}.{key}", f"must be a string, not {item!r}"))
        else:
            args[name] = item
    if "duration" in args:
        parse_duration(args["duration"], f"{where}.duration")
    if key_file := args.get("web_identity_token_file"):
        args["web_identity_token_file"] = str(Path(key_file).expanduser())
    return kind(**args)


def settings_from(get: Callable[[str], str | None]) -> AwsSettings:
    """:class:`AwsSettings` from a ``key -> raw string value`` lookup (``pulumi.Config("aws").get``)."""
    read = _Reader(get)
    roles_value, legacy = read.raw("assumeRoles"), read.raw("assumeRole")
    if roles_value is not None and legacy is not None:
        raise ConfigError(Problem("aws:assumeRole", "set aws:assumeRoles or aws:assumeRole, not both"))
    if legacy is not None:
        roles_value, roles_key = [legacy], "aws:assumeRole"
    else:
        roles_key = "aws:assumeRoles"
    if roles_value is not None and not isinstance(roles_value, list):
        roles_value = [roles_value]
    roles = tuple(
        _role(r, f"{roles_key}[{i}]" if legacy is None else roles_key, _ROLE_KEYS, AssumeRole)
        for i, r in enumerate(roles_value or [])
    )
    web = read.raw("assumeRoleWithWebIdentity")
    web_identity = (
        _role(web, "aws:assumeRoleWithWebIdentity", _WEB_IDENTITY_KEYS, WebIdentityRole) if web is not None else None
    )
    if web_identity is not None and not (web_identity.web_identity_token or web_identity.web_identity_token_file):
        raise ConfigError(Problem("aws:assumeRoleWithWebIdentity", "needs webIdentityToken or webIdentityTokenFile"))
    default_tags = read.mapping("defaultTags") or {}
    ignore_tags = read.mapping("ignoreTags") or {}
    endpoints: list[tuple[str, str]] = []
    endpoint_value = read.raw("endpoints")
    for i, block in enumerate(
        endpoint_value if isinstance(endpoint_value, list) else [endpoint_value] * bool(endpoint_value)
    ):
        if not isinstance(block, dict) or not all(isinstance(v, str) for v in block.values()):
            raise ConfigError(Problem(f"aws:endpoints[{i}]", f"must map service names to URLs, not {block!r}"))
        endpoints.extend(sorted(block.items()))
    allowed, forbidden = read.strings("allowedAccountIds"), read.strings("forbiddenAccountIds")
    if allowed and forbidden:
        raise ConfigError(
            Problem("aws:forbiddenAccountIds", "set aws:allowedAccountIds or aws:forbiddenAccountIds, not both")
        )
    retry_mode = read.string("retryMode")
    if retry_mode not in (None, "standard", "adaptive"):
        raise ConfigError(Problem("aws:retryMode", f"must be standard or adaptive, not {retry_mode!r}"))
    return AwsSettings(
        region=read.string("region"),
        profile=read.string("profile"),
        access_key=read.string("accessKey"),
        secret_key=read.string("secretKey"),
        token=read.string("token"),
        assume_roles=roles,
        assume_role_with_web_identity=web_identity,
        allowed_account_ids=allowed,
        forbidden_account_ids=forbidden,
        default_tags=_tags(default_tags.get("tags"), "aws:defaultTags.tags"),
        ignore_tags_keys=_strings(ignore_tags.get("keys", []), "aws:ignoreTags.keys"),
        ignore_tags_key_prefixes=_strings(ignore_tags.get("keyPrefixes", []), "aws:ignoreTags.keyPrefixes"),
        shared_config_files=read.strings("sharedConfigFiles"),
        shared_credentials_files=read.strings("sharedCredentialsFiles"),
        skip_credentials_validation=read.boolean("skipCredentialsValidation"),
        skip_metadata_api_check=read.boolean("skipMetadataApiCheck"),
        skip_region_validation=read.boolean("skipRegionValidation"),
        skip_requesting_account_id=read.boolean("skipRequestingAccountId"),
        endpoints=tuple(endpoints),
        sts_region=read.string("stsRegion"),
        max_retries=read.integer("maxRetries"),
        retry_mode=retry_mode,
        custom_ca_bundle=read.string("customCaBundle"),
        insecure=read.boolean("insecure"),
        http_proxy=read.string("httpProxy"),
        https_proxy=read.string("httpsProxy"),
        no_proxy=read.string("noProxy"),
        ec2_metadata_service_endpoint=read.string("ec2MetadataServiceEndpoint"),
        ec2_metadata_service_endpoint_mode=read.string("ec2MetadataServiceEndpointMode"),
        s3_use_path_style=read.boolean("s3UsePathStyle"),
        s3_us_east1_regional_endpoint=read.string("s3UsEast1RegionalEndpoint"),
        use_fips_endpoint=read.boolean("useFipsEndpoint"),
        use_dualstack_endpoint=read.boolean("useDualstackEndpoint"),
        token_bucket_rate_limiter_capacity=read.integer("tokenBucketRateLimiterCapacity"),
        tag_policy_compliance=read.string("tagPolicyCompliance"),
        user_agents=read.strings("userAgents"),
    )


def aws_settings() -> AwsSettings:
    """The running stack's ``aws:*`` settings (call inside the Pulumi program)."""
    import pulumi

    return settings_from(pulumi.Config("aws").get)


# --- explicit providers --------------------------------------------------------------------------------------


def provider_args(region: str, settings: AwsSettings) -> dict[str, Any]:
    """Keyword arguments for ``aws.Provider``: ``settings`` with ``region`` instead of the stack's region."""
    args: dict[str, Any] = {"region": region}
    simple = [f.name for f in fields(AwsSettings)]
    for name in simple:
        value = getattr(settings, name)
        if name in ("region", "assume_roles", "assume_role_with_web_identity", "default_tags", "endpoints"):
            continue
        if name.startswith("ignore_tags"):
            continue
        if value is None or value == ():
            continue
        args[name] = list(value) if isinstance(value, tuple) else value
    # Input types, not plain dicts: the provider's JSON-typed settings are serialized as given, and only the
    # input types translate their keys to the provider's camelCase (roleArn, keyPrefixes, ...).
    import pulumi
    import pulumi_aws as aws

    if settings.assume_roles:
        args["assume_roles"] = [aws.ProviderAssumeRoleArgs(**_role_args(r)) for r in settings.assume_roles]
    if settings.assume_role_with_web_identity is not None:
        web = aws.ProviderAssumeRoleWithWebIdentityArgs(**_role_args(settings.assume_role_with_web_identity))
        # The provider marks accessKey, secretKey and token secret, but not a web identity token: keep it out of
        # the state in plain text.
        secret = settings.assume_role_with_web_identity.web_identity_token is not None
        args["assume_role_with_web_identity"] = pulumi.Output.secret(web) if secret else web
    if settings.default_tags:
        args["default_tags"] = aws.ProviderDefaultTagsArgs(tags=dict(settings.default_tags))
    if settings.ignore_tags_keys or settings.ignore_tags_key_prefixes:
        args["ignore_tags"] = aws.ProviderIgnoreTagsArgs(
            keys=list(settings.ignore_tags_keys) or None, key_prefixes=list(settings.ignore_tags_key_prefixes) or None
        )
    if settings.endpoints:
        args["endpoints"] = [
            aws.ProviderEndpointArgs(**{_PYTHON_ENDPOINT_NAMES.get(k, k): v for k, v in settings.endpoints})
        ]
    return args


def _role_args(role: AssumeRole | WebIdentityRole) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(role):
        value = getattr(role, f.name)
        if value is None or value == ():
            continue
        out[f.name] = dict(value) if f.name == "tags" else list(value) if isinstance(value, tuple) else value
    return out


def provider(name: str, region: str, settings: AwsSettings, opts: pulumi.ResourceOptions | None = None) -> aws.Provider:
    """An explicit AWS provider in ``region`` with the stack's ``aws:*`` settings (it inherits none of them)."""
    import pulumi_aws as aws

    return aws.Provider(name, opts=opts, **provider_args(region, settings))


# --- boto3 inside dynamic providers --------------------------------------------------------------------------


def boto3_session(settings: AwsSettings, region: str) -> boto3.Session:
    """A boto3 session in ``region`` that acts exactly as the stack's default provider does.

    Credentials: static keys if set, else ``profile`` (from the shared files named in the settings), else
    boto3's default chain (environment, web identity, container, and — unless ``skipMetadataApiCheck`` — EC2
    instance metadata); then ``assumeRoleWithWebIdentity``, then each ``assumeRoles`` entry in order, every one
    through STS (``stsRegion``, the ``sts`` endpoint) with the previous step's credentials. Assumed credentials
    refresh themselves before they expire. When ``allowedAccountIds`` or ``forbiddenAccountIds`` is set, the
    final identity's account is checked (``sts:GetCallerIdentity``) unless ``skipRequestingAccountId``.

    The clients it makes use the settings' endpoints, retries, proxies, CA bundle (or ``insecure``), S3
    addressing, FIPS/dual-stack and user agents. Two things boto3 cannot take in-process: more than one
    shared config or credentials file (boto3 reads one of each; a :class:`CredentialsError` says so), and
    ``noProxy`` (botocore reads only the ``NO_PROXY`` environment variable).

    Raises :class:`CredentialsError` with one line naming the setting at fault.
    """
    import botocore.session

    for key, files in (
        ("aws:sharedConfigFiles", settings.shared_config_files),
        ("aws:sharedCredentialsFiles", settings.shared_credentials_files),
    ):
        if len(files) > 1:
            raise CredentialsError(
                Problem(key, f"boto3 reads one file, not {len(files)}: merge them or keep the one the profile is in")
            )
    core = botocore.session.Session()
    if settings.shared_config_files:
        core.set_config_variable("config_file", str(Path(settings.shared_config_files[0]).expanduser()))
    if settings.shared_credentials_files:
        core.set_config_variable("credentials_file", str(Path(settings.shared_credentials_files[0]).expanduser()))
    if settings.ec2_metadata_service_endpoint:
        core.set_config_variable("ec2_metadata_service_endpoint", settings.ec2_metadata_service_endpoint)
    if settings.ec2_metadata_service_endpoint_mode:
        core.set_config_variable(
            "ec2_metadata_service_endpoint_mode", settings.ec2_metadata_service_endpoint_mode.lower()
        )
    if settings.skip_metadata_api_check:
        core.get_component("credential_provider").remove("iam-role")
    try:
        session = _ConfiguredSession(
            settings,
            botocore_session=core,
            profile_name=None if settings.access_key else settings.profile,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key,
            aws_session_token=settings.token,
            region_name=region,
        )
    except Exception as exc:  # ProfileNotFound and friends
        raise CredentialsError(Problem("aws:profile", f"cannot be used: {exc}")) from exc
    sts_region = settings.sts_region or region
    if settings.assume_role_with_web_identity is not None:
        web = settings.assume_role_with_web_identity
        session = _assume(session, settings, sts_region, web, region, "aws:assumeRoleWithWebIdentity")
    for index, role in enumerate(settings.assume_roles):
        session = _assume(session, settings, sts_region, role, region, f"aws:assumeRoles[{index}]")
    if (settings.allowed_account_ids or settings.forbidden_account_ids) and not settings.skip_requesting_account_id:
        _check_account(session, settings, sts_region)
    return session


class _ConfiguredSession(boto3.Session):  # type: ignore[misc]  # boto3 ships no type information
    """A ``boto3.Session`` whose clients follow the settings' endpoints and client options."""

    def __init__(self, settings: AwsSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mtasts_settings = settings

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        """A client of ``service_name`` with the settings' endpoint, TLS verification and client options."""
        settings = self.mtasts_settings
        endpoints = {BOTO3_SERVICE_NAMES.get(k, k): v for k, v in settings.endpoints}
        if service_name in endpoints:
            kwargs.setdefault("endpoint_url", endpoints[service_name])
        if settings.insecure:
            kwargs.setdefault("verify", False)
        elif settings.custom_ca_bundle:
            kwargs.setdefault("verify", str(Path(settings.custom_ca_bundle).expanduser()))
        config = client_config(settings)
        if config is not None:
            given = kwargs.get("config")
            kwargs["config"] = config.merge(given) if given is not None else config
        return super().client(service_name, *args, **kwargs)


def client_config(settings: AwsSettings) -> Any:
    """The ``botocore.config.Config`` the settings imply, or ``None`` when they imply nothing."""
    from botocore.config import Config

    options: dict[str, Any] = {}
    if settings.max_retries is not None or settings.retry_mode:
        retries: dict[str, Any] = {"mode": settings.retry_mode or "standard"}
        if settings.max_retries is not None:
            retries["total_max_attempts"] = settings.max_retries + 1  # the provider counts retries, botocore attempts
        options["retries"] = retries
    proxies = {k: v for k, v in (("http", settings.http_proxy), ("https", settings.https_proxy)) if v}
    if proxies:
        options["proxies"] = proxies
    s3: dict[str, str] = {}
    if settings.s3_use_path_style:
        s3["addressing_style"] = "path"
    if settings.s3_us_east1_regional_endpoint:
        s3["us_east_1_regional_endpoint"] = settings.s3_us_east1_regional_endpoint
    if s3:
        options["s3"] = s3
    if settings.use_fips_endpoint is not None:
        options["use_fips_endpoint"] = settings.use_fips_endpoint
    if settings.use_dualstack_endpoint is not None:
        options["use_dualstack_endpoint"] = settings.use_dualstack_endpoint
    if settings.user_agents:
        options["user_agent_extra"] = " ".join(settings.user_agents)
    return Config(**options) if options else None


def _sts(session: Any, sts_region: str) -> Any:
    return session.client("sts", region_name=sts_region)


def _assume(
    previous: Any,
    settings: AwsSettings,
    sts_region: str,
    role: AssumeRole | WebIdentityRole,
    region: str,
    where: str,
) -> Any:
    """A session whose credentials are ``role``'s, assumed with ``previous``'s, and refreshed before they expire.

    botocore's own fetchers do the work (``botocore.credentials.AssumeRoleCredentialFetcher`` and
    ``AssumeRoleWithWebIdentityCredentialFetcher``, what a profile with ``role_arn`` or
    ``web_identity_token_file`` uses): the STS call, the reading of its answer, and a new call once less than 15
    minutes are left (botocore's window), kept in ``RefreshableCredentials`` that refresh themselves. A profile in a
    generated config file cannot say all a role entry can (session tags, transitive tag keys, source identity,
    session policies, an inline token), so the kit gives the fetchers the request itself (``extra_args``). The
    first credentials are fetched here, so a role that cannot be assumed is one :class:`CredentialsError` now,
    naming the entry, and not an error in the middle of a deployment.
    """
    from botocore.credentials import (
        AssumeRoleCredentialFetcher,
        AssumeRoleWithWebIdentityCredentialFetcher,
        RefreshableCredentials,
    )

    def client_creator(service: str, **_: Any) -> Any:
        # STS with ``previous``'s credentials (refreshed as they are), in stsRegion, through the sts endpoint.
        return _sts(previous, sts_region)

    def refused(exc: Exception) -> CredentialsError:
        return CredentialsError(Problem(where, f"cannot assume {role.role_arn}: {exc}"))

    extra = {"RoleSessionName": role.session_name or "mtasts", **_session_limits(role, where)}
    fetcher: Any
    if isinstance(role, WebIdentityRole):
        token_file, token = role.web_identity_token_file, role.web_identity_token
        try:
            fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
                client_creator,
                (lambda: Path(token_file).read_text().strip()) if token_file else (lambda: token),
                role.role_arn,
                extra_args=extra,
            )
        except Exception as exc:
            raise refused(exc) from exc
    else:
        if role.external_id:
            extra["ExternalId"] = role.external_id
        if role.tags:
            extra["Tags"] = [{"Key": k, "Value": v} for k, v in role.tags]
        if role.transitive_tag_keys:
            extra["TransitiveTagKeys"] = list(role.transitive_tag_keys)
        if role.source_identity:
            extra["SourceIdentity"] = role.source_identity
        try:  # the fetcher reads a session policy as JSON at once (its cache key): a bad one is refused here
            fetcher = AssumeRoleCredentialFetcher(
                client_creator, previous.get_credentials(), role.role_arn, extra_args=extra
            )
        except Exception as exc:
            raise refused(exc) from exc

    def fetch() -> dict[str, Any]:
        try:
            return fetcher.fetch_credentials()  # type: ignore[no-any-return]
        except CredentialsError:
            raise
        except Exception as exc:
            raise refused(exc) from exc

    import botocore.session

    refreshable = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="assume-role"
    )
    core = botocore.session.Session()
    core._credentials = refreshable  # botocore's documented way to give a session refreshable credentials
    return _ConfiguredSession(settings, botocore_session=core, region_name=region)


def _session_limits(role: AssumeRole | WebIdentityRole, where: str) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    if role.duration:
        limits["DurationSeconds"] = parse_duration(role.duration, f"{where}.duration")
    if role.policy:
        limits["Policy"] = role.policy
    if role.policy_arns:
        limits["PolicyArns"] = [{"arn": arn} for arn in role.policy_arns]
    return limits


def _check_account(session: Any, settings: AwsSettings, sts_region: str) -> None:
    """Refuse an account outside ``allowedAccountIds`` or inside ``forbiddenAccountIds``."""
    try:
        account = str(_sts(session, sts_region).get_caller_identity()["Account"])
    except Exception as exc:
        raise CredentialsError(
            Problem("aws:allowedAccountIds", f"cannot read the account id to check it (sts:GetCallerIdentity): {exc}")
        ) from exc
    if settings.allowed_account_ids and account not in settings.allowed_account_ids:
        allowed = ", ".join(settings.allowed_account_ids)
        raise CredentialsError(
            Problem("aws:allowedAccountIds", f"the credentials are for account {account}, not one of {allowed}")
        )
    if account in settings.forbidden_account_ids:
        raise CredentialsError(
            Problem("aws:forbiddenAccountIds", f"the credentials are for account {account}, which is forbidden")
        )
