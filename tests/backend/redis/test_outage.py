"""Issue 1: a removal or invalidation that could not be applied raises, never looks done.

A real server per test, in a temporary directory, so that it can be killed,
paused (SIGSTOP: a hung server whose socket times out) and restarted with its
data (append-only file). The circuit breaker's time is a fake clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import (
    ClusterDownError,
    ReadOnlyError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)

from cache import cached
from cache._types import MISSING
from cache.advanced import CacheInvalidator, CachePolicy, CacheTag, ContentTypeCacheManager
from cache.backend import RedisCache
from cache.errors import BackendUnavailableError
from cache.testing import FakeClock
from cache.testing.redis_server import RedisServer

CONDITIONS = ["down", "paused", "circuit-open"]


@pytest.fixture
def server(tmp_path: Path, new_server: type[RedisServer]) -> Iterator[RedisServer]:
    # appendfsync always: what was acknowledged survives a SIGKILL.
    server = new_server(tmp_path, None, "--appendonly", "yes", "--appendfsync", "always")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(server: RedisServer, clock: FakeClock) -> Iterator[RedisCache]:
    engine = RedisCache(server.url, namespace="app", socket_timeout=0.1, connect_timeout=0.1)
    engine.outage.clock = clock  # the circuit stays open until the test moves time
    engine.outage.trip_after = 1_000_000  # down and paused: every call meets the fault itself
    yield engine
    engine.close()


def _seed(cache: RedisCache) -> ContentTypeCacheManager:
    manager = ContentTypeCacheManager(cache)
    manager.register_policy("page", CachePolicy(timeout=60, tags=["pages"]))
    manager.cache_content("page", "home", "<h1>")
    cache.set("k", "v")
    CacheInvalidator(cache).register_key("k")
    cache.index_add("ix", {"m": 1.0})
    return manager


def _fault(condition: str, server: RedisServer, cache: RedisCache) -> None:
    if condition == "down":
        server.kill()
    elif condition == "paused":
        server.pause()
    else:  # the server answers again, but the circuit opened during the outage
        cache.outage.trip_after = 3
        server.pause()
        for _ in range(3):
            assert cache.get("k", MISSING) is MISSING
        server.resume()
        assert cache.outage.allow("get") is False  # open: reads do not even try


def _memo(cache: RedisCache) -> Any:
    @cached(timeout=60, cache=cache)
    def double(n: int) -> int:
        return 2 * n

    return double


def _removals(cache: RedisCache, manager: ContentTypeCacheManager) -> dict[str, Callable[[], Any]]:
    tags, invalidator, double = CacheTag(cache), CacheInvalidator(cache), _memo(cache)
    return {
        "delete": lambda: cache.delete("k"),
        "delete_many": lambda: cache.delete_many(["k", "other"]),
        "set with timeout 0": lambda: cache.set("k", "v", timeout=0),
        "touch with timeout 0": lambda: cache.touch("k", 0),
        "clear": cache.clear,
        "flush_database": cache.flush_database,
        "index_remove": lambda: cache.index_remove("ix", ["m"]),
        "invalidate_tag": lambda: tags.invalidate_tag("pages"),
        "invalidate_tags": lambda: tags.invalidate_tags(["pages", "posts"]),
        "invalidate_content": lambda: manager.invalidate_content("page", "home"),
        "invalidate_prefix": lambda: invalidator.invalidate_prefix("k"),
        "invalidate_pattern": lambda: invalidator.invalidate_pattern("^k$"),
        "cached.invalidate": lambda: double.invalidate(4),
    }


def _reads(cache: RedisCache, manager: ContentTypeCacheManager) -> dict[str, Callable[[], Any]]:
    return {
        "get": lambda: cache.get("k", MISSING) is MISSING,
        "get_many": lambda: cache.get_many(["k"]) == {},
        "get_entry": lambda: cache.get_entry("k").value is MISSING,
        "ttl": lambda: cache.ttl("k") is MISSING,
        "get_cached_content": lambda: manager.get_cached_content("page", "home") is None,
        "set": lambda: cache.set("n", 1) is None,
        "add": lambda: cache.add("lock", 1) is False,
        "incr": lambda: cache.incr("n") == 0,
        "touch": lambda: cache.touch("k", 60) is False,
        "index_add": lambda: cache.index_add("ix", {"m2": 2.0}) == 0,
        # releasing a lease: when it fails, the lease runs out by itself
        "delete_if_equals": lambda: cache.delete_if_equals("lock", 1) is False,
    }


@pytest.mark.parametrize("condition", CONDITIONS)
def test_issue_1_every_removal_raises_when_it_cannot_be_confirmed(
    condition: str, server: RedisServer, cache: RedisCache
) -> None:
    manager = _seed(cache)
    _fault(condition, server, cache)
    for name, call in _removals(cache, manager).items():
        with pytest.raises(BackendUnavailableError, match="not applied"):
            call()
            pytest.fail(f"{name} returned normally while Redis was {condition}")
    # Reads still degrade to misses, additive writes to counted no-ops.
    errors = cache.errors
    for name, read in _reads(cache, manager).items():
        assert read(), f"{name} did not degrade while Redis was {condition}"
    assert cache.errors > errors


def _async_removals(
    cache: RedisCache, manager: ContentTypeCacheManager
) -> dict[str, Callable[[], Awaitable[Any]]]:
    tags, double = CacheTag(cache), _memo(cache)
    return {
        "adelete": lambda: cache.adelete("k"),
        "adelete_many": lambda: cache.adelete_many(["k", "other"]),
        "aset with timeout 0": lambda: cache.aset("k", "v", timeout=0),
        "atouch with timeout 0": lambda: cache.atouch("k", 0),
        "aclear": cache.aclear,
        "aflush_database": cache.aflush_database,
        "aindex_remove": lambda: cache.aindex_remove("ix", ["m"]),
        "aindex_prefix": lambda: cache.aindex_prefix("ix", ""),
        "ainvalidate_tag": lambda: tags.ainvalidate_tag("pages"),
        "ainvalidate_tags": lambda: tags.ainvalidate_tags(["pages", "posts"]),
        "cached.ainvalidate": lambda: double.ainvalidate(4),
    }


@pytest.mark.parametrize("condition", CONDITIONS)
async def test_issue_1_async_removals_raise_and_async_reads_miss(
    condition: str, server: RedisServer, cache: RedisCache
) -> None:
    manager = _seed(cache)
    assert await cache.aget("k") == "v"  # this loop's asyncio client is connected
    _fault(condition, server, cache)
    for name, call in _async_removals(cache, manager).items():
        with pytest.raises(BackendUnavailableError, match="not applied"):
            await call()
            pytest.fail(f"{name} returned normally while Redis was {condition}")
    assert await cache.aget("k", MISSING) is MISSING
    assert await cache.aget_many(["k"]) == {}
    assert (await cache.aget_entry("k")).value is MISSING
    assert await cache.aadd("lock", 1) is False
    assert await cache.aincr("n") == 0
    assert await cache.adelete_if_equals("lock", 1) is False  # a lease release degrades
    await cache.aset("n", 1)
    await cache.aclose()


def test_issue_1_strict_off_still_degrades_reads_and_counts_them(
    server: RedisServer, cache: RedisCache
) -> None:
    _seed(cache)
    server.kill()
    assert cache.get("k", "fallback") == "fallback"
    assert cache.errors == 1
    assert cache.info()["errors"] == 1  # the engine's counters, also while the server is down


def test_issue_1_an_invalidation_that_raised_is_served_until_it_is_retried(
    server: RedisServer, cache: RedisCache, clock: FakeClock
) -> None:
    manager = _seed(cache)
    tags = CacheTag(cache)
    cache.outage.trip_after = 3
    server.kill()
    with pytest.raises(BackendUnavailableError):
        cache.delete("k")
    with pytest.raises(BackendUnavailableError):
        tags.invalidate_tag("pages")
    server.start()  # back with its data (append-only file)
    clock.advance(cache.outage.cooldown)  # the circuit half-opens: the next call tries
    # Nobody retried: the server still holds what the failed calls meant to remove.
    assert cache.get("k") == "v"
    assert manager.get_cached_content("page", "home") == "<h1>"
    # A retried invalidation works.
    assert cache.delete("k") is True
    tags.invalidate_tag("pages")
    assert cache.get("k", MISSING) is MISSING
    assert manager.get_cached_content("page", "home") is None


async def test_issue_1_async_retry_after_the_server_returns(
    server: RedisServer, cache: RedisCache, clock: FakeClock
) -> None:
    manager = _seed(cache)
    server.kill()
    with pytest.raises(BackendUnavailableError):
        await cache.adelete("k")
    with pytest.raises(BackendUnavailableError):
        await CacheTag(cache).ainvalidate_tag("pages")
    server.start()
    clock.advance(cache.outage.cooldown)
    assert await cache.aget("k") == "v"
    assert await cache.adelete("k") is True
    await CacheTag(cache).ainvalidate_tag("pages")
    assert await cache.aget("k", MISSING) is MISSING
    assert manager.get_cached_content("page", "home") is None
    await cache.aclose()


def _raising(exc: Exception) -> Callable[[Any], Any]:
    def call(side: Any) -> Any:
        raise exc

    return call


@pytest.mark.parametrize(
    "exc",
    [
        SlotNotCoveredError("slot 42 is not covered"),  # no RedisError
        RedisClusterException("Redis Cluster cannot be connected"),
        ClusterDownError("CLUSTERDOWN The cluster is down"),  # a ResponseError
        TryAgainError("TRYAGAIN"),
        ReadOnlyError("READONLY You can't write against a read only replica."),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_issue_1_cluster_errors_are_outages_never_a_crash_nor_a_refusal(
    cache: RedisCache, exc: Exception
) -> None:
    # What a cluster client raises while a node is down or failing over.
    assert cache._run("get", _raising(exc), None) is None
    assert await cache._arun("get", _raising(exc), None) is None
    with pytest.raises(BackendUnavailableError, match="not applied"):
        cache._run("delete", _raising(exc), 0)
    with pytest.raises(BackendUnavailableError, match="not applied"):
        await cache._arun("delete", _raising(exc), 0)
    assert cache.errors == 4 and cache.info()["refused"] == 0
    await cache.aclose()


async def test_the_asyncio_cluster_clients_attributeerror_on_a_reset_connection_is_an_outage(
    redis_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis.asyncio's cluster client writes on a connection a dead node reset (no writer).

    Its ``AttributeError`` ('NoneType' object has no attribute 'writelines') is a
    connection failure: a read degrades to a miss, a removal raises
    ``BackendUnavailableError``; it never reaches the caller as it is.
    """
    from redis.asyncio.connection import Connection

    cache = RedisCache(redis_cluster.url, cluster=True)
    try:
        await cache.aset("reset", 1, 60)
        side = await cache._async.current()
        assert side is not None
        monkeypatch.setattr(Connection, "is_connected", property(lambda self: True))
        for node in side.client.nodes_manager.nodes_cache.values():
            for connection in node._connections:
                if connection._writer is not None:
                    connection._writer.close()
                connection._writer = None  # what a reset by a dead node leaves
        errors = cache.outage.errors
        assert await cache.aget("reset") is None
        assert cache.outage.errors == errors + 1
        with pytest.raises(BackendUnavailableError):
            await cache.adelete("reset")
    finally:
        monkeypatch.undo()
        await cache.aclose()


def test_an_attributeerror_from_outside_the_redis_client_is_not_an_outage() -> None:
    import os

    import redis

    from cache.backend.redis import _connection
    from cache.backend.redis._connection import _raised_by_client

    def raise_in(filename: str) -> AttributeError:
        code = compile("None.writelines", filename, "eval")
        try:
            eval(code)
        except AttributeError as exc:
            return exc
        raise AssertionError("no AttributeError")

    client = os.path.join(os.path.dirname(redis.__file__), "asyncio", "connection.py")
    assert _raised_by_client(raise_in(client))
    assert not _raised_by_client(raise_in(_connection.__file__))  # cache.backend.redis


def test_each_cluster_node_has_its_own_circuit_and_an_attempt_gives_up_on_a_failed_node() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from cache.backend.base import one_attempt
    from cache.backend.redis._client import OutagePolicy

    clock = FakeClock()
    policy = OutagePolicy(strict=False, clock=clock)
    for _ in range(3):
        policy.failed("get", RedisConnectionError("node 2 is down"), "127.0.0.1:7002")
    assert policy.allow("get", "127.0.0.1:7002") is False  # its circuit is open
    assert policy.allow("get", "127.0.0.1:7000") is True  # the others' are not
    with one_attempt() as attempt:
        policy.failed("get", RedisConnectionError("reset"), "127.0.0.1:7001")
        assert attempt.failures == 1
        assert policy.allow("get", "127.0.0.1:7001") is False  # not waited for twice
        assert policy.allow("get", "127.0.0.1:7000") is True
        with pytest.raises(BackendUnavailableError):
            policy.allow("delete", "127.0.0.1:7001")  # a removal raises at once
    assert policy.allow("get", "127.0.0.1:7001") is True  # the next operation tries again
    clock.advance(1.0)
    assert policy.allow("get", "127.0.0.1:7002") is True  # the cooldown is over


def test_a_pool_out_of_connections_is_no_outage(redis_server: RedisServer) -> None:
    cache = RedisCache(redis_server.url, namespace="pool", max_connections=1)
    pool = cache.client.connection_pool
    held = pool.get_connection()  # the pool's only connection, busy elsewhere
    try:
        for _ in range(5):
            assert cache.get("k") is None  # a miss: the command was never sent
        assert cache.outage.errors == 5
        assert cache.outage.allow()  # the circuit stays closed: the server said nothing
        with pytest.raises(BackendUnavailableError, match="no free connection"):
            cache.delete("k")
    finally:
        pool.release(held)
    assert cache.delete("k") is False  # a connection again: the server answers
    cache.close()
