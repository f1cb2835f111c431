"""One set of AWS credentials for the whole stack: the default provider's ``aws:*`` settings, everywhere.

Pulumi configures the *default* AWS provider from the stack's ``aws:*`` settings, but an explicit
``aws.Provider`` (the us-east-1 one CloudFront's certificates need) starts from nothing but the environment,
and the boto3 calls inside dynamic providers (the CloudFront invalidation, anything else that runs in the
dynamic-provider host) use boto3's default credential chain. A stack that deploys through an assumed role, a
profile or an account allow-list would then do part of its work as someone else, in another account. The
settings are read once (:mod:`mtasts.resources.aws_settings`) and this module hands the same ones to both:

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

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from ..errors import MtastsError, Problem
from .aws_settings import AssumeRole, AwsSettings, WebIdentityRole, aws_settings, parse_duration, settings_from

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
    "settings_from",
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


class CredentialsError(MtastsError):
    """The AWS credentials the stack settings describe cannot be used (wrong account, failed role assumption)."""


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
