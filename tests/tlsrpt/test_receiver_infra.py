"""The opt-in report endpoint under Pulumi mocks, and its URI in every domain's rua."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mtasts.config import parse_stack_settings
from mtasts.errors import ConfigError
from mtasts.plan import plan_stack
from mtasts.resources.reports import HANDLER_FILES
from pulumi_mocks import Run, build  # shared with the program's tests

SETTINGS = {
    "reports": {"endpoint": "tlsrpt.example.net", "retention_days": 90},
    "domains": {
        "example.com": {"mx": ["mx.example.com"]},
        "example.org": {"template": "none", "rua": ["mailto:tls@example.org"]},
    },
}


@pytest.fixture(scope="module")
def run() -> Run:
    return build(SETTINGS)


def test_endpoint_uri_is_in_every_rua_offline() -> None:
    """mtasts plan already publishes https://<endpoint>/v1/report in each _smtp._tls record, after any own URIs."""
    plan = plan_stack(parse_stack_settings(SETTINGS))
    assert [d.tlsrpt_record.value if d.tlsrpt_record else None for d in plan.domains] == [
        "v=TLSRPTv1; rua=https://tlsrpt.example.net/v1/report",
        "v=TLSRPTv1; rua=mailto:tls@example.org,https://tlsrpt.example.net/v1/report",
    ]
    assert plan.domains[0].config.warnings == ()


def test_receiver_resources(run: Run) -> None:
    """Private encrypted bucket with expiry, a Python Lambda, an HTTP API on the custom domain with TLS 1.2."""
    inputs = run.mocks.inputs
    assert inputs["tlsrpt-receiver-expiry"]["rules"][0]["expiration"]["days"] == 90
    assert inputs["tlsrpt-receiver-public-access-block"]["restrictPublicBuckets"] is True
    function = inputs["tlsrpt-receiver-function"]
    assert function["handler"] == "mtasts.tlsrpt.receiver.handler"
    assert function["runtime"] == "python3.12"
    assert inputs["tlsrpt-receiver-api"]["routeKey"] == "POST /v1/report"
    domain = inputs["tlsrpt-receiver-domain"]
    assert domain["domainName"] == "tlsrpt.example.net"
    assert domain["domainNameConfiguration"]["securityPolicy"] == "TLS_1_2"
    assert inputs["tlsrpt-receiver-alias"]["name"] == "tlsrpt.example.net"
    assert run.outputs["reportsEndpoint"] == "https://tlsrpt.example.net/v1/report"
    assert inputs["example.com-tlsrpt-txt"]["records"] == ["v=TLSRPTv1; rua=https://tlsrpt.example.net/v1/report"]


@pytest.mark.parametrize(
    ("reports", "expected"),
    [
        ({"endpoint": "bad host"}, "mta-sts:reports.endpoint:"),
        (
            {"endpoint": "tlsrpt.example.net", "zone": "example.org"},
            "mta-sts:reports.zone: 'example.org' is not a parent",
        ),
        ({"endpoint": "tlsrpt.example.net", "retention_days": 0}, "mta-sts:reports.retention_days: 0 is below 1"),
        ({"endpoint": "tlsrpt.example.net", "bucket": "x"}, "mta-sts:reports.bucket: unknown key"),
        ("tlsrpt.example.net", "mta-sts:reports: expected a mapping"),
    ],
)
def test_invalid_reports_settings(reports: object, expected: str) -> None:
    """The reports setting is validated like the others."""
    with pytest.raises(ConfigError) as info:
        parse_stack_settings({"reports": reports, "domains": {}})
    assert any(line.startswith(expected) for line in info.value.lines()), info.value.lines()


def test_mailbox_adds_ses_inbound_and_a_mailto_rua() -> None:
    """With a mailbox, SES receives mail for it (verified domain, MX, rule storing under mail/) and rua gets mailto."""
    settings = {
        "reports": {"endpoint": "tlsrpt.example.net", "mailbox": "tls-reports@reports.example.net"},
        "domains": {"example.com": {"mx": ["mx.example.com"]}},
    }
    plan = plan_stack(parse_stack_settings(settings))
    assert plan.domains[0].config.rua == (
        "https://tlsrpt.example.net/v1/report",
        "mailto:tls-reports@reports.example.net",
    )
    run = build(settings)
    inputs = run.mocks.inputs
    rule = inputs["tlsrpt-receiver-store-mail"]
    assert rule["recipients"] == ["tls-reports@reports.example.net"]
    assert rule["s3Actions"][0]["objectKeyPrefix"] == "mail/"
    assert rule["tlsPolicy"] == "Require"
    assert inputs["tlsrpt-receiver-mail-mx"]["records"] == ["10 inbound-smtp.eu-west-1.amazonaws.com"]
    assert inputs["tlsrpt-receiver-mail-verification"]["records"] == ["token-reports.example.net"]
    assert "tlsrpt-receiver-active-rules" in inputs


def test_mailbox_must_be_in_the_zone() -> None:
    """A mailbox outside the endpoint's zone is refused, naming the field."""
    with pytest.raises(ConfigError) as info:
        parse_stack_settings(
            {"reports": {"endpoint": "tlsrpt.example.net", "mailbox": "tls@elsewhere.example"}, "domains": {}}
        )
    assert info.value.lines() == [
        "mta-sts:reports.mailbox: its domain 'elsewhere.example' is not in the zone 'example.net'"
    ]


def test_receiver_is_one_component_with_a_private_encrypted_bucket_and_least_privilege(run: Run) -> None:
    """One component parents it all; the bucket is encrypted; the function may only put, read and list reports.

    ListBucket makes HeadObject on a missing key a 404 (not 403); no delete, no wildcard actions.
    """
    regs = run.regs
    assert regs["tlsrpt-receiver"].type == "mtasts:index:TlsRptReceiver"
    children = [r for r in regs.values() if r.name.startswith("tlsrpt-receiver-")]
    assert len(children) > 10
    assert all(r.parent == "tlsrpt-receiver" for r in children)
    inputs = run.mocks.inputs
    encryption = inputs["tlsrpt-receiver-encryption"]["rules"][0]["applyServerSideEncryptionByDefault"]
    assert encryption["sseAlgorithm"] == "AES256"
    assert inputs["tlsrpt-receiver-ownership"]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    statements = json.loads(inputs["tlsrpt-receiver-store"]["policy"])["Statement"]
    actions = sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]
    assert all("*" not in a for a in actions)
    function = inputs["tlsrpt-receiver-function"]
    assert function["environment"]["variables"]["REPORTS_BUCKET"]
    assert sorted(function["code"].assets) == sorted(f"mtasts/{name}" for name in HANDLER_FILES)
