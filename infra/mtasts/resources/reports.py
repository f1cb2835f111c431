"""The stack's HTTPS TLS-RPT endpoint (RFC 8460 §5.4), opt-in with ``mta-sts:reports``.

``https://<endpoint>/v1/report`` → API Gateway HTTP API (custom domain, TLS 1.2, regional certificate, stage
throttling) → the Lambda handler :func:`mtasts.tlsrpt.receiver.handler` (reserved concurrency) → a private,
encrypted bucket whose objects expire after ``retention_days``. The URI is known offline, so ``mtasts plan``
already shows it in every rua. The function ships the stack's domain list and stores only reports for them.

Volume is bounded twice: the ``$default`` stage's throttle (``rate_limit`` requests/s, ``burst_limit``; API
Gateway answers 429 beyond it, without invoking the function) and the function's reserved concurrency, which
caps both its parallel invocations and its share of the account's Lambda concurrency. The default
``execute-api`` endpoint is disabled, so the custom domain is the only way in. See docs/reports.md for the
worst-case monthly cost at these limits.

Why over 400 lines: one component, the endpoint, declared with its API, function, bucket, mail path and the
guard of SES's single active rule set, which depend on each other's names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from ..config import REPORTS_PATH
from .bucket import private_bucket
from .credentials import AwsSettings
from .providers.rule_set import ActiveRuleSetGuardProvider
from .sdk import CachedProviderResource

__all__ = [
    "ActiveRuleSetGuard",
    "ActiveRuleSetGuardProvider",
    "TlsRptReceiver",
    "TlsRptReceiverArgs",
    "verification_records",
]

#: SES stores each received mail here, raw, for `mtasts reports summarize`.
MAIL_PREFIX = "mail/"

PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: The kit's files the Lambda function ships: the handler and what it imports, nothing else (no ``__pycache__``,
#: no Pulumi code), so the archive changes only when they do. tests/tlsrpt/test_receiver.py imports the handler
#: from exactly these files with the standard library alone, as the Lambda runtime will.
HANDLER_FILES = (
    "__init__.py",
    "tlsrpt/__init__.py",
    "tlsrpt/report.py",
    "tlsrpt/metrics.py",
    "tlsrpt/rows.py",
    "tlsrpt/receiver.py",
    "tlsrpt/ingest.py",
)
#: Where the archive holds the stack's policy domains (``mtasts.tlsrpt.receiver.DOMAINS_FILE``): a file, not an
#: environment variable, as a function's environment holds at most 4 KB (Lambda quotas) and a stack 10,000 names.
DOMAINS_ASSET = "mtasts/tlsrpt/policy_domains.json"
#: Seconds one invocation may run: a 10 MiB report parses in well under one.
FUNCTION_TIMEOUT = 10


class ActiveRuleSetGuard(CachedProviderResource):
    """Refuses to let the kit replace an active SES receipt rule set that is not its own (see the provider)."""

    previous: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        rule_set_name: pulumi.Input[str],
        region: pulumi.Input[str],
        replace: bool,
        aws_settings: AwsSettings | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "ruleSetName": rule_set_name,
            "region": region,
            "replace": replace,
            "aws": pulumi.Output.secret((aws_settings or AwsSettings()).to_props()),
            "previous": None,
        }
        super().__init__(ActiveRuleSetGuardProvider(), name, props, opts)


def _field(obj: Any, snake: str, camel: str) -> Any:
    """A field of an invoke result: output types answer attributes, plain dicts keys in either spelling."""
    if isinstance(obj, dict):
        return obj.get(snake, obj.get(camel))
    return getattr(obj, snake, None)


def verification_records(existing: Any, name: str, token: str) -> list[str]:
    """The ``_amazonses`` TXT values to publish: those already at ``name`` and ``token``.

    SES verifies a domain per region, each with its own token, all in the one ``_amazonses`` TXT record: the
    values already there (another region's, or an earlier identity's) are kept, so that verifying the mailbox
    here never unverifies the domain elsewhere. ``existing`` is Route53's ``resource_record_sets`` listing
    (None when empty); its TXT values come quoted.
    """
    values: list[str] = []
    for record_set in existing or []:
        set_name = str(_field(record_set, "name", "name") or "").rstrip(".").lower()
        if set_name != name or _field(record_set, "type", "type") != "TXT":
            continue
        for record in _field(record_set, "resource_records", "resourceRecords") or []:
            value = _field(record, "value", "value")
            if isinstance(value, str) and value:
                values.append(value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value)
    return sorted({*values, token})


@dataclass(frozen=True)
class TlsRptReceiverArgs:
    """Settings of the report endpoint."""

    endpoint: str
    """Host name of the endpoint, e.g. ``tlsrpt.example.net``."""
    zone_id: pulumi.Input[str]
    """Route53 zone holding the endpoint's records."""
    retention_days: int
    """Days raw reports are kept."""
    mailbox: str | None = None
    """``local@domain`` receiving reports by mail through SES inbound, stored under ``mail/`` in the bucket."""
    region: pulumi.Input[str] = "us-east-1"
    """The stack's region, where SES receives mail (it must be one that offers SES inbound)."""
    domains: tuple[str, ...] = ()
    """The stack's policy domains (A-labels): the only ones whose reports the endpoint stores."""
    rate_limit: int = 2
    """Steady requests per second the API stage lets through (API Gateway throttling); more get 429."""
    burst_limit: int = 20
    """Requests the API stage lets through at once above the steady rate."""
    reserved_concurrency: int | None = 2
    """The function's reserved concurrency (its most parallel invocations); None reserves none."""
    max_body_bytes: int = 1024 * 1024
    """Largest request body the function accepts."""
    replace_active_rule_set: bool = False
    """Whether the mail path may replace an active SES receipt rule set that is not the kit's."""
    aws_settings: AwsSettings | None = None
    """The stack's ``aws:*`` settings, for the rule set check's own AWS calls (mtasts.resources.credentials)."""
    metrics_namespace: str = ""
    """CloudWatch namespace of the ingestion metrics (:mod:`mtasts.tlsrpt.metrics`); empty writes none."""
    per_domain_metrics: bool = False
    """Also write the per-domain metrics (``PolicyDomain`` dimension; cost in docs/reports.md)."""


class TlsRptReceiver(pulumi.ComponentResource):
    """Receives TLS-RPT reports over HTTPS and stores them raw in S3."""

    def __init__(self, name: str, args: TlsRptReceiverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mtasts:index:TlsRptReceiver", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = private_bucket(name, child).bucket
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-expiry",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-raw-reports",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": args.retention_days},
                }
            ],
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-logs",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-store",
            role=role.id,
            policy=self.bucket.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"{arn}/*"},
                            # ListBucket makes HeadObject on a missing key answer 404, not 403.
                            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
                        ],
                    }
                )
            ),
            opts=child,
        )
        assets: dict[str, Any] = {f"mtasts/{f}": pulumi.FileAsset(str(PACKAGE_DIR / f)) for f in HANDLER_FILES}
        assets[DOMAINS_ASSET] = pulumi.StringAsset(json.dumps(sorted(set(args.domains))))
        self.metrics_namespace = args.metrics_namespace
        self.per_domain_metrics = "1" if args.per_domain_metrics else "0"
        self.role = role
        self.code = pulumi.AssetArchive(assets)
        self.function = aws.lambda_.Function(
            f"{name}-function",
            runtime="python3.12",
            handler="mtasts.tlsrpt.receiver.handler",
            role=role.arn,
            code=self.code,
            timeout=FUNCTION_TIMEOUT,
            memory_size=256,
            reserved_concurrent_executions=(args.reserved_concurrency if args.reserved_concurrency is not None else -1),
            environment={
                "variables": {
                    "REPORTS_BUCKET": self.bucket.bucket,
                    "MAX_BODY_BYTES": str(args.max_body_bytes),
                    "METRICS_NAMESPACE": self.metrics_namespace,
                    "METRICS_PER_DOMAIN": self.per_domain_metrics,
                }
            },
            opts=child,
        )
        # Not the "quick create" form (target on the Api): its auto-created $default stage cannot be throttled.
        # A new name, so that a stack deployed with the quick-create API (named "-api") gets a new API instead of
        # an update that would leave the old auto-created stage in the way of this one.
        self.api = aws.apigatewayv2.Api(
            f"{name}-http-api", protocol_type="HTTP", disable_execute_api_endpoint=True, opts=child
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=self.function.arn,
            payload_format_version="2.0",
            opts=child,
        )
        route = aws.apigatewayv2.Route(
            f"{name}-route",
            api_id=self.api.id,
            route_key=f"POST {REPORTS_PATH}",
            target=integration.id.apply(lambda i: f"integrations/{i}"),
            opts=child,
        )
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": args.rate_limit,
                "throttling_burst_limit": args.burst_limit,
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[route])),
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/POST{REPORTS_PATH}"),
            opts=child,
        )
        certificate = aws.acm.Certificate(
            f"{name}-certificate", domain_name=args.endpoint, validation_method="DNS", opts=child
        )
        validation = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-certificate-validation-record",
            zone_id=args.zone_id,
            name=validation.resource_record_name,
            type=validation.resource_record_type,
            records=[validation.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        validated = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=child,
        )
        domain = aws.apigatewayv2.DomainName(
            f"{name}-domain",
            domain_name=args.endpoint,
            domain_name_configuration={
                "certificate_arn": validated.certificate_arn,
                "endpoint_type": "REGIONAL",
                "security_policy": "TLS_1_2",
            },
            opts=child,
        )
        aws.apigatewayv2.ApiMapping(
            f"{name}-mapping",
            api_id=self.api.id,
            domain_name=domain.id,
            stage=self.stage.name,
            # The domain takes one mapping without a path: a new API's mapping can only come after the old is gone.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
        )
        aws.route53.Record(
            f"{name}-alias",
            zone_id=args.zone_id,
            name=args.endpoint,
            type="A",
            aliases=[
                {
                    "name": domain.domain_name_configuration.target_domain_name,
                    "zone_id": domain.domain_name_configuration.hosted_zone_id,
                    "evaluate_target_health": False,
                }
            ],
            opts=child,
        )
        if args.mailbox:
            self._mail_path(name, args, child)
        self.uri = f"https://{args.endpoint}{REPORTS_PATH}"
        self.register_outputs({"uri": self.uri, "bucket": self.bucket.bucket})

    def _mail_path(self, name: str, args: TlsRptReceiverArgs, child: pulumi.ResourceOptions) -> None:
        """SES inbound for the mailbox: verified domain, MX record, a receipt rule storing mail in the bucket.

        The mailbox's domain is a dedicated subdomain (the config refuses a zone apex and the policy domains), so
        the MX published there takes over nobody's mail; an MX that is already there makes the deployment fail
        rather than be overwritten. The ``_amazonses`` TXT record keeps the values it already has (see
        :func:`verification_records`) and is left in place on destroy, as they may not be the kit's. SES has one
        active receipt rule set per account and region: :class:`ActiveRuleSetGuard` refuses to replace another
        unless ``replace_active_rule_set`` says so.
        """
        mailbox = str(args.mailbox)
        domain = mailbox.rpartition("@")[2]
        identity = aws.ses.DomainIdentity(f"{name}-mail-domain", domain=domain, opts=child)
        verification_name = f"_amazonses.{domain}"
        # Read at deploy time (an invoke, in preview too): the data source lists the zone and filters by name.
        existing = aws.route53.get_records_output(
            zone_id=args.zone_id, name_regex="^" + verification_name.replace(".", "\\.") + "\\.?$"
        )
        verification = aws.route53.Record(
            f"{name}-mail-verification",
            zone_id=args.zone_id,
            name=verification_name,
            type="TXT",
            ttl=600,
            records=pulumi.Output.all(existing.resource_record_sets, identity.verification_token).apply(
                lambda v: verification_records(v[0], verification_name, str(v[1]))
            ),
            allow_overwrite=True,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        aws.ses.DomainIdentityVerification(
            f"{name}-mail-domain-verification",
            domain=identity.domain,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[verification])),
        )
        aws.route53.Record(
            f"{name}-mail-mx",
            zone_id=args.zone_id,
            name=domain,
            type="MX",
            ttl=3600,
            records=[pulumi.Output.from_input(args.region).apply(lambda r: f"10 inbound-smtp.{r}.amazonaws.com")],
            opts=child,
        )
        account = aws.get_caller_identity_output().account_id
        policy = aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, account).apply(
                lambda v: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "SesStoresReportMail",
                                "Effect": "Allow",
                                "Principal": {"Service": "ses.amazonaws.com"},
                                "Action": "s3:PutObject",
                                "Resource": f"{v[0]}/{MAIL_PREFIX}*",
                                "Condition": {"StringEquals": {"AWS:SourceAccount": v[1]}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        rule_set = aws.ses.ReceiptRuleSet(f"{name}-rules", rule_set_name=f"{name}-rules", opts=child)
        rule = aws.ses.ReceiptRule(
            f"{name}-store-mail",
            rule_set_name=rule_set.rule_set_name,
            recipients=[mailbox],
            enabled=True,
            scan_enabled=True,
            tls_policy="Require",
            s3_actions=[{"bucket_name": self.bucket.bucket, "object_key_prefix": MAIL_PREFIX, "position": 1}],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy])),
        )
        self.rule_set_guard = ActiveRuleSetGuard(
            f"{name}-active-rules-guard",
            rule_set_name=rule_set.rule_set_name,
            region=args.region,
            replace=args.replace_active_rule_set,
            aws_settings=args.aws_settings,
            opts=child,
        )
        aws.ses.ActiveReceiptRuleSet(
            f"{name}-active-rules",
            rule_set_name=rule_set.rule_set_name,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.rule_set_guard, rule])),
        )
        self._mail_rows(name, account, child)

    def _mail_rows(self, name: str, account: pulumi.Input[str], child: pulumi.ResourceOptions) -> None:
        """Rows for mailed reports: an S3 event notification invokes the mail-rows function per new ``mail/`` object.

        The function (:func:`mtasts.tlsrpt.ingest.mail_handler`, "Using AWS Lambda with Amazon S3") shares the rua
        function's archive and role (GetObject and PutObject on the bucket's objects).
        """
        self.mail_function = aws.lambda_.Function(
            f"{name}-mail-rows",
            runtime="python3.12",
            handler="mtasts.tlsrpt.ingest.mail_handler",
            role=self.role.arn,
            code=self.code,
            timeout=FUNCTION_TIMEOUT,
            memory_size=256,
            environment={
                "variables": {
                    "REPORTS_BUCKET": self.bucket.bucket,
                    "METRICS_NAMESPACE": self.metrics_namespace,
                    "METRICS_PER_DOMAIN": self.per_domain_metrics,
                }
            },
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-mail-rows-invoke",
            action="lambda:InvokeFunction",
            function=self.mail_function.name,
            principal="s3.amazonaws.com",
            source_arn=self.bucket.arn,
            source_account=account,
            opts=child,
        )
        aws.s3.BucketNotification(
            f"{name}-mail-notification",
            bucket=self.bucket.id,
            lambda_functions=[
                {
                    "lambda_function_arn": self.mail_function.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": MAIL_PREFIX,
                }
            ],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[permission])),
        )
