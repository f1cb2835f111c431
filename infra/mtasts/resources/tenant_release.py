"""Releasing a distribution tenant, as the program declares it: one dynamic resource per tenant released.

What it does when Pulumi runs it (disable, delete, wait until gone) is its provider's,
:mod:`mtasts.resources.providers.tenant_release`; states hold that provider under this module's name too
(tests/test_provider_state.py), so it stays importable here.
"""

from __future__ import annotations

import pulumi

from .credentials import AwsSettings
from .providers.tenant_release import TenantReleaseProvider
from .sdk import CachedProviderResource

__all__ = ["TenantRelease", "TenantReleaseProvider"]


class TenantRelease(CachedProviderResource):
    """Releases one tenant's host name during a move to dedicated hosting (:func:`tenant_handover`)."""

    outcome: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        tenant_id: pulumi.Input[str],
        aws_settings: AwsSettings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        credentials = pulumi.Output.secret(aws_settings.to_props())
        props = {"tenantId": tenant_id, "aws": credentials, "outcome": None}
        super().__init__(TenantReleaseProvider(), name, props, opts)
