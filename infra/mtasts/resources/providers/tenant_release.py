"""Releasing a distribution tenant: disable it with its whole configuration, delete it, wait until it is gone.

Used when a domain moves from shared to dedicated hosting (mtasts.resources.shared.tenant_handover) and for a
tenant a failed deployment left behind (mtasts.resources.orphans). What the calls send follows the Terraform
AWS provider's own disable and delete (``internal/service/cloudfront/distribution_tenant.go``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

from .cloudfront import cloudfront_client

__all__ = ["RELEASE_TIMEOUT_SECONDS", "TenantReleaseProvider", "disabled_configuration", "release_tenant"]


#: Longest wait for a tenant to be disabled everywhere, deleted, and gone.
RELEASE_TIMEOUT_SECONDS = 1_800.0


def disabled_configuration(tenant: Mapping[str, Any], tenant_id: str, etag: str) -> dict[str, Any]:
    """The ``UpdateDistributionTenant`` request that disables ``tenant`` (a ``GetDistributionTenant`` answer's).

    The tenant's whole configuration as it is, with ``Enabled`` false, as the Terraform AWS provider sends it
    (``disableDistributionTenant`` in ``distribution_tenant.go``): DistributionId, Domains ("You must specify at
    least one domain", UpdateDistributionTenant; a domain item "can contain only a domain property", so each
    one's status is dropped), Parameters (required ones "must" have a value), ConnectionGroupId and
    Customizations (its certificate keeps being presented until the tenant is disabled).
    """
    request: dict[str, Any] = {
        "Id": tenant_id,
        "IfMatch": etag,
        "DistributionId": tenant["DistributionId"],
        "Domains": [{"Domain": d["Domain"]} for d in tenant.get("Domains") or []],
        "Enabled": False,
    }
    for key in ("Parameters", "ConnectionGroupId", "Customizations"):
        if tenant.get(key):
            request[key] = tenant[key]
    return request


def release_tenant(
    client: Any,
    tenant_id: str,
    *,
    timeout: float = RELEASE_TIMEOUT_SECONDS,
    poll: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Disable the tenant, wait until CloudFront deployed that, delete it, wait until it is gone.

    ``"released"``, or ``"absent"`` when the tenant was already gone (idempotent). CloudFront deletes only a
    disabled tenant whose last change is deployed (``ResourceNotDisabled`` otherwise), and only its deletion
    frees the host name for a standard distribution (``CNAMEAlreadyExists`` until then), so this returns only
    once ``GetDistributionTenant`` answers ``EntityNotFound`` (the provider's ``waitDistributionTenantDeleted``).
    A changed ETag (``PreconditionFailed``, ``InvalidIfMatchVersion``) is re-read and the delete retried. One
    deadline for the whole release; a ``TimeoutError`` names the step it was waiting for.
    """
    errors = client.exceptions
    deadline = clock() + timeout

    def wait(step: str) -> None:
        if clock() >= deadline:
            raise TimeoutError(f"tenant {tenant_id}: {step} not done within {timeout:.0f} s")
        sleep(min(poll, max(0.0, deadline - clock())))

    def deployed() -> dict[str, Any]:
        while True:
            got: dict[str, Any] = client.get_distribution_tenant(Identifier=tenant_id)
            if str(got["DistributionTenant"].get("Status", "Deployed")).lower() == "deployed":
                return got
            wait("deployment")

    try:
        got = deployed()
    except errors.EntityNotFound:
        return "absent"
    try:
        if got["DistributionTenant"].get("Enabled", True):
            tenant = got["DistributionTenant"]
            client.update_distribution_tenant(**disabled_configuration(tenant, tenant_id, got["ETag"]))
            got = deployed()
        while True:
            try:
                client.delete_distribution_tenant(Id=tenant_id, IfMatch=got["ETag"])
                break
            except (errors.PreconditionFailed, errors.InvalidIfMatchVersion, errors.ResourceNotDisabled):
                wait("deletion")
                got = deployed()
        while True:
            client.get_distribution_tenant(Identifier=tenant_id)
            wait("removal after delete")
    except errors.EntityNotFound:  # gone (deleted by this release, or meanwhile by someone else)
        return "released"


class TenantReleaseProvider(ResourceProvider):
    """Dynamic provider: create releases the tenant; nothing to update or undo."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Disable and delete the tenant (see :func:`release_tenant`)."""
        client = cloudfront_client(props)
        outcome = release_tenant(client, str(props["tenantId"]))
        return CreateResult(id_=f"release-{props['tenantId']}", outs={**props, "outcome": outcome})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A release happens once; a later run with the same tenant changes nothing."""
        return DiffResult(changes=olds.get("tenantId") != news.get("tenantId"), replaces=["tenantId"])

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """A deleted tenant cannot come back; forgetting the release is all there is."""
