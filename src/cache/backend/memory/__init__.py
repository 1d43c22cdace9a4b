"""The embedded in-memory engine: an adaptive eviction policy over a dict, per-entry TTLs."""

from cache.backend.memory.engine import DEFAULT_MAX_ENTRIES, InMemoryCache

__all__ = ["DEFAULT_MAX_ENTRIES", "InMemoryCache"]
