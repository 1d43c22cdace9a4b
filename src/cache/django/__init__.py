"""Django integration (extra ``django``): the cache backend and the HTTP middleware together.

- :class:`CacheBackend` — ``CACHES = {"default": {"BACKEND": "cache.django.CacheBackend",
  "LOCATION": "redis://localhost:6379/0"}}``: ``django.core.cache.cache`` over
  any engine of this package, with Django's semantics, and the package's
  features (tags, prefix invalidation, stale-while-revalidate, statistics)
  reachable from it.
- :class:`CacheMiddleware` and :func:`cache_policy` — the HTTP cache of
  :mod:`cache.web.django`, re-exported: ``MIDDLEWARE = ["cache.django.CacheMiddleware", ...]``.

See ``docs/django.md`` for the settings of both.
"""

from __future__ import annotations

from cache.django.backend import CacheBackend
from cache.web.django import CacheMiddleware, cache_policy

__all__ = ["CacheBackend", "CacheMiddleware", "cache_policy"]
