"""An engine holding a sentinel set of keys, and the check that a bad call left them alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from cache.advanced import CacheInvalidator, CacheTag
from cache.backend import CacheBackend, InMemoryCache, RedisCache
from cache.testing import FakeClock
from cache.testing.redis_server import RedisServer

#: Stored before every row; chosen so that a str read as its characters ("sentinel",
#: "abc") or an int key read as a str ("1") would reach one of them.
SENTINEL: dict[str, Any] = {
    "s": "kept",
    "e": 7,
    "a": ["x", 1],
    "b": {"k": "v"},
    "c": None,
    "1": "one",
    "sentinel": "kept",
    "abc": 3,
    "k": "kept",
    "p": "kept",
}
REGISTERED = ["s", "a", "sentinel", "k"]


def snapshot(cache: CacheBackend, raw: redis.Redis | None) -> dict[str, Any]:
    """Return everything the engine holds: every key with its value or index members."""
    if isinstance(cache, InMemoryCache):
        held: dict[str, Any] = {key: repr(record[0]) for key, record in cache._data.items()}
        for name in cache._indexes:
            held[f"index {name}"] = [
                (m, cache.index_score(name, m)) for m in cache.index_iter(name)
            ]
        return held
    assert raw is not None
    held = {}
    for name in raw.scan_iter():
        if raw.type(name) == b"zset":
            held[name.decode()] = raw.zrange(name, 0, -1, withscores=True)
        else:
            held[name.decode()] = raw.get(name)
    return held


Opened = tuple[CacheBackend, Callable[[], dict[str, Any]]]


@pytest.fixture
def open_engine(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Opened]]:
    """Return ``open(name)``: the engine holding the sentinel, and a snapshot of what it holds."""
    opened: list[CacheBackend] = []

    def open_(name: str) -> Opened:
        raw: redis.Redis | None = None
        cache: CacheBackend
        if name == "memory":
            cache = InMemoryCache(clock=FakeClock())
        else:
            server: RedisServer = request.getfixturevalue("redis_server")
            raw = request.getfixturevalue("redis_client")  # flushed
            cache = RedisCache(server.url, strict=True)
        opened.append(cache)
        cache.set_many(SENTINEL)
        CacheInvalidator(cache).register_keys(REGISTERED)
        CacheTag(cache).get_versions(["t"])
        return cache, lambda: snapshot(cache, raw)

    yield open_
    for cache in opened:
        cache.close()
