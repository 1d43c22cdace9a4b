"""A lease whose release a hung server could not confirm is given back when it answers (issue 11).

Process A (this one) fills a missing key under the fill lock; the server is
paused (SIGSTOP) while A's generator runs, and a read of the generator times
out: the rest of A's read fails at once, its store and its release are not
sent, and the lock stays in the server under A's token. Waiters of A's
own process break such a lock at once (``LOST_LEASES``); a waiter of another
process, B, cannot know. A keeps giving the lease back in the background, so
once the server resumes (SIGCONT) B gets through within the socket timeout
and a margin, not after the lease (3 s) has run out.

A caller cancelled while its lease request is out (an impatient
``asyncio.wait_for``) does not know whether the lock was taken: the request
may still land. It is noted lost, and given back, all the same.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
import redis

from cache._types import MISSING
from cache.advanced import FillLock, StaleWhileRevalidateCache
from cache.backend import RedisCache
from cache.backend.base import Entry
from cache.testing.redis_server import RedisServer

SOCKET_TIMEOUT = 0.25
#: The bound of issue 11: no caller is stalled past its socket timeout and this.
MARGIN = 0.5


def warm() -> int:
    """Return the worker's pid (run once, so that the worker is up before the clock runs)."""
    return os.getpid()


def fill_in_another_process(url: str, key: str) -> tuple[float, str]:
    """Process B: read ``key`` through stale-while-revalidate; return when it ended and what."""
    cache = RedisCache(url, namespace="t", socket_timeout=SOCKET_TIMEOUT)
    swr = StaleWhileRevalidateCache(cache)
    try:
        value, _ = swr.get_with_swr(key, lambda: "from B", timeout=60)
        return time.monotonic(), value
    finally:
        swr.close()
        cache.close()


@pytest.fixture(scope="module")
def other_process() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(warm).result(60)
        yield pool


def _fill_in_this_process(cache: RedisCache, server: RedisServer, mode: str) -> str:
    """Process A: fill ``page``; the generator pauses the server, then reads (and times out)."""
    swr = StaleWhileRevalidateCache(cache)

    def generate() -> str:
        server.pause()
        cache.get("ingredient")  # times out: the read's later calls fail at once
        return "from A"

    async def agenerate() -> str:
        server.pause()
        await cache.aget("ingredient")
        return "from A"

    try:
        if mode == "sync":
            value, _ = swr.get_with_swr("page", generate, timeout=60)
        else:
            value, _ = asyncio.run(swr.aget_with_swr("page", agenerate, timeout=60))
        return str(value)
    finally:
        swr.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_issue_11_another_process_gets_through_soon_after_a_hung_server_resumes(
    server: RedisServer, other_process: ProcessPoolExecutor, mode: str
) -> None:
    cache = RedisCache(server.url, namespace="t", socket_timeout=SOCKET_TIMEOUT)
    raw = redis.Redis.from_url(server.url)
    try:
        assert _fill_in_this_process(cache, server, mode) == "from A"
        assert server.paused  # nothing stored, the lock not released: it is A's still
        time.sleep(0.2)  # paused a while longer: giving the lease back fails meanwhile
        server.resume()
        resumed = time.monotonic()
        ended, value = other_process.submit(fill_in_another_process, server.url, "page").result(30)
        waited = ended - resumed
        print(f"\n{mode}: B got through {waited:.3f} s after the server resumed")
        assert value == "from B"  # A stored nothing: B filled, under the lock
        assert waited <= SOCKET_TIMEOUT + MARGIN
        assert list(raw.scan_iter(match="t:__cache__:swr:*")) == []
    finally:
        server.resume()
        raw.close()
        cache.close()


def _stored(entry: Entry) -> object:
    return None if entry.value is MISSING else entry.value


async def test_issue_11_a_caller_cancelled_while_its_lease_request_is_out_leaves_no_lock(
    server: RedisServer,
) -> None:
    cache = RedisCache(server.url, namespace="t", socket_timeout=SOCKET_TIMEOUT)
    raw = redis.Redis.from_url(server.url)
    lock = FillLock(cache, "page", _stored, wait=5)
    await cache.alease("warm", "w", 1)  # connected, script loaded: the request goes out at once
    server.pause()
    try:
        waiting = asyncio.create_task(lock.aacquire_or_wait())
        await asyncio.sleep(0.05)  # the lease request is out, in the paused server's buffer
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await lock.arelease()  # the caller's ``finally``: as far as it knows, it holds nothing
    finally:
        server.resume()  # the server applies the request now: the lock is taken, for nobody
    resumed = time.monotonic()
    try:
        assert raw.get("t:__cache__:fill:page") is not None
        while raw.exists("t:__cache__:fill:page") and time.monotonic() - resumed < 5:
            await asyncio.sleep(0.01)
        gone = time.monotonic() - resumed
        print(f"\nthe lock was gone {gone:.3f} s after the server resumed")
        assert gone <= SOCKET_TIMEOUT + MARGIN
    finally:
        raw.close()
        await cache.aclose()
