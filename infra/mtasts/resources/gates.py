"""What the program checks and reads before it declares anything: nothing is half-deployed when one fails.

:func:`mtasts.resources.program.main` runs them in order: the enforce preflight (:func:`preflight`, live DNS), the
account's applied quotas (:func:`check_quotas`, Service Quotas), the previous deployment's outputs
(:func:`previous_output`) and the tenants a failed deployment left (:func:`tenant_orphans`, CloudFront).
"""

from __future__ import annotations

from typing import Any

import pulumi

from ..plan import StackPlan
from .credentials import AwsSettings
from .credentials import boto3_session as settings_session
from .hosting import previous_hosting
from .orphans import find_orphans
from .quotas import applied_quotas, quota_problems
from .sdk import wait
from .tenants import tenant_name

__all__ = ["boto3_session", "check_quotas", "preflight", "previous_output", "tenant_orphans"]


def boto3_session(settings: AwsSettings, region: str = "us-east-1") -> Any:
    """The boto3 session of the program's own calls (the Service Quotas read), as the stack's ``aws:*`` settings say."""
    return settings_session(settings, region)


def tenant_orphans(
    plan: StackPlan, previous: dict[str, Any], delegated: set[str] | None, settings: AwsSettings, client: Any = None
) -> dict[str, str]:
    """Tenants a failed deployment left under the names of domains whose tenant this deployment creates.

    Those domains are the shared ones not live on shared hosting in the last ``domains`` output (and not pending):
    a tenant the stack holds belongs to a live domain, so it is never taken for an orphan. Each orphan found is
    logged with what CloudFront says about it (mtasts.resources.orphans) and released before its domain's
    tenant is created; one whose host CloudFront finds not pointing at the connection group fails the program
    before anything is declared. When the tenants cannot be listed, a warning says so and nothing is released.
    """
    wanted = {
        tenant_name(d.domain): d.domain
        for d in plan.domains
        if d.config.hosting == "shared"
        and previous_hosting(previous.get(d.domain)) != "shared"
        and not (d.external and delegated is not None and d.domain not in delegated)
    }
    if not wanted:
        return {}
    try:
        client = client or boto3_session(settings).client("cloudfront", region_name="us-east-1")
        found = find_orphans(client, wanted)
    except Exception as exc:  # a failed lookup proves nothing: the create reports a real orphan itself
        pulumi.log.warn(f"could not list the account's distribution tenants ({exc}); orphans left by a failed "
                        "deployment are not looked for")  # fmt: skip
        return {}
    wrong = [o.message() for o in found.values() if o.dns_wrong]
    if wrong:
        raise pulumi.RunError("\n".join(f"error: {m}" for m in wrong))
    for orphan in found.values():
        pulumi.log.warn(orphan.message())
    return {domain: o.tenant_id for domain, o in found.items()}


def previous_output(reference: pulumi.StackReference, name: str) -> object:
    """The stack's own output ``name`` from its last deployment, read synchronously (``None`` if it has none).

    Stack references are resolved in preview too, so the value is always known; Pulumi's SDK waits the same way
    for its synchronous invokes (:func:`mtasts.resources.sdk.wait`).
    """
    output = reference.get_output(name)
    if not isinstance(output, pulumi.Output):
        return None
    return wait(output)


def check_quotas(plan: StackPlan, settings: AwsSettings, client: Any = None) -> None:
    """Refuse, before declaring anything, a stack that would pass one of the account's applied quotas.

    Reads the applied values with the Service Quotas API (``ListServiceQuotas``, us-east-1) and fails with one
    line per quota exceeded, naming its code and the command that raises it (mtasts.resources.quotas).
    """
    if client is None:
        client = boto3_session(settings).client("service-quotas", region_name="us-east-1")
    try:
        applied = applied_quotas(client)
    except Exception as exc:  # without the API, the stack's assumed values are checked
        pulumi.log.warn(f"could not read the account's quotas ({exc}); checking against mta-sts:quotas / defaults")
        applied = {}
    problems = quota_problems(plan.quota_needs(), applied)
    if problems:
        raise pulumi.RunError("quotas exceeded:\n" + "\n".join(f"error: {p}" for p in problems))


def preflight(plan: StackPlan) -> None:
    """Refuse to deploy enforce-mode domains whose live MX hosts the policy does not cover (RFC 8461 §4.1)."""
    from ..checker import preflight as gate  # looked up at call time, so tests can stand in for live DNS

    problems = gate.preflight(plan)
    if problems:
        raise pulumi.RunError("preflight failed:\n" + "\n".join(f"error: {p}" for p in problems))
