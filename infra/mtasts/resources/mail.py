"""The report endpoint's mail path: SES inbound for ``mta-sts:reports.mailbox``, reports stored in the bucket.

RFC 8460 §3 lets a ``rua`` be a ``mailto:`` URI; the kit receives such mail with SES (a verified subdomain, its
MX record, a receipt rule that stores each mail under ``mail/``) and writes each mailed report's rows with a second
function (:func:`mtasts.tlsrpt.ingest.mail_handler`). Declared by :class:`mtasts.resources.reports.TlsRptReceiver`
as children of its component.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..tlsrpt.receiver import MAIL_PREFIX
from .credentials import AwsSettings
from .providers.rule_set import ActiveRuleSetGuardProvider
from .sdk import CachedProviderResource

__all__ = [
    "MAIL_PREFIX",
    "ActiveRuleSetGuard",
    "MailPath",
    "MailSettings",
    "Store",
    "declare_mail_path",
    "verification_records",
]

#: Seconds one invocation may run: a 10 MiB report parses in well under one.
FUNCTION_TIMEOUT = 10


@dataclass(frozen=True)
class MailSettings:
    """The ``mta-sts:reports`` settings of the mail path."""

    mailbox: str
    """``local@domain`` receiving reports (a dedicated subdomain, never a zone apex or a policy domain)."""
    zone_id: pulumi.Input[str]
    """Route53 zone holding the mailbox domain's records."""
    region: pulumi.Input[str]
    """The stack's region, where SES receives mail."""
    replace_active_rule_set: bool
    """Whether the kit may replace another active SES receipt rule set."""
    aws_settings: AwsSettings | None
    """The stack's ``aws:*`` settings, for the rule-set guard's SES call."""


@dataclass(frozen=True)
class Store:
    """What the mail path shares with the endpoint: its bucket, and the role and archive of its functions."""

    bucket: aws.s3.Bucket
    """The endpoint's private bucket."""
    role: aws.iam.Role
    """The functions' role (GetObject and PutObject on the bucket's objects)."""
    code: pulumi.Archive
    """The functions' archive (:data:`mtasts.resources.reports.HANDLER_FILES`)."""
    metrics_namespace: pulumi.Input[str]
    """The CloudWatch namespace of the report metrics."""
    per_domain_metrics: str
    """``1`` when each policy domain is a metrics dimension, else ``0``."""


@dataclass(frozen=True)
class MailPath:
    """What the endpoint keeps of its mail path."""

    rule_set_guard: ActiveRuleSetGuard
    """The guard of SES's single active receipt rule set."""
    function: aws.lambda_.Function
    """The function writing the rows of each mailed report."""


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


def declare_mail_path(name: str, mail: MailSettings, store: Store, child: pulumi.ResourceOptions) -> MailPath:
    """SES inbound for the mailbox: verified domain, MX record, a receipt rule storing mail in the bucket.

    The mailbox's domain is a dedicated subdomain (the config refuses a zone apex and the policy domains), so
    the MX published there takes over nobody's mail; an MX that is already there makes the deployment fail
    rather than be overwritten. The ``_amazonses`` TXT record keeps the values it already has (see
    :func:`verification_records`) and is left in place on destroy, as they may not be the kit's. SES has one
    active receipt rule set per account and region: :class:`ActiveRuleSetGuard` refuses to replace another
    unless ``replace_active_rule_set`` says so. The resources are children of the endpoint's component (``child``),
    under the names they always had.
    """
    mailbox = mail.mailbox
    domain = mailbox.rpartition("@")[2]
    identity = aws.ses.DomainIdentity(f"{name}-mail-domain", domain=domain, opts=child)
    verification_name = f"_amazonses.{domain}"
    # Read at deploy time (an invoke, in preview too): the data source lists the zone and filters by name.
    existing = aws.route53.get_records_output(
        zone_id=mail.zone_id, name_regex="^" + verification_name.replace(".", "\\.") + "\\.?$"
    )
    verification = aws.route53.Record(
        f"{name}-mail-verification",
        zone_id=mail.zone_id,
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
        zone_id=mail.zone_id,
        name=domain,
        type="MX",
        ttl=3600,
        records=[pulumi.Output.from_input(mail.region).apply(lambda r: f"10 inbound-smtp.{r}.amazonaws.com")],
        opts=child,
    )
    account = aws.get_caller_identity_output().account_id
    policy = aws.s3.BucketPolicy(
        f"{name}-bucket-policy",
        bucket=store.bucket.id,
        policy=pulumi.Output.all(store.bucket.arn, account).apply(
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
        s3_actions=[{"bucket_name": store.bucket.bucket, "object_key_prefix": MAIL_PREFIX, "position": 1}],
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy])),
    )
    rule_set_guard = ActiveRuleSetGuard(
        f"{name}-active-rules-guard",
        rule_set_name=rule_set.rule_set_name,
        region=mail.region,
        replace=mail.replace_active_rule_set,
        aws_settings=mail.aws_settings,
        opts=child,
    )
    aws.ses.ActiveReceiptRuleSet(
        f"{name}-active-rules",
        rule_set_name=rule_set.rule_set_name,
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[rule_set_guard, rule])),
    )
    return MailPath(rule_set_guard, _mail_rows(name, store, account, child))


def _mail_rows(
    name: str, store: Store, account: pulumi.Input[str], child: pulumi.ResourceOptions
) -> aws.lambda_.Function:
    """Rows for mailed reports: an S3 event notification invokes the mail-rows function per new ``mail/`` object.

    The function (:func:`mtasts.tlsrpt.ingest.mail_handler`, "Using AWS Lambda with Amazon S3") shares the rua
    function's archive and role (GetObject and PutObject on the bucket's objects).
    """
    function = aws.lambda_.Function(
        f"{name}-mail-rows",
        runtime="python3.12",
        handler="mtasts.tlsrpt.ingest.mail_handler",
        role=store.role.arn,
        code=store.code,
        timeout=FUNCTION_TIMEOUT,
        memory_size=256,
        environment={
            "variables": {
                "REPORTS_BUCKET": store.bucket.bucket,
                "METRICS_NAMESPACE": store.metrics_namespace,
                "METRICS_PER_DOMAIN": store.per_domain_metrics,
            }
        },
        opts=child,
    )
    permission = aws.lambda_.Permission(
        f"{name}-mail-rows-invoke",
        action="lambda:InvokeFunction",
        function=function.name,
        principal="s3.amazonaws.com",
        source_arn=store.bucket.arn,
        source_account=account,
        opts=child,
    )
    aws.s3.BucketNotification(
        f"{name}-mail-notification",
        bucket=store.bucket.id,
        lambda_functions=[
            {
                "lambda_function_arn": function.arn,
                "events": ["s3:ObjectCreated:*"],
                "filter_prefix": MAIL_PREFIX,
            }
        ],
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[permission])),
    )
    return function
