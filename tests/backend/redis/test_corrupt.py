"""Issue 8: corrupt bytes are a counted miss, a refused command is no outage, 1e300 is refused."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from cache._types import MISSING
from cache.advanced import CacheStatistics
from cache.backend import RedisCache
from cache.errors import BackendUnavailableError, InvalidTimeoutError
from cache.testing.redis_server import RedisClusterServers, RedisServer

#: Bytes another app (or a torn write) could leave: a refs header cut short,
#: one whose names are no list, a header the server-side script cannot parse,
#: unknown serializer tags, bad JSON, deep nesting, invalid UTF-8.
FOREIGN = [
    b'r\x00\x00\x00\x05["x"',
    b"r\x00\x00\x00\x02{}j1",
    b"r\xff\xff",
    b"hello from another app",
    b"j{not json",
    b"j" + b"[" * 100_000,
    b"\x80\x81",
    b"",
]


@pytest.fixture
def cache(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[RedisCache]:
    engine = RedisCache(redis_server.url, namespace="app")
    yield engine
    engine.close()


def _closed(cache: RedisCache) -> bool:
    return cache.outage.allow("get") and not cache.outage._consecutive.get("")


@pytest.mark.parametrize("raw", FOREIGN)
def test_issue_8_foreign_bytes_are_a_counted_miss_and_deleted(
    cache: RedisCache, redis_client: redis.Redis, raw: bytes
) -> None:
    stats = CacheStatistics()
    cache.outage.stats = stats
    cache.set("good", "served")
    for read in (
        lambda: cache.get("bad", MISSING),
        lambda: cache.get_many(["bad"]).get("bad", MISSING),
        lambda: cache.get_entry("bad").value,
    ):
        redis_client.set("app:bad", raw)
        for _ in range(5):
            assert read() is MISSING
        assert _closed(cache), "the circuit opened on corrupt data"
        assert cache.get("good") == "served"
    assert cache.errors == 0  # not an outage
    info = cache.info()
    assert info["corrupt"] + info["refused"] >= 3  # at least once per kind of read
    assert stats.get_stats()["errors"] == info["corrupt"] + info["refused"]
    assert cache.get("bad", MISSING) is MISSING
    assert redis_client.exists("app:bad") == 0  # gone: a get deletes what it cannot read


def test_issue_8_a_corrupt_entry_is_deleted_on_first_read_and_logged_at_a_limited_rate(
    cache: RedisCache, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(5):
        redis_client.set(f"app:bad{i}", b"j{not json")
    with caplog.at_level(logging.WARNING, logger="cache.backend.redis"):
        assert cache.get_many([f"bad{i}" for i in range(5)]) == {}
    assert redis_client.exists(*(f"app:bad{i}" for i in range(5))) == 0
    assert cache.info()["corrupt"] == 5
    logged = [r for r in caplog.records if "unreadable value" in r.getMessage()]
    assert len(logged) == 1
    # Deleted only if the key still holds the bytes read: a value written
    # between the read and the delete stays.
    redis_client.set("app:k", b"j{torn")
    raw = redis_client.get("app:k")
    cache.set("k", "fresh")
    assert cache._load(raw, "k") is MISSING
    assert cache.get("k") == "fresh"


async def test_issue_8_async_reads_of_corrupt_bytes_are_misses(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    redis_client.set("app:bad", b"r\x00\x00\x00\x02{}j1")
    for _ in range(5):
        assert await cache.aget("bad", MISSING) is MISSING
        assert await cache.aget_many(["bad"]) == {}
        assert (await cache.aget_entry("bad")).value is MISSING
    assert _closed(cache)
    assert redis_client.exists("app:bad") == 0
    await cache.aclose()


def test_issue_8_corrupt_entries_on_a_cluster_are_misses(
    redis_cluster: RedisClusterServers, cluster_client: RedisCluster
) -> None:
    cache = RedisCache(redis_cluster.url, cluster=True, namespace="app")
    for raw in FOREIGN:
        cluster_client.set("app:bad", raw)
        for _ in range(5):
            assert cache.get_entry("bad").value is MISSING
            assert cache.get("bad", MISSING) is MISSING
        assert _closed(cache)
    assert cache.errors == 0
    cache.close()


def _wrong_type_index(cache: RedisCache, redis_client: redis.Redis) -> None:
    redis_client.set(cache._ix("ix")[0], "a string where a sorted set belongs")


def test_issue_8_a_refused_command_is_no_outage(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    _wrong_type_index(cache, redis_client)
    cache.set("good", 1)
    for _ in range(5):  # a script error (WRONGTYPE inside the script)
        assert cache.index_add("ix", {"m": 1.0}) == 0
        assert cache.index_len("ix") == 0
    assert _closed(cache), "a refusal opened the circuit"
    assert cache.errors == 0
    assert cache.info()["refused"] == 10
    assert cache.get("good") == 1
    with pytest.raises(BackendUnavailableError, match="refused index_remove"):
        cache.index_remove("ix", ["m"])  # a removal the server refused was not applied


def test_issue_8_a_timeout_too_large_for_redis_is_refused_before_sending(
    cache: RedisCache,
) -> None:
    cache.set("k", "old")
    for call in (
        lambda: cache.set("k", "new", timeout=1e300),
        lambda: cache.add("other", 1, timeout=1e300),
        lambda: cache.touch("k", 1e300),
        lambda: cache.set_many({"k": "new"}, timeout=1e300),
        lambda: RedisCache(default_timeout=1e300),
    ):
        with pytest.raises(InvalidTimeoutError, match=r"timeout must be at most 1e\+12 seconds"):
            call()
    assert cache.get("k") == "old" and cache.ttl("k") is None
    assert cache.errors == 0 and cache.info()["refused"] == 0
    cache.set("k", "forever", timeout=math.inf)  # inf still means "never expires"
    assert cache.get("k") == "forever" and cache.ttl("k") is None
