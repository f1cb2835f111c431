"""The stack's HTTPS TLS-RPT endpoint (RFC 8460 §5.4), opt-in with ``mta-sts:reports``.

``https://<endpoint>/v1/report`` → API Gateway HTTP API (custom domain, TLS 1.2, regional certificate) →
the Lambda handler :func:`mtasts.tlsrpt.receiver.handler` → a private, encrypted bucket whose objects expire
after ``retention_days``. The URI is known offline, so ``mtasts plan`` already shows it in every rua.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from ..config import REPORTS_PATH
from .bucket import private_bucket

__all__ = ["TlsRptReceiver", "TlsRptReceiverArgs"]

#: SES stores each received mail here, raw, for `mtasts reports summarize`.
MAIL_PREFIX = "mail/"

PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: The kit's files the Lambda function ships: the handler and what it imports, nothing else (no ``__pycache__``,
#: no Pulumi code), so the archive changes only when they do. tests/tlsrpt/test_receiver.py imports the handler
#: from exactly these files with the standard library alone, as the Lambda runtime will.
HANDLER_FILES = ("__init__.py", "tlsrpt/__init__.py", "tlsrpt/report.py", "tlsrpt/receiver.py")


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
        self.function = aws.lambda_.Function(
            f"{name}-function",
            runtime="python3.12",
            handler="mtasts.tlsrpt.receiver.handler",
            role=role.arn,
            code=pulumi.AssetArchive({f"mtasts/{f}": pulumi.FileAsset(str(PACKAGE_DIR / f)) for f in HANDLER_FILES}),
            timeout=30,
            memory_size=256,
            environment={"variables": {"REPORTS_BUCKET": self.bucket.bucket}},
            opts=child,
        )
        self.api = aws.apigatewayv2.Api(
            f"{name}-api",
            protocol_type="HTTP",
            route_key=f"POST {REPORTS_PATH}",
            target=self.function.arn,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
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
            f"{name}-mapping", api_id=self.api.id, domain_name=domain.id, stage="$default", opts=child
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

        Only one receipt rule set can be active per account and region: this one becomes the active set.
        """
        mailbox = str(args.mailbox)
        domain = mailbox.rpartition("@")[2]
        identity = aws.ses.DomainIdentity(f"{name}-mail-domain", domain=domain, opts=child)
        verification = aws.route53.Record(
            f"{name}-mail-verification",
            zone_id=args.zone_id,
            name=f"_amazonses.{domain}",
            type="TXT",
            ttl=600,
            records=[identity.verification_token],
            opts=child,
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
        aws.ses.ActiveReceiptRuleSet(f"{name}-active-rules", rule_set_name=rule_set.rule_set_name, opts=child)
        aws.ses.ReceiptRule(
            f"{name}-store-mail",
            rule_set_name=rule_set.rule_set_name,
            recipients=[mailbox],
            enabled=True,
            scan_enabled=True,
            tls_policy="Require",
            s3_actions=[{"bucket_name": self.bucket.bucket, "object_key_prefix": MAIL_PREFIX, "position": 1}],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy])),
        )
