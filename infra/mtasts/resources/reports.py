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

The mail path (SES inbound for ``mailbox``, with the guard of SES's single active rule set) is :mod:`.mail`.
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
from .mail import FUNCTION_TIMEOUT, MailSettings, Store, declare_mail_path
from .providers.rule_set import ActiveRuleSetGuardProvider as ActiveRuleSetGuardProvider  # its name in older states

__all__ = [
    "ActiveRuleSetGuardProvider",
    "TlsRptReceiver",
    "TlsRptReceiverArgs",
]


PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: The kit's files the Lambda function ships: the handler and what it imports, nothing else (no ``__pycache__``,
#: no Pulumi code), so the archive changes only when they do. tests/tlsrpt/test_receiver.py imports the handler
#: from exactly these files with the standard library alone, as the Lambda runtime will.
HANDLER_FILES = (
    "__init__.py",
    "tlsrpt/__init__.py",
    "tlsrpt/envelope.py",
    "tlsrpt/report.py",
    "tlsrpt/metrics.py",
    "tlsrpt/rows.py",
    "tlsrpt/receiver.py",
    "tlsrpt/ingest.py",
)
#: Where the archive holds the stack's policy domains (``mtasts.tlsrpt.receiver.DOMAINS_FILE``): a file, not an
#: environment variable, as a function's environment holds at most 4 KB (Lambda quotas) and a stack 10,000 names.
DOMAINS_ASSET = "mtasts/tlsrpt/policy_domains.json"


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
            mail = MailSettings(
                mailbox=args.mailbox,
                zone_id=args.zone_id,
                region=args.region,
                replace_active_rule_set=args.replace_active_rule_set,
                aws_settings=args.aws_settings,
            )
            store = Store(self.bucket, role, self.code, self.metrics_namespace, self.per_domain_metrics)
            path = declare_mail_path(name, mail, store, child)
            self.rule_set_guard, self.mail_function = path.rule_set_guard, path.function
        self.uri = f"https://{args.endpoint}{REPORTS_PATH}"
        self.register_outputs({"uri": self.uri, "bucket": self.bucket.bucket})
