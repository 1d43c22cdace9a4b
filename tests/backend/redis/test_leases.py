"""Locks after a hung server (issue 4): no lock outlives its purpose.

A command whose caller timed out still runs when a paused server resumes.
A lock it took would have no holder: refreshes stopped and misses waited for
the whole lock timeout. Locks are now leases, refused past the caller's
deadline, and renewed only by a live holder.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from cache._types import MISSING
from cache.advanced import StaleWhileRevalidateCache
from cache.advanced.coordination import LEASE, FillLock
from cache.backend import RedisCache
from cache.backend.base import Claim, Entry
from cache.testing import FakeClock
from cache.testing.redis_server import RedisServer

SOCKET_TIMEOUT = 0.25
#: The bound of issue 4: no caller is stalled past its socket timeout and this.
MARGIN = 0.5


@pytest.fixture
def raw(server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(server.url)
    yield client
    client.close()


def _locks(raw: redis.Redis) -> dict[bytes, int]:
    """Return every lock key with its milliseconds left."""
    names = [*raw.scan_iter(match="t:__cache__:fill:*"), *raw.scan_iter(match="t:__cache__:swr:*")]
    return {name: int(raw.pttl(name)) for name in names}


def _stored(entry: Entry) -> tuple[Any] | None:
    return None if entry.value is MISSING else (entry.value,)


def test_issue_4_a_lease_that_reaches_a_hung_server_late_takes_no_lock(
    server: RedisServer, raw: redis.Redis
) -> None:
    cache = RedisCache(server.url, namespace="t", socket_timeout=SOCKET_TIMEOUT)
    cache.set("page", "v", 100)
    server.pause()
    try:
        assert not cache.lease("__cache__:fill:a", "token", 30)  # timed out: told it failed
        claim = Claim("__cache__:swr:page", "token", 30, when_ttl_below=1000)
        assert cache.get_entry("page", claim).value is MISSING
    finally:
        server.resume()
    time.sleep(0.05)  # the stalled commands run now
    assert raw.ping()
    assert _locks(raw) == {}  # neither the lease nor the claim was taken after the fact
    assert cache.lease("__cache__:fill:a", "token", 30)  # a caller still waiting takes it
    cache.close()


def test_issue_4_a_lease_is_the_holders_and_renewed_only_by_it(
    server: RedisServer, raw: redis.Redis
) -> None:
    cache = RedisCache(server.url, namespace="t", socket_timeout=SOCKET_TIMEOUT)
    assert cache.lease("__cache__:fill:a", "mine", 2)
    assert not cache.lease("__cache__:fill:a", "theirs", 60)
    assert 0 < raw.pttl("t:__cache__:fill:a") <= 2000  # not extended by another token
    assert cache.lease("__cache__:fill:a", "mine", 60)
    assert raw.pttl("t:__cache__:fill:a") > 2000  # extended by its holder
    assert not cache.delete_if_equals("__cache__:fill:a", "theirs")
    assert cache.delete_if_equals("__cache__:fill:a", "mine")
    cache.close()


async def _answering(cache: RedisCache) -> None:
    """Return once the engine reaches the server again (its circuit closes after a cooldown)."""
    for _ in range(100):
        await cache.aset("probe", 1)
        if await cache.aget("probe") == 1:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server did not come back")


class _Load:
    """Callers of the same missing keys through FillLock and SWR, each timed (wall time)."""

    def __init__(self, cache: RedisCache, swr: StaleWhileRevalidateCache) -> None:
        self.cache, self.swr = cache, swr
        self.durations: list[float] = []
        self.generated = 0

    def _generate(self) -> str:
        self.generated += 1
        return "generated"

    async def fill(self, key: str) -> None:
        started = time.monotonic()
        lock = FillLock(self.cache, key, _stored, wait=5)
        try:
            if await lock.aacquire_or_wait() is None:
                await self.cache.aset(key, "filled", 60)
        finally:
            await lock.arelease()
        self.durations.append(time.monotonic() - started)

    async def swr_read(self, key: str) -> None:
        started = time.monotonic()
        await self.swr.aget_with_swr(key, self._generate, timeout=60, stale_timeout=60)
        self.durations.append(time.monotonic() - started)

    def thread_fill(self, key: str) -> None:
        started = time.monotonic()
        lock = FillLock(self.cache, key, _stored, wait=5)
        try:
            if lock.acquire_or_wait() is None:
                self.cache.set(key, "filled", 60)
        finally:
            lock.release()
        self.durations.append(time.monotonic() - started)


async def test_issue_4_a_paused_server_leaves_no_lock_and_stalls_no_caller(
    server: RedisServer, raw: redis.Redis
) -> None:
    cache = RedisCache(server.url, namespace="t", socket_timeout=SOCKET_TIMEOUT)
    clock = FakeClock()
    swr = StaleWhileRevalidateCache(cache, clock=clock)
    load = _Load(cache, swr)
    await swr.aget_with_swr("stale", load._generate, timeout=10, stale_timeout=100)
    clock.advance(20)  # stale now: every read starts a refresh
    fills = [f"fill:{i}" for i in range(5)]
    reads = [f"swr:{i}" for i in range(5)]

    async def wave() -> None:
        await asyncio.gather(
            *(load.fill(fills[i % 5]) for i in range(50)),
            *(load.swr_read(reads[i % 5]) for i in range(40)),
            *(load.swr_read("stale") for _ in range(10)),
        )

    threads = [threading.Thread(target=load.thread_fill, args=(fills[i % 5],)) for i in range(8)]
    server.pause()
    try:
        for thread in threads:
            thread.start()
        await wave()
        await asyncio.sleep(0.4)
        await wave()  # the circuit may be open: these fail fast
        await asyncio.sleep(1.0 - 0.4)
    finally:
        server.resume()
    for thread in threads:
        thread.join(10)
    await swr.await_refreshes()
    await _answering(cache)  # the stalled commands have run, the circuit is closed
    # After the server is back, the same keys: no orphaned lock makes anyone wait.
    await asyncio.gather(*(load.fill(fills[i % 5]) for i in range(50)))
    assert len(load.durations) == 2 * 100 + 8 + 50
    assert max(load.durations) <= SOCKET_TIMEOUT + MARGIN
    assert all(ms <= LEASE * 1000 for ms in _locks(raw).values()), _locks(raw)
    # Refreshes resume: a stale read refreshes now (stale again, whoever stored last).
    clock.advance(20)
    before = load.generated
    _, stale = await swr.aget_with_swr("stale", load._generate, timeout=10, stale_timeout=100)
    await swr.await_refreshes()
    assert stale and load.generated == before + 1
    assert _locks(raw) == {}
    swr.close()
    await cache.aclose()
