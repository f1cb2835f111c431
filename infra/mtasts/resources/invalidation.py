"""A CloudFront invalidation that waits until it is Completed, and the dynamic-resource base of the kit.

The program no longer declares one :class:`PolicyInvalidation` per domain: one rollout step per deployment
(mtasts.resources.rollout) starts, waits for and verifies every invalidation at once, because each of these
held one of the dynamic-provider host's four workers for its whole wait. This module keeps the single-
invalidation helper and :class:`CachedProviderResource`, which the rollout step and the guard build on.

RFC 8461 §8.1 (and §3.1): the new policy must be what senders fetch *before*
the ``_mta-sts`` id changes, or a sender that sees the new id fetches the old
body from the CDN cache and keeps it for max_age. The order is: upload the
object → invalidate the policy path and wait for ``Completed`` → only then
update the TXT record (which ``depends_on`` this resource).

Pulumi has no invalidation resource, so this is a small dynamic provider
using boto3. A new ``trigger`` (the policy id) replaces the resource, which
creates a new invalidation. If the invalidation fails or does not complete
in time, the resource fails and Pulumi leaves the TXT record as it was.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider

__all__ = ["InvalidationError", "PolicyInvalidation", "PolicyInvalidationProvider", "invalidate_and_wait"]

#: How long to wait for CloudFront to report Completed (it usually takes well under a minute).
DEFAULT_TIMEOUT_SECONDS = 900


class InvalidationError(Exception):
    """An invalidation could not be created or did not complete in time."""


def invalidate_and_wait(
    client: Any,
    distribution_id: str,
    paths: list[str],
    caller_reference: str,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Create an invalidation of ``paths`` and return its id once CloudFront reports it Completed.

    ``caller_reference`` must be new for every call: CloudFront answers a reference it has seen with the
    earlier invalidation, which, when a policy is changed back to an earlier version, was completed long
    ago and flushed nothing now. Raises :class:`InvalidationError` with a message that says the TXT record
    was left unchanged.
    """
    try:
        created = client.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": caller_reference},
        )
        invalidation_id = str(created["Invalidation"]["Id"])
        status = str(created["Invalidation"]["Status"])
    except Exception as exc:
        raise InvalidationError(
            f"CloudFront invalidation for distribution {distribution_id} failed ({exc}); "
            "the _mta-sts TXT record was left unchanged (RFC 8461 §8.1)"
        ) from exc
    deadline = clock() + timeout
    # CloudFront says "Completed"; moto, which the tests use, says "COMPLETED".
    while status.lower() != "completed":
        if clock() >= deadline:
            raise InvalidationError(
                f"CloudFront invalidation {invalidation_id} of distribution {distribution_id} did not complete "
                f"within {timeout:.0f} s; the _mta-sts TXT record was left unchanged (RFC 8461 §8.1). "
                "Run `pulumi up` again once it has completed."
            )
        sleep(poll)
        try:
            got = client.get_invalidation(DistributionId=distribution_id, Id=invalidation_id)
        except Exception as exc:
            raise InvalidationError(
                f"could not read CloudFront invalidation {invalidation_id} ({exc}); the _mta-sts TXT record was "
                "left unchanged (RFC 8461 §8.1)"
            ) from exc
        status = str(got["Invalidation"]["Status"])
    return invalidation_id


def _client(props: dict[str, Any]) -> Any:
    import boto3

    session = boto3.session.Session(profile_name=props.get("profile") or None)
    return session.client("cloudfront")


class PolicyInvalidationProvider(ResourceProvider):
    """Dynamic provider: create = invalidate and wait; a new trigger = replace; delete = nothing to undo."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Invalidate the paths and wait for Completed."""
        timeout = float(props.get("timeout", DEFAULT_TIMEOUT_SECONDS))
        # New on every create, never derived from the trigger alone: see invalidate_and_wait.
        reference = f"mtasts-{str(props['trigger'])[:16]}-{uuid.uuid4().hex}"
        invalidation_id = invalidate_and_wait(
            _client(props), props["distributionId"], list(props["paths"]), reference, timeout
        )
        return CreateResult(id_=invalidation_id, outs={**props, "invalidationId": invalidation_id})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace when the trigger, the distribution or the paths change."""
        keys = [k for k in ("trigger", "distributionId", "paths") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(keys), replaces=keys, delete_before_replace=False)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """An invalidation cannot be undone; deleting the resource only forgets it."""


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


class PolicyInvalidation(CachedProviderResource):
    """Invalidate ``paths`` on a distribution whenever ``trigger`` changes, and wait until it is done."""

    invalidation_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        distribution_id: pulumi.Input[str],
        paths: list[str],
        trigger: pulumi.Input[str],
        profile: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "distributionId": distribution_id,
            "paths": paths,
            "trigger": trigger,
            "profile": profile,
            "timeout": timeout,
            "invalidationId": None,
        }
        super().__init__(PolicyInvalidationProvider(), name, props, opts)
