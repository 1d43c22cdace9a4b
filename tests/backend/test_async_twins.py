"""Async twins stay async: through ProxyBackend, InstrumentedCache and the protocol's defaults.

A backend whose sync methods fail proves that no async call falls back to a
blocking sync call (which would stall the event loop on a network engine).
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from cache._types import MISSING
from cache.advanced import CacheStatistics, InstrumentedCache
from cache.backend import InMemoryCache, ProxyBackend
from cache.backend.base import CacheBackend

ASYNC = sorted(
    name
    for name, member in vars(CacheBackend).items()
    if name.startswith("a") and inspect.iscoroutinefunction(member)
)

#: Twins the protocol composes from other async calls: the engine below keeps the defaults.
COMPOSED = {"adecr", "ahas_key", "aget_or_set"}


def _async_only() -> CacheBackend:
    """An engine whose async twins work (over a real InMemoryCache) and whose sync calls fail."""
    inner = InMemoryCache()
    namespace: dict[str, Any] = {}
    for name in ASYNC:
        sync = name[1:]
        if name in COMPOSED:
            continue

        async def twin(self: Any, *args: Any, _sync: str = sync, **kwargs: Any) -> Any:
            return getattr(inner, _sync)(*args, **kwargs)

        namespace[name] = twin

        def blocking(self: Any, *args: Any, _sync: str = sync, **kwargs: Any) -> Any:
            raise AssertionError(f"sync {_sync}() called from async code")

        namespace[sync] = blocking
    for name in CacheBackend.__abstractmethods__:
        namespace.setdefault(name, namespace.get(name) or (lambda self, *a, **k: None))
    return type("AsyncOnly", (CacheBackend,), namespace)()  # type: ignore[no-any-return]


def test_every_async_twin_is_covered() -> None:
    assert {"aget", "aincr", "adecr", "attl", "ahas_key", "aget_or_set", "aindex_scan"} <= set(
        ASYNC
    )


@pytest.mark.parametrize("wrap", ["engine", "proxy", "instrumented"])
async def test_async_calls_never_run_a_sync_call(wrap: str) -> None:
    stats = CacheStatistics()
    cache = _async_only()
    if wrap == "proxy":
        cache = ProxyBackend(cache)
    elif wrap == "instrumented":
        cache = InstrumentedCache(cache, stats)
    await cache.aset("k", 1, 60)
    assert await cache.aget("k") == 1
    assert await cache.aadd("k", 2) is False
    assert await cache.aincr("k", 4) == 5 and await cache.adecr("k", 2) == 3
    assert await cache.ahas_key("k") is True and await cache.ahas_key("nope") is False
    ttl = await cache.attl("k")
    assert ttl is not None and ttl is not MISSING and 0 < ttl <= 60
    assert await cache.atouch("k", 120) is True
    assert await cache.aget_or_set("fresh", lambda: "made") == "made"

    async def made_async() -> str:
        return "awaited"

    assert await cache.aget_or_set("async", made_async) == "awaited"
    await cache.aset_many({"a": 1, "b": 2})
    assert await cache.aget_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert await cache.adelete_many(["a", "b"]) == 2
    await cache.aset_entry("e", "v", 60, ())
    assert (await cache.aget_entry("e")).value == "v"
    assert await cache.adelete_if_equals("e", "v") is True
    assert await cache.aindex_add("i", {"x": 1.0, "y": 2.0}) == 2
    assert await cache.aindex_prefix("i", "x") == ["x"]
    assert await cache.aindex_scan("i") == ["x", "y"]
    assert await cache.aindex_score("i", "y") == 2.0
    assert await cache.aindex_len("i") == 2
    assert await cache.aindex_remove_below("i", 1.5) == 1
    assert await cache.aindex_trim("i", 0) == 1
    assert await cache.aindex_remove("i", ["y"]) == 0
    assert await cache.adelete("k") is True
    assert await cache.acleanup_expired() == 0
    await cache.aclear()
    await cache.aclose()
    if wrap == "instrumented":
        snapshot = stats.get_stats()
        assert snapshot["hits"] >= 4 and snapshot["misses"] >= 2  # recorded on the async path
