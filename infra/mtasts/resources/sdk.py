"""Every use of the Pulumi SDK beyond its documented API, behind one door, each pinned by a contract test.

The kit depends on ``pulumi>=3.200,<4`` (pyproject.toml). Four things it needs have no public API; each is
wrapped here, and tests/test_sdk.py has one test per wrapper that fails, naming the SDK function, when a release
changes what the kit relies on. Nothing else in the kit touches a private name of the SDK (a component's name is
read through the public ``Resource.pulumi_resource_name``).

* :func:`stack_config_keys`: the names of every config key of the running stack. ``pulumi.Config`` reads a key
  by name only, and the program must also see the ``mta-sts:*`` keys it does not know, to refuse them as
  ``mtasts plan`` does (``pulumi.runtime.config.CONFIG`` and ``get_config_env``).
* :func:`wait`: an Output's value, synchronously, before anything is declared: the previous deployment's outputs
  of a StackReference (``pulumi.runtime.sync_await._sync_await``, which the SDK's own synchronous invokes use).
* :func:`output_from`: an Output built from its parts (the ``pulumi.Output`` constructor), to split one output
  into many without an ``apply`` per key, and to wait for a value without depending on its resources.
* :class:`CachedProviderResource`: a dynamic resource whose provider is serialized once per process
  (``pulumi.dynamic.dynamic.serialize_provider`` and the ``pulumi-python:dynamic:Resource`` type), the base of
  every dynamic resource of the kit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import config as _runtime_config
from pulumi.runtime.sync_await import _sync_await

__all__ = ["CachedProviderResource", "output_from", "stack_config_keys", "wait"]


def stack_config_keys() -> set[str]:
    """The names (``namespace:key``) of every config key of the running stack, or of the mock runtime's."""
    return {k for k in (*_runtime_config.CONFIG.get(), *_runtime_config.get_config_env()) if k}


def wait(output: pulumi.Output[Any]) -> Any:
    """``output``'s value, waited for synchronously (its future, run to completion on the program's loop)."""
    return _sync_await(output.future())


def output_from(
    resources: set[pulumi.Resource] | Awaitable[set[pulumi.Resource]],
    future: Awaitable[Any],
    is_known: Awaitable[bool],
    is_secret: Awaitable[bool],
) -> pulumi.Output[Any]:
    """An Output of ``future``'s value that depends on ``resources`` and is known and secret as the others say."""
    if not isinstance(resources, set):
        resources = asyncio.ensure_future(resources)
    return pulumi.Output(resources, future, is_known, is_secret)


class CachedProviderResource(pulumi.dynamic.Resource):
    """A dynamic resource whose provider is serialized once per process, not once per resource.

    ``pulumi.dynamic.Resource`` serializes its provider for every resource, and each serialization wraps
    pickle's dict-writing methods once more without unwrapping them (pulumi 3.x ``serialize_provider``), so
    a stack with a few hundred dynamic resources hits Python's recursion limit. Our providers hold no
    state worth capturing per resource, so one serialization serves them all.
    """

    _serialized: ClassVar[dict[type, str]] = {}

    def __init__(
        self,
        provider: ResourceProvider,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        kind = type(provider)
        if kind not in self._serialized:
            self._serialized[kind] = serialize_provider(provider)
        props = {**props, "__provider": pulumi.Output.secret(self._serialized[kind])}
        pulumi.CustomResource.__init__(self, f"pulumi-python:{self._resource_type_name}", name, props, opts)
