"""The near cache: an in-process tier over Redis, kept coherent by invalidation messages."""

from cache.backend.near.engine import NearCache

__all__ = ["NearCache"]
