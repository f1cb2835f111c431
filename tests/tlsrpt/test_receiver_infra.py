"""The opt-in report endpoint under Pulumi mocks, and its URI in every domain's rua."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi.resource
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mtasts.config import parse_stack_settings
from mtasts.errors import ConfigError
from mtasts.plan import plan_stack
from mtasts.resources.reports import DOMAINS_ASSET, HANDLER_FILES
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
    assert inputs["tlsrpt-receiver-route"]["routeKey"] == "POST /v1/report"
    assert inputs["tlsrpt-receiver-integration"]["integrationType"] == "AWS_PROXY"
    assert inputs["tlsrpt-receiver-integration"]["payloadFormatVersion"] == "2.0"
    assert inputs["tlsrpt-receiver-http-api"]["disableExecuteApiEndpoint"] is True
    assert inputs["tlsrpt-receiver-invoke"]["sourceArn"].endswith("/*/POST/v1/report")
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
    assert sorted(function["code"].assets) == sorted([*(f"mtasts/{name}" for name in HANDLER_FILES), DOMAINS_ASSET])


def test_volume_limits_have_safe_defaults(run: Run) -> None:
    """Defaults: the stage lets 2 requests/s through (burst 20), 2 reserved executions, bodies up to 1 MiB."""
    inputs = run.mocks.inputs
    stage = inputs["tlsrpt-receiver-stage"]
    assert stage["name"] == "$default"
    assert stage["autoDeploy"] is True
    assert stage["defaultRouteSettings"] == {"throttlingRateLimit": 2, "throttlingBurstLimit": 20}
    assert inputs["tlsrpt-receiver-mapping"]["stage"] == "$default"
    function = inputs["tlsrpt-receiver-function"]
    assert function["reservedConcurrentExecutions"] == 2
    assert function["timeout"] == 10
    assert function["environment"]["variables"]["MAX_BODY_BYTES"] == str(1024 * 1024)


def test_volume_limits_follow_the_settings() -> None:
    """rate_limit, burst_limit, reserved_concurrency (false: none reserved) and max_body_kib reach the resources."""
    limits = {"rate_limit": 50, "burst_limit": 500, "reserved_concurrency": False, "max_body_kib": 256}
    settings = {**SETTINGS, "reports": {**SETTINGS["reports"], **limits}}  # type: ignore[dict-item]
    inputs = build(settings).mocks.inputs
    assert inputs["tlsrpt-receiver-stage"]["defaultRouteSettings"] == {
        "throttlingRateLimit": 50,
        "throttlingBurstLimit": 500,
    }
    function = inputs["tlsrpt-receiver-function"]
    assert function["reservedConcurrentExecutions"] == -1
    assert function["environment"]["variables"]["MAX_BODY_BYTES"] == str(256 * 1024)


def test_the_function_ships_the_stacks_domains(run: Run) -> None:
    """The archive holds the stack's policy domains (A-labels, sorted): the only ones whose reports are stored."""
    code = run.mocks.inputs["tlsrpt-receiver-function"]["code"]
    assert json.loads(code.assets[DOMAINS_ASSET].text) == ["example.com", "example.org"]


def test_10000_domains_fit_the_shipped_list() -> None:
    """A 10,000-domain list is a file in the archive, far past the 4 KB a Lambda environment may hold."""
    domains = {f"customer-{i:05d}.example": {"template": "none"} for i in range(10_000)}
    plan = plan_stack(parse_stack_settings({"reports": SETTINGS["reports"], "domains": domains}))
    shipped = json.dumps(sorted(d.domain for d in plan.domains))
    assert len(shipped) > 4096
    assert json.loads(shipped)[9_999] == "customer-09999.example"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("rate_limit", 0, "mta-sts:reports.rate_limit: expected a whole number of requests per second from 1 to 10000"),
        ("rate_limit", 10001, "mta-sts:reports.rate_limit: expected a whole number"),
        ("rate_limit", "fast", "mta-sts:reports.rate_limit: expected a whole number"),
        ("rate_limit", True, "mta-sts:reports.rate_limit: expected a whole number"),
        ("burst_limit", 5001, "mta-sts:reports.burst_limit: expected a whole number of requests from 1 to 5000"),
        ("reserved_concurrency", 0, "mta-sts:reports.reserved_concurrency: expected a whole number"),
        ("reserved_concurrency", True, "mta-sts:reports.reserved_concurrency: expected a whole number"),
        ("max_body_kib", 8, "mta-sts:reports.max_body_kib: expected a whole number of KiB from 16 to 10240"),
        ("replace_active_rule_set", "yes", "mta-sts:reports.replace_active_rule_set: expected true or false"),
    ],
)
def test_invalid_volume_settings(key: str, value: object, expected: str) -> None:
    """Each limit is a whole number in its documented range; the error names the field."""
    with pytest.raises(ConfigError) as info:
        parse_stack_settings({"reports": {"endpoint": "tlsrpt.example.net", key: value}, "domains": {}})
    assert any(line.startswith(expected) for line in info.value.lines()), info.value.lines()


def test_an_api_from_the_quick_create_days_is_replaced_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API has a new name, so an old quick-create API is replaced, and the mapping goes before its successor."""
    delete_first: dict[str, bool] = {}
    original = pulumi.resource.register_resource

    def wrapper(res: Any, ty: str, name: str, custom: bool, remote: bool, *rest: Any, **k: Any) -> Any:
        opts = rest[2] if len(rest) > 2 else None
        delete_first[name] = bool(opts and opts.delete_before_replace)
        return original(res, ty, name, custom, remote, *rest, **k)

    monkeypatch.setattr(pulumi.resource, "register_resource", wrapper)
    run = build(SETTINGS)
    assert "tlsrpt-receiver-api" not in run.regs
    assert run.regs["tlsrpt-receiver-http-api"].type == "aws:apigatewayv2/api:Api"
    assert "routeKey" not in run.mocks.inputs["tlsrpt-receiver-http-api"]
    assert delete_first["tlsrpt-receiver-mapping"] is True
    assert delete_first["tlsrpt-receiver-stage"] is False


def test_mailed_reports_get_rows_from_an_s3_notification() -> None:
    """With a mailbox, S3 invokes the mail-rows function (the rua archive) for new mail/ objects; none without."""
    settings = {
        "reports": {"endpoint": "tlsrpt.example.net", "mailbox": "tls-reports@reports.example.net"},
        "domains": {"example.com": {"mx": ["mx.example.com"]}},
    }
    inputs = build(settings).mocks.inputs
    function = inputs["tlsrpt-receiver-mail-rows"]
    assert function["handler"] == "mtasts.tlsrpt.ingest.mail_handler"
    assert sorted(function["code"].assets) == sorted(inputs["tlsrpt-receiver-function"]["code"].assets)
    permission = inputs["tlsrpt-receiver-mail-rows-invoke"]
    assert (permission["principal"], permission["action"]) == ("s3.amazonaws.com", "lambda:InvokeFunction")
    assert permission["sourceArn"]
    assert permission["sourceAccount"]
    (target,) = inputs["tlsrpt-receiver-mail-notification"]["lambdaFunctions"]
    assert (target["events"], target["filterPrefix"]) == (["s3:ObjectCreated:*"], "mail/")
    assert "tlsrpt-receiver-mail-rows" not in build(SETTINGS).mocks.inputs


def test_both_functions_write_metrics_in_the_stacks_namespace() -> None:
    """The rua and mail-rows functions get the stack's metrics namespace; per-domain metrics only when asked."""
    settings = {
        "reports": {"endpoint": "tlsrpt.example.net", "mailbox": "tls-reports@reports.example.net"},
        "domains": {"example.com": {"mx": ["mx.example.com"]}},
    }
    inputs = build(settings).mocks.inputs
    for name in ("tlsrpt-receiver-function", "tlsrpt-receiver-mail-rows"):
        variables = inputs[name]["environment"]["variables"]
        assert variables["METRICS_NAMESPACE"] == f"mtasts/{pulumi.get_project()}-{pulumi.get_stack()}"
        assert variables["METRICS_PER_DOMAIN"] == "0"
    on = build({**settings, "alerts": {"per_domain_metrics": True}}).mocks.inputs
    assert on["tlsrpt-receiver-function"]["environment"]["variables"]["METRICS_PER_DOMAIN"] == "1"
    assert on["tlsrpt-receiver-mail-rows"]["environment"]["variables"]["METRICS_PER_DOMAIN"] == "1"
