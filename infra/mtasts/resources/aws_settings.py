"""The stack's ``aws:*`` settings as plain data: what the default AWS provider is configured with.

:func:`aws_settings` reads every ``aws:*`` key the provider understands (the names of pulumi-aws 7's ``Provider``,
camelCase as in ``Pulumi.<stack>.yaml``) into :class:`AwsSettings`, a frozen, picklable dataclass, with one
:class:`~mtasts.errors.ConfigError` line per bad key. :mod:`mtasts.resources.credentials` hands the same settings
to explicit providers and to the boto3 sessions of dynamic providers.

Why about 400 lines: :class:`AwsSettings` documents each of the provider's ~50 settings in one field each, and
the reader checks each one's type; splitting the table would only spread one list over two files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem

__all__ = ["AssumeRole", "AwsSettings", "WebIdentityRole", "aws_settings", "parse_duration", "settings_from"]

#: STS limits for a role session: 15 minutes to 12 hours (STS API Reference, AssumeRole, DurationSeconds).
MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 43_200
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


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
