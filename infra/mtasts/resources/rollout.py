"""The stack's rollout step, as the program declares it: one dynamic resource per deployment.

What it does when Pulumi runs it (invalidate every changed policy at once, wait together, verify each over HTTPS
before its TXT id changes, RFC 8461 §8.1) is its provider's, :mod:`mtasts.resources.providers.rollout`. Stacks
deployed before the providers moved there hold :class:`PolicyRolloutProvider` under this module's name in their
state (tests/test_provider_state.py), so it stays importable here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from .credentials import AwsSettings
from .providers.rollout import DEFAULT_TIMEOUT_SECONDS, PolicyRolloutProvider
from .sdk import CachedProviderResource

__all__ = ["PolicyRollout", "PolicyRolloutProvider"]


class PolicyRollout(CachedProviderResource):
    """The stack's rollout step; ``published[domain]`` is the id each TXT record carries."""

    published: pulumi.Output[dict[str, str]]
    failures: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        targets: pulumi.Input[Mapping[str, Any]],
        aws_settings: AwsSettings | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        opts: pulumi.ResourceOptions | None = None,
        live: Mapping[str, str] | None = None,
        moving: Sequence[str] = (),
    ) -> None:
        # The stack's aws:* settings as a secret: they may hold static keys or a web identity token, and
        # dynamic-resource inputs are stored in the state (mtasts.resources.credentials).
        credentials = pulumi.Output.secret((aws_settings or AwsSettings()).to_props())
        props = {
            "targets": targets,
            "aws": credentials,
            "timeout": timeout,
            "live": dict(live or {}),  # read by create() only; see PolicyRolloutProvider.create
            "moving": sorted(moving),
            "published": None,
            "failures": None,
        }
        super().__init__(PolicyRolloutProvider(), name, props, opts)
