"""``@cached``: memoize functions and methods in any engine, keyed by their arguments."""

from cache.advanced.memo._methods import CachedClassMethod, CachedStaticMethod
from cache.advanced.memo._protocol import BoundCached, Cached
from cache.advanced.memo._state import (
    caching_disabled,
    caching_enabled,
    get_default_cache,
    set_caching_enabled,
    set_default_cache,
)
from cache.advanced.memo.decorator import cached

__all__ = [
    "BoundCached",
    "Cached",
    "CachedClassMethod",
    "CachedStaticMethod",
    "cached",
    "caching_disabled",
    "caching_enabled",
    "get_default_cache",
    "set_caching_enabled",
    "set_default_cache",
]
