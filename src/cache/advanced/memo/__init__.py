"""``@cached``: memoize functions and methods in any engine, keyed by their arguments."""

from cache.advanced.memo.decorator import (
    BoundCached,
    Cached,
    CachedClassMethod,
    CachedStaticMethod,
    cached,
    caching_disabled,
    caching_enabled,
    get_default_cache,
    set_caching_enabled,
    set_default_cache,
)

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
