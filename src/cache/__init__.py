"""Caching for Python web applications and services.

Three layers, each importing only the one below it:

- ``cache.backend``: storage engines behind one protocol (``InMemoryCache``, ...).
- ``cache.advanced``: tags, invalidation, warming, policies, statistics,
  stale-while-revalidate, written against that protocol.
- ``cache.web``: HTTP response caching and tooling on top of the features.
"""

from cache._types import MISSING, Missing

__all__ = ["MISSING", "Missing", "__version__"]

__version__ = "0.1.0"
