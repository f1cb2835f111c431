"""State compatibility only: the provider of the per-domain ``PolicyInvalidation`` resources of older stacks.

Nothing declares these resources any more (one rollout step per deployment replaced them, :mod:`.rollout`), but a
stack last deployed before that still holds them in its state, and Pulumi deletes a dynamic resource with the
provider serialized into that state. Dynamic providers are pickled by reference, module and class name
(``pulumi.dynamic.dynamic.serialize_provider``: dill), so this class must stay importable under its names for
that delete to run (here, and at its first home :mod:`mtasts.resources.invalidation`). Deleting an invalidation
only ever forgot it (an invalidation cannot be undone); creating one fails loudly (the base class refuses).
tests/test_provider_state.py keeps every provider name a state may hold.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import ResourceProvider

__all__ = ["PolicyInvalidationProvider"]


class PolicyInvalidationProvider(ResourceProvider):
    """Deletes (forgets) a per-domain invalidation left in an older stack's state; declares nothing."""

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """An invalidation cannot be undone; deleting the resource only forgets it, as it always did."""
