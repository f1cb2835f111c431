"""The Pulumi SDK internals the kit uses (mtasts.resources.sdk), one contract test each.

Each test pins what the kit relies on, so a Pulumi release that changes a private function fails here, naming
it, before it breaks a deployment.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import dill
import pulumi
import pulumi.dynamic
import pytest

from mtasts.resources import sdk
from pulumi_mocks import Mocks, use_mocks


def test_stack_config_keys_names_every_key_of_the_running_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """pulumi.runtime.config: keys set for the program and those passed in PULUMI_CONFIG are both listed."""
    config = pulumi.runtime.config
    saved = dict(config.CONFIG.get())
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"mta-sts:hosting": "shared"}))
    try:
        config.set_all_config({"mta-sts:domains": "{}", "aws:region": "eu-west-1"})
        keys = sdk.stack_config_keys()
    finally:
        config.set_all_config(saved)
    assert {"mta-sts:domains", "aws:region", "mta-sts:hosting"} <= keys


def test_wait_reads_a_stack_references_output_synchronously() -> None:
    """pulumi.runtime.sync_await._sync_await: a StackReference output's value, inside the running program."""
    use_mocks(Mocks(previous_outputs={"shards": {"a.example": 1}}))
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> None:
        reference = pulumi.StackReference("org/mta-sts/test")
        seen["shards"] = sdk.wait(reference.get_output("shards"))
        seen["plain"] = sdk.wait(pulumi.Output.from_input("v"))

    program()
    assert seen == {"shards": {"a.example": 1}, "plain": "v"}


def test_output_from_builds_an_output_from_its_parts() -> None:
    """The pulumi.Output constructor: value, known, secret and resources each come from the part given."""
    use_mocks(Mocks())
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        owner = pulumi.ComponentResource("mtasts:test:Owner", "owner")

        async def value() -> str:
            return "v"

        async def flag(answer: bool) -> bool:
            return answer

        async def resources() -> set[pulumi.Resource]:
            return {owner}

        secret = sdk.output_from(resources(), value(), flag(True), flag(True))
        unknown = sdk.output_from(set(), value(), flag(False), flag(False))

        async def inspect() -> None:
            seen["value"] = await secret.future()
            seen["secret"] = await secret.is_secret()
            seen["resources"] = await secret.resources()
            seen["known"] = await unknown.is_known()

        return pulumi.Output.from_input(asyncio.ensure_future(inspect()))

    program()
    assert seen["value"] == "v"
    assert seen["secret"] is True
    assert {r.pulumi_resource_name for r in seen["resources"]} == {"owner"}
    assert seen["known"] is False


class _Provider(pulumi.dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_="x", outs=props)


class _Thing(sdk.CachedProviderResource):
    def __init__(self, name: str) -> None:
        super().__init__(_Provider(), name, {"value": name})


def test_cached_provider_resource_registers_a_dynamic_resource_with_one_serialization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """serialize_provider runs once per provider type; the resource registers as Pulumi's own dynamic type."""
    mocks = Mocks()
    use_mocks(mocks)
    calls: list[object] = []
    real = sdk.serialize_provider

    def counting(provider: Any) -> str:
        calls.append(provider)
        return real(provider)

    monkeypatch.setattr(sdk, "serialize_provider", counting)
    monkeypatch.setattr(sdk.CachedProviderResource, "_serialized", {})

    @pulumi.runtime.test
    def program() -> None:
        _Thing("one")
        _Thing("two")

    program()
    assert len(calls) == 1
    assert mocks.types["one"] == mocks.types["two"] == "pulumi-python:dynamic:Resource"
    assert mocks.inputs["one"]["value"] == "one"
    # a secret (its value under Pulumi's secret signature), read back as the dynamic-provider host does
    # (pulumi.dynamic.__main__.get_provider): base64 of dill's bytes
    secret = mocks.inputs["two"]["__provider"]
    assert isinstance(secret, dict)
    provider = dill.loads(base64.b64decode(secret["value"]))  # noqa: S301 - bytes this test just serialized
    assert isinstance(provider, _Provider)


def test_a_resources_name_is_public() -> None:
    """Resource.pulumi_resource_name is the name given at construction (what replaced component._name)."""
    use_mocks(Mocks())
    seen: list[str] = []

    @pulumi.runtime.test
    def program() -> None:
        seen.append(pulumi.ComponentResource("mtasts:test:Named", "named-one").pulumi_resource_name)

    program()
    assert seen == ["named-one"]
