"""RedisCache beyond the contract: serialization safety and outages of a real server."""

from __future__ import annotations

import datetime
import logging
import pickle
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cache._types import MISSING
from cache.advanced import (
    CachePolicy,
    CacheStatistics,
    ContentTypeCacheManager,
    StaleWhileRevalidateCache,
)
from cache.backend import RedisCache
from cache.backend.serializers import MsgpackSerializer, PickleSerializer
from cache.errors import BackendUnavailableError, CacheTypeError, CacheValueError
from cache.testing.redis_server import RedisClusterServers, RedisServer

KEY = b"k" * 32


@pytest.fixture
def cache(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[RedisCache]:
    engine = RedisCache(redis_server.url)
    yield engine
    engine.close()


def test_json_by_default_ints_raw(cache: RedisCache, redis_client: redis.Redis) -> None:
    cache.set("n", 42)
    cache.set("doc", {"a": [1, 2.5, None, True], "b": "é"})
    cache.set("pair", (1, 2))
    assert redis_client.get("n") == b"42"  # raw, so INCRBY works on it
    assert redis_client.get("doc") == b"j" + '{"a":[1,2.5,null,true],"b":"é"}'.encode()
    assert cache.get("doc") == {"a": [1, 2.5, None, True], "b": "é"}
    assert cache.get("pair") == [1, 2]  # JSON has no tuples
    assert cache.incr("n", 8) == 50


def test_unserializable_value_names_its_type_and_keeps_the_old_one(cache: RedisCache) -> None:
    cache.set("k", "old")
    with pytest.raises(CacheTypeError, match="type set cannot be stored with the JSON serializer"):
        cache.set("k", {1, 2})
    with pytest.raises(CacheTypeError, match="type date cannot be stored"):
        cache.set_many({"k": datetime.date.today(), "other": 1})
    assert cache.get("k") == "old"
    assert cache.get("other", MISSING) is MISSING


def test_corrupt_or_foreign_values_are_misses_and_logged(
    cache: RedisCache, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    stats = CacheStatistics()
    cache.outage.stats = stats
    redis_client.set("bad-json", b"j{not json")
    redis_client.set("foreign", b"hello from another app")
    assert cache.get("bad-json", "dflt") == "dflt"
    assert cache.get("foreign", MISSING) is MISSING
    assert "unreadable value under 'bad-json'" in caplog.text
    assert stats.get_stats()["errors"] == 2
    assert cache.info()["corrupt"] == 2
    assert redis_client.exists("bad-json", "foreign") == 0  # deleted: read once, not again
    assert cache.get_many(["bad-json", "foreign"]) == {}


def test_msgpack_round_trip(redis_server: RedisServer, redis_client: redis.Redis) -> None:
    cache = RedisCache(redis_server.url, serializer=MsgpackSerializer())
    cache.set("b", {"blob": b"\x00\xff", "n": [1, 2]})
    assert cache.get("b") == {"blob": b"\x00\xff", "n": [1, 2]}
    assert redis_client.get("b")[:1] == b"m"
    cache.close()


def test_pickle_only_when_asked_and_signed(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = RedisCache(redis_server.url, serializer=PickleSerializer(KEY))
    when = datetime.datetime(2026, 1, 1, 12, 0)
    cache.set("when", {"at": when, "tags": {"a", "b"}})
    assert cache.get("when") == {"at": when, "tags": {"a", "b"}}

    # A tampered value is refused, not unpickled.
    raw = bytearray(redis_client.get("when"))
    raw[-3] ^= 0x01
    redis_client.set("when", bytes(raw))
    assert cache.get("when", MISSING) is MISSING
    assert "signature mismatch" in caplog.text

    # A forged payload that would run code is refused before pickle sees it.
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, ...]:
            return (marker.touch, ())

    redis_client.set("evil", b"p" + b"\x00" * 32 + pickle.dumps(Exploit()))
    assert cache.get("evil", MISSING) is MISSING
    assert not marker.exists()

    # Another key cannot read (or forge) this app's values.
    other = RedisCache(redis_server.url, serializer=PickleSerializer(b"x" * 32))
    cache.set("mine", [1])
    assert other.get("mine", MISSING) is MISSING
    with pytest.raises(CacheValueError, match="secret_key must be at least 16 bytes"):
        PickleSerializer(b"short")
    cache.close()
    other.close()


def test_incr_on_a_serialized_value_is_a_type_error(cache: RedisCache) -> None:
    cache.set("s", "text")
    with pytest.raises(CacheTypeError, match="incr needs an int"):
        cache.incr("s")
    assert cache.get("s") == "text"


# -- outages of a real server ---------------------------------------------------------


def test_outage_degrades_to_misses_then_recovers(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    stats = CacheStatistics()
    cache = RedisCache(server.url, stats=stats)
    cache.outage.cooldown = 0.05
    cache.set("k", "v")
    cache.index_add("ix", {"page:1": 1.0})
    assert cache.get("k") == "v"

    server.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cache.backend.redis"):
        for _ in range(20):
            assert cache.get("k", "fallback") == "fallback"
        cache.set("k", "ignored")
        assert cache.add("lock", "me") is False
        with pytest.raises(BackendUnavailableError, match="delete"):
            cache.delete("k")  # a removal is never a quiet no-op (issue 1)
        assert cache.incr("n") == 0
        assert cache.get_many(["k"]) == {}
        with pytest.raises(BackendUnavailableError, match="index_prefix"):
            cache.index_prefix("ix", "page:")  # "no key registered" would be a lie
        assert cache.index_add("ix", {"page:2": 2.0}) == 0
    assert stats.get_stats()["errors"] >= 26
    assert cache.errors >= 26
    warnings = [r for r in caplog.records if "served as a miss" in r.getMessage()]
    assert len(warnings) == 1  # logged at a limited rate, not once per call

    # The features keep answering from the generator.
    swr = StaleWhileRevalidateCache(cache)
    assert swr.get_with_swr("fresh", lambda: "computed", timeout=60) == ("computed", False)
    swr.close()
    manager = ContentTypeCacheManager(cache)
    manager.register_policy("page", CachePolicy(timeout=60))
    manager.cache_content("page", "home", "<h1>")
    assert manager.get_cached_content("page", "home") is None

    server.start()  # same port: the cache recovers without a restart
    for _ in range(100):
        cache.set("k", "back")
        if cache.get("k") == "back":
            break
        import time

        time.sleep(0.02)
    assert cache.get("k") == "back"
    assert cache.index_add("ix", {"page:3": 3.0}) == 1
    cache.close()


async def test_outage_async(server: RedisServer) -> None:
    cache = RedisCache(server.url)
    await cache.aset("k", "v")
    assert await cache.aget("k") == "v"
    server.stop()
    assert await cache.aget("k", "fallback") == "fallback"
    assert await cache.aadd("lock", 1) is False
    assert await cache.aget_many(["k"]) == {}
    await cache.aclose()


def test_strict_mode_raises(server: RedisServer) -> None:
    cache = RedisCache(server.url, strict=True)
    cache.set("k", "v")
    server.stop()
    with pytest.raises(BackendUnavailableError, match="Redis get failed") as info:
        cache.get("k")
    assert isinstance(info.value, ConnectionError)
    cache.close()


def test_closing_a_cluster_engine_closes_every_node_connection(
    redis_cluster: RedisClusterServers,
) -> None:
    def connected() -> list[int]:
        counts = []
        for node in redis_cluster.nodes:
            with redis.Redis(port=node.port) as probe:  # counts itself: same +1 every time
                counts.append(int(probe.info("clients")["connected_clients"]))
        return counts

    before = connected()
    engine = RedisCache(redis_cluster.url, cluster=True)
    engine.set_many({f"k{i}": i for i in range(20)})  # a connection to every primary
    assert connected() != before
    engine.delete_many([f"k{i}" for i in range(20)])
    engine.close()
    deadline = time.monotonic() + 5
    while connected() != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert connected() == before
