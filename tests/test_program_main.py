"""The Pulumi entry point itself: stack config from Pulumi's config, one-line errors, preflight switch."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from mtasts.resources import gates, program
from pulumi_mocks import Mocks, use_mocks


@pytest.fixture(autouse=True)
def no_quota_api(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The Service Quotas read answers from a fake client (no AWS credentials, no network)."""
    seen: list[object] = []
    monkeypatch.setattr(gates, "boto3_session", lambda settings: FakeSession(seen))
    return seen


class FakeSession:
    """Stands in for boto3's session: its service-quotas client lists nothing."""

    def __init__(self, seen: list[object]) -> None:
        self.seen = seen

    def client(self, service: str, region_name: str | None = None) -> object:
        """A client whose ListServiceQuotas lists no quota."""
        self.seen.append((service, region_name))
        return type("C", (), {"list_service_quotas": staticmethod(lambda **kw: {"Quotas": []})})()


def run_main(config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Mocks:
    mocks = Mocks()
    use_mocks(mocks)
    pulumi.runtime.set_all_config({f"mta-sts:{k}": json.dumps(v) for k, v in config.items()})
    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exported.setdefault(name, value))

    @pulumi.runtime.test
    def entry() -> pulumi.Output[Any]:
        program.main()
        return pulumi.Output.from_input(exported)

    try:
        entry()
    finally:
        pulumi.runtime.set_all_config({})
    return mocks


def test_main_reads_pulumi_config_and_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() reads mta-sts:* from Pulumi's config, plans with the repository's templates and declares the domain."""
    calls: list[object] = []
    monkeypatch.setattr("mtasts.checker.preflight.preflight", lambda plan, net=None: calls.append(plan) or [])
    mocks = run_main({"domains": {"example.com": {"template": "enforce", "mx": ["mx.example.com"]}}}, monkeypatch)
    assert mocks.inputs["example.com-policy"]["content"].startswith("version: STSv1\r\nmode: enforce\r\n")
    assert len(calls) == 1


def test_main_turns_bad_config_into_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Invalid stack config stops the program with Pulumi's RunError (no traceback), one line per problem."""
    with pytest.raises(pulumi.RunError) as info:
        run_main(
            {"domains": {"example.com": {"max_age": 40000000, "mx": ["m.example.com"]}}, "colour": "blue"}, monkeypatch
        )
    lines = str(info.value).splitlines()
    assert lines[0] == "invalid stack config:"
    assert "error: mta-sts:colour: unknown setting" in lines[1]
    assert lines[2] == "error: domains.example.com.max_age: 40000000 is above 31557600 (RFC 8461 §3.2)"


def test_preflight_failure_stops_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """An uncovered live MX stops the program before any resource is declared."""
    from mtasts.errors import Problem

    monkeypatch.setattr(
        "mtasts.checker.preflight.preflight",
        lambda plan, net=None: [Problem("domains.example.com.mx", "live MX host mx9.example.com is not covered")],
    )
    with pytest.raises(pulumi.RunError, match=re.escape("error: domains.example.com.mx: live MX host mx9.example.com")):
        run_main({"domains": {"example.com": {"template": "enforce", "mx": ["mx.example.com"]}}}, monkeypatch)


def test_preflight_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """mta-sts:preflight: false skips the live lookup entirely."""

    def boom(*_: object) -> list[object]:
        raise AssertionError("preflight ran")

    monkeypatch.setattr("mtasts.checker.preflight.preflight", boom)
    mocks = run_main(
        {"preflight": False, "domains": {"example.com": {"template": "enforce", "mx": ["mx.example.com"]}}}, monkeypatch
    )
    assert "example.com-distribution" in mocks.inputs


def test_main_says_an_empty_domains_key_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mta-sts:domains:` with no value is "empty" in pulumi up too, as in mtasts plan, not "missing"."""
    with pytest.raises(pulumi.RunError) as info:
        run_main({"domains": None}, monkeypatch)
    assert str(info.value).splitlines()[1].startswith("error: mta-sts:domains: is empty;")
    with pytest.raises(pulumi.RunError) as info:
        run_main({"preflight": False}, monkeypatch)
    assert str(info.value).splitlines()[1].startswith("error: mta-sts:domains: is missing;")
