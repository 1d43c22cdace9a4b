"""Storage engines behind one protocol.

``InMemoryCache`` is the embedded default. Every engine implements
:class:`CacheBackend`, so the features in ``cache.advanced`` run on any of them.
"""

from cache.backend.base import CacheBackend
from cache.backend.memory import DEFAULT_MAX_ENTRIES, InMemoryCache

__all__ = ["DEFAULT_MAX_ENTRIES", "CacheBackend", "InMemoryCache"]
