"""A guard lost to eviction never lets a result computed before an invalidation be stored.

The mark ``invalidate`` leaves (plain ``@cached``) and the key guard it sets
(stale-while-revalidate) are ordinary keys: under ``maxmemory-policy
allkeys-*`` Redis may evict them while a computation that read the old data
is still running. Deleting them from a real server is what eviction does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import redis

from cache import cached
from cache.backend import RedisCache
from cache.testing.redis_server import RedisServer


@pytest.fixture
def engine(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[RedisCache]:
    cache = RedisCache(redis_server.url, strict=True)
    yield cache
    cache.close()


def evict_guards(raw: redis.Redis) -> int:
    """Delete every invalidation mark and key guard, as an evicting server may; return how many."""
    gone = 0
    for name in raw.scan_iter():
        value = raw.get(name) if raw.type(name) == b"string" else None
        if b"__cache__:tag:#" in name or b"__cache__:invalidated:" in (value or b""):
            gone += raw.delete(name)
    return gone


@pytest.mark.parametrize("swr", [0, 30], ids=["plain", "swr"])
def test_a_computation_older_than_an_evicted_guard_stores_nothing(
    engine: RedisCache, redis_client: redis.Redis, swr: float
) -> None:
    source = {"value": "v1"}
    entered, release = threading.Event(), threading.Event()

    @cached(timeout=60, stale_while_revalidate=swr, cache=engine)
    def load(item: int) -> str:
        value = source["value"]  # read before the invalidation...
        entered.set()
        assert release.wait(5)
        return value  # ...returned after it

    results: list[str] = []
    caller = threading.Thread(target=lambda: results.append(load(1)))
    caller.start()
    assert entered.wait(5)
    source["value"] = "v2"
    load.invalidate(1)
    assert evict_guards(redis_client) >= 1
    release.set()
    caller.join(5)
    assert results == ["v1"]  # the caller gets what it computed...
    entered.set()
    assert load(1) == "v2"  # ...but it was not stored: the next call computes again


@pytest.mark.parametrize("swr", [0, 30], ids=["plain", "swr"])
async def test_an_async_computation_older_than_an_evicted_guard_stores_nothing(
    engine: RedisCache, redis_client: redis.Redis, swr: float
) -> None:
    source = {"value": "v1"}
    entered, release = asyncio.Event(), asyncio.Event()

    @cached(timeout=60, stale_while_revalidate=swr, cache=engine)
    async def load(item: int) -> str:
        value = source["value"]
        entered.set()
        await asyncio.wait_for(release.wait(), 5)
        return value

    caller = asyncio.create_task(load(1))
    await asyncio.wait_for(entered.wait(), 5)
    source["value"] = "v2"
    await load.ainvalidate(1)
    assert evict_guards(redis_client) >= 1
    release.set()
    assert await caller == "v1"
    assert await load(1) == "v2"
