"""State compatibility only: the per-domain ``PolicyInvalidation`` provider's first home.

Stacks last deployed before the rollout step hold their invalidations' provider under this module's name, and
Pulumi deletes those resources with it (see :mod:`mtasts.resources.providers.invalidation`).
"""

from .providers.invalidation import PolicyInvalidationProvider

__all__ = ["PolicyInvalidationProvider"]
