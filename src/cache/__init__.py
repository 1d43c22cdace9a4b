"""Caching for Python web applications and services.

Three layers, each importing only the one below it:

- ``cache.backend``: storage engines behind one protocol (``InMemoryCache``, ...).
- ``cache.advanced``: tags, invalidation, warming, policies, statistics,
  stale-while-revalidate, written against that protocol.
- ``cache.web``: HTTP response caching and tooling on top of the features.
"""

from typing import TYPE_CHECKING, Any

from cache._types import MISSING, Missing

if TYPE_CHECKING:
    from cache.advanced.memo import (
        cached,
        caching_disabled,
        caching_enabled,
        get_default_cache,
        set_caching_enabled,
        set_default_cache,
    )
    from cache.backend.config import from_env, from_url

__all__ = [
    "MISSING",
    "Missing",
    "__version__",
    "cached",
    "caching_disabled",
    "caching_enabled",
    "from_env",
    "from_url",
    "get_default_cache",
    "set_caching_enabled",
    "set_default_cache",
]

__version__ = "0.1.0"

_LAZY = {
    "from_url": "cache.backend.config",
    "from_env": "cache.backend.config",
    "cached": "cache.advanced.memo",
    "caching_disabled": "cache.advanced.memo",
    "caching_enabled": "cache.advanced.memo",
    "get_default_cache": "cache.advanced.memo",
    "set_caching_enabled": "cache.advanced.memo",
    "set_default_cache": "cache.advanced.memo",
}


def __getattr__(name: str) -> Any:
    """Import the decorator and URL configuration on first use: ``import cache`` stays light."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cache' has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
