"""The SES report mailbox: a dedicated subdomain, existing _amazonses values kept, no rule set taken over."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pulumi
import pulumi.resource
import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mtasts.config import parse_stack_settings
from mtasts.errors import ConfigError
from mtasts.plan import plan_stack
from mtasts.resources.mail import verification_records
from mtasts.resources.program import deploy
from mtasts.resources.providers.rule_set import ActiveRuleSetError, ActiveRuleSetGuardProvider, check_active_rule_set
from pulumi_mocks import Mocks, recording, use_mocks

REPORTS = {"endpoint": "tlsrpt.example.net", "mailbox": "tls-reports@reports.example.net"}
SETTINGS = {"reports": REPORTS, "domains": {"example.com": {"mx": ["mx.example.com"]}}}


def refused(settings: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_stack_settings(settings)
    return info.value.lines()


def test_the_zone_apex_is_refused() -> None:
    """A mailbox at the zone apex would put the kit's MX on the zone's own name: refused, naming the field."""
    lines = refused({"reports": {**REPORTS, "mailbox": "tls@example.net"}, "domains": {}})
    assert len(lines) == 1
    assert lines[0].startswith("mta-sts:reports.mailbox: its domain 'example.net' is the zone apex; use a dedicated")


def test_a_policy_domain_is_refused() -> None:
    """A mailbox on one of the stack's mail domains would take over that domain's mail: refused."""
    settings = {"reports": REPORTS, "domains": {"reports.example.net": {"mx": ["mx.example.net"]}}}
    (line,) = refused(settings)
    assert line.startswith("mta-sts:reports.mailbox: its domain 'reports.example.net' is one of mta-sts:domains")


def test_a_domains_zone_apex_is_refused() -> None:
    """A mailbox at the apex of a policy domain's own zone is refused too."""
    domains = {"mail.corp.example.net": {"mx": ["mx.example.net"], "zone": "corp.example.net"}}
    (line,) = refused({"reports": {**REPORTS, "mailbox": "tls@corp.example.net"}, "domains": domains})
    assert "'corp.example.net' is the apex of a domain's zone" in line


def test_a_dedicated_subdomain_is_accepted() -> None:
    """The documented shape, a subdomain of the endpoint's zone that is no policy domain, passes."""
    config = parse_stack_settings(SETTINGS)
    assert config.settings["reports"]["mail_uri"] == "mailto:tls-reports@reports.example.net"  # type: ignore[index]
    assert config.settings["reports"]["replace_active_rule_set"] is False  # type: ignore[index]


def test_verification_records_keep_what_is_there() -> None:
    """Quoted values already at _amazonses.<domain> (another region's token) are kept beside the new token."""
    name = "_amazonses.reports.example.net"
    existing = [
        {"name": name + ".", "type": "TXT", "resourceRecords": [{"value": '"token-us-east-1"'}]},
        {"name": name + ".", "type": "MX", "resource_records": [{"value": "10 other"}]},
        SimpleNamespace(name="other.example.net.", type="TXT", resource_records=[SimpleNamespace(value='"x"')]),
        SimpleNamespace(name=name.upper(), type="TXT", resource_records=[SimpleNamespace(value='"token-eu-west-1"')]),
    ]
    assert verification_records(existing, name, "token-eu-west-1") == ["token-eu-west-1", "token-us-east-1"]
    assert verification_records(None, name, "t") == ["t"]


class ZoneMocks(Mocks):
    """The shared mocks, with a zone that already holds an _amazonses TXT record."""

    def __init__(self, existing: list[dict[str, Any]]) -> None:
        super().__init__()
        self.existing = existing

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:route53/getRecords:getRecords":
            self.calls.append((args.token, dict(args.args)))
            return {
                "zoneId": args.args["zoneId"],
                "nameRegex": args.args["nameRegex"],
                "resourceRecordSets": self.existing,
            }
        return super().call(args)


@pytest.fixture
def retained(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """Each registered resource's retain_on_delete option, by name."""
    seen: dict[str, bool] = {}
    original = pulumi.resource.register_resource

    def wrapper(
        res: Any, ty: str, name: str, custom: bool, remote: bool, new_dep: Any, props: Any, opts: Any, *a: Any, **k: Any
    ) -> Any:
        seen[name] = bool(opts and opts.retain_on_delete)
        return original(res, ty, name, custom, remote, new_dep, props, opts, *a, **k)

    monkeypatch.setattr(pulumi.resource, "register_resource", wrapper)
    return seen


def run_program(mocks: Mocks, settings: dict[str, Any]) -> dict[str, Any]:
    use_mocks(mocks)
    regs: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        with recording() as seen:
            outputs = deploy(plan_stack(parse_stack_settings(settings)), stack="test", previous_retirement={})
        regs.update(seen)
        return pulumi.Output.from_input(outputs).apply(lambda _: None)

    program()
    return regs


def test_an_existing_amazonses_record_is_merged_and_retained(retained: dict[str, bool]) -> None:
    """The zone's _amazonses values are read at deploy time and kept; the record is overwritten, never deleted."""
    existing = [
        {
            "name": "_amazonses.reports.example.net.",
            "type": "TXT",
            "ttl": 600,
            "resourceRecords": [{"value": '"token-from-us-east-1"'}],
        }
    ]
    mocks = ZoneMocks(existing)
    run_program(mocks, SETTINGS)
    record = mocks.inputs["tlsrpt-receiver-mail-verification"]
    assert record["name"] == "_amazonses.reports.example.net"
    assert record["records"] == ["token-from-us-east-1", "token-reports.example.net"]
    assert record["allowOverwrite"] is True
    assert retained["tlsrpt-receiver-mail-verification"] is True
    assert retained["tlsrpt-receiver-mail-mx"] is False  # a dedicated name: the kit's own, deleted with it
    (lookup,) = [args for token, args in mocks.calls if token == "aws:route53/getRecords:getRecords"]
    assert lookup["nameRegex"] == r"^_amazonses\.reports\.example\.net\.?$"
    assert lookup["zoneId"] == "ZEXAMPLENET"


def test_the_rule_set_is_activated_only_after_the_guard() -> None:
    """The active rule set depends on the guard (and the rule); the guard carries the region and the setting."""
    mocks = Mocks()
    regs = run_program(mocks, {**SETTINGS, "reports": {**REPORTS, "replace_active_rule_set": True}})
    guard = mocks.inputs["tlsrpt-receiver-active-rules-guard"]
    assert guard["ruleSetName"] == "tlsrpt-receiver-rules"
    assert guard["region"] == "eu-west-1"
    assert guard["replace"] is True
    assert set(regs["tlsrpt-receiver-active-rules"].depends_on) >= {
        "tlsrpt-receiver-active-rules-guard",
        "tlsrpt-receiver-store-mail",
    }


@pytest.fixture
def ses(fake_aws_credentials: None) -> Iterator[Any]:
    """A moto SES in eu-west-1."""
    with mock_aws():
        yield boto3.client("ses", region_name="eu-west-1")


def test_no_active_rule_set_or_the_kits_own_passes(ses: Any) -> None:
    """Nothing active, or the kit's own set active, lets the kit activate its set."""
    assert check_active_rule_set(ses, "tlsrpt-receiver-rules", False, "eu-west-1") == ""
    ses.create_receipt_rule_set(RuleSetName="tlsrpt-receiver-rules")
    ses.set_active_receipt_rule_set(RuleSetName="tlsrpt-receiver-rules")
    assert check_active_rule_set(ses, "tlsrpt-receiver-rules", False, "eu-west-1") == "tlsrpt-receiver-rules"


def test_another_active_rule_set_is_refused_unless_allowed(ses: Any) -> None:
    """Another active set is refused with one line naming it and the setting; with the setting it is replaced."""
    ses.create_receipt_rule_set(RuleSetName="corp-inbound")
    ses.set_active_receipt_rule_set(RuleSetName="corp-inbound")
    with pytest.raises(ActiveRuleSetError) as info:
        check_active_rule_set(ses, "tlsrpt-receiver-rules", False, "eu-west-1")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("SES in eu-west-1 already has the active receipt rule set 'corp-inbound'")
    assert "mta-sts:reports.replace_active_rule_set" in message
    assert check_active_rule_set(ses, "tlsrpt-receiver-rules", True, "eu-west-1") == "corp-inbound"


def test_the_provider_checks_on_create_and_on_every_diff(ses: Any) -> None:
    """create records what was active; diff (preview and up) checks again and refuses a set activated since."""
    provider = ActiveRuleSetGuardProvider()
    props = {"ruleSetName": "tlsrpt-receiver-rules", "region": "eu-west-1", "replace": False, "aws": {}}
    created = provider.create(props)
    assert created.outs is not None
    assert created.outs["previous"] == ""
    assert provider.diff("id", created.outs, props).changes is False
    ses.create_receipt_rule_set(RuleSetName="someone-else")
    ses.set_active_receipt_rule_set(RuleSetName="someone-else")
    with pytest.raises(ActiveRuleSetError):
        provider.diff("id", created.outs, props)
    with pytest.raises(ActiveRuleSetError):
        provider.create(props)
    allowed = {**props, "replace": True}
    assert provider.diff("id", created.outs, allowed).changes is True
    assert provider.update("id", created.outs, allowed).outs == {**allowed, "previous": "someone-else"}
