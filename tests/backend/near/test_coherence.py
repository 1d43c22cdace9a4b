"""NearCache on real servers: local hits, and every kind of write in one process seen in another."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from cache.advanced import CacheInvalidator, CachePolicy, CacheTag, ContentTypeCacheManager
from cache.backend import NearCache, RedisCache, from_url
from cache.backend.redis._client import close_sync_client
from cache.errors import CacheConfigError, CacheTypeError, CacheValueError
from cache.testing import FakeClock
from cache.testing.contract import BackendContract
from cache.testing.redis_server import RedisClusterServers, RedisServer, shift_ttls
from tests.backend.near.conftest import Opener, caught_up


class TestNearContract(BackendContract):
    """The whole contract through the local tier (its copies expire with Redis's)."""

    native_expiry = True

    @pytest.fixture
    def backend(
        self, redis_server: RedisServer, redis_client: redis.Redis, clock: FakeClock
    ) -> Iterator[NearCache]:
        engine = RedisCache(redis_server.url, namespace="contract", strict=True)
        near = NearCache(engine, clock=clock)
        assert near.wait_live(10)
        yield near
        near.close()

    @pytest.fixture
    def advance(self, redis_client: redis.Redis, clock: FakeClock) -> Callable[[float], None]:
        def advance(seconds: float) -> None:
            clock.advance(seconds)
            shift_ttls(redis_client, seconds)

        return advance


def test_a_second_read_is_local_and_a_copy(server_url: str, open_near: Opener) -> None:
    near = open_near(server_url)
    near.set("user:1", {"name": "Ada", "roles": ["admin"]})
    first = near.get("user:1")
    first["roles"].append("mutated by the caller")
    assert near.get("user:1") == {"name": "Ada", "roles": ["admin"]}
    assert near.info()["local_hits"] == 1
    assert near.get_many(["user:1", "user:2"]) == {"user:1": {"name": "Ada", "roles": ["admin"]}}
    assert near.info()["local_hits"] == 2


WRITES: list[tuple[str, Any, Callable[[NearCache], Any], Any]] = [
    # name, the value b holds locally first, the write in a, what b reads after
    ("set", "v1", lambda a: a.set("k", "v2"), "v2"),
    ("set_many", "v1", lambda a: a.set_many({"k": "v3", "j": 0}), "v3"),
    ("incr", 1, lambda a: a.incr("k", 5), 6),
    ("decr", 6, lambda a: a.decr("k"), 5),
    ("add on a held key", "kept", lambda a: a.add("k", "other"), "kept"),
    ("delete", "v1", lambda a: a.delete("k"), None),
    ("delete_many", "v1", lambda a: a.delete_many(["k", "other"]), None),
    ("delete_if_equals", "x", lambda a: a.delete_if_equals("k", "x"), None),
    ("touch", "v1", lambda a: a.touch("k", 100), "v1"),
    ("touch to zero", "v1", lambda a: a.touch("k", 0), None),
    ("set with timeout 0", "v1", lambda a: a.set("k", "v2", 0), None),
    ("set_entry", "v1", lambda a: a.set_entry("k", "entry", 60, refs=["r"]), "entry"),
    ("lease (extended)", "token", lambda a: a.lease("k", "token", 60), "token"),
    ("clear", "v1", lambda a: a.clear(), None),
]


@pytest.mark.parametrize(("name", "held", "write", "after"), WRITES, ids=[w[0] for w in WRITES])
def test_every_write_in_one_process_reaches_the_other(
    server_url: str, open_near: Opener, name: str, held: Any, write: Any, after: Any
) -> None:
    a, b = open_near(server_url), open_near(server_url)
    a.set("k", held, 600)
    caught_up(b, a)
    assert b.get("k") == held and b.tier.record("k") is not None, "b holds a local copy"
    write(a)
    caught_up(b, a)
    assert b.tier.record("k") is None, "b forgot its copy"
    assert b.get("k") == after
    assert b.info()["message_gaps"] == 0


def test_tag_prefix_pattern_and_key_invalidation(server_url: str, open_near: Opener) -> None:
    a, b = open_near(server_url), open_near(server_url)
    pages = {engine: ContentTypeCacheManager(engine) for engine in (a, b)}
    for manager in pages.values():
        manager.register_policy("page", CachePolicy(timeout=600, tags={"pages"}))
    a_pages, b_pages = pages[a], pages[b]
    a_pages.cache_content("page", "home", "home v1")
    caught_up(b, a)  # else the first read's copy may be refused: a message came during it
    assert b_pages.get_cached_content("page", "home") == "home v1"
    assert b_pages.get_cached_content("page", "home") == "home v1"
    assert b.info()["local_hits"] == 1, "the second read found the entry and its tag locally"

    a_pages.tags.invalidate_tag("pages")
    caught_up(b, a)
    assert b_pages.get_cached_content("page", "home") is None

    registries = {engine: CacheInvalidator(engine) for engine in (a, b)}
    for key in ("post:1", "post:2", "user:1"):
        a.set(key, key)
        registries[a].register_key(key)
    assert [b.get(k) for k in ("post:1", "post:2", "user:1")] == ["post:1", "post:2", "user:1"]
    assert registries[a].invalidate_prefix("post:") == 2
    caught_up(b, a)
    assert (b.get("post:1"), b.get("post:2"), b.get("user:1")) == (None, None, "user:1")
    assert registries[a].invalidate_pattern(r"^user:\d$") == 1
    caught_up(b, a)
    assert b.get("user:1") is None


def test_a_read_begun_before_a_write_keeps_nothing(server_url: str, open_near: Opener) -> None:
    """B reads the old value, A's write and message land, then B's read returns: not kept."""
    a, b = open_near(server_url), open_near(server_url)
    a.set("k", "old")
    caught_up(b, a)
    read = b.cache.get_many_with_ttl

    def read_then_write(keys: Any) -> Any:
        found = read(keys)
        a.set("k", "new")
        caught_up(b, a)
        return found

    b.cache.get_many_with_ttl = read_then_write  # type: ignore[method-assign]
    assert b.get("k") == "old"  # what the read saw, before the write
    b.cache.get_many_with_ttl = read  # type: ignore[method-assign]
    assert b.get("k") == "new"
    assert b.info()["local_refused_fills"] == 1


def test_copies_never_outlive_redis(redis_server: RedisServer, redis_client: redis.Redis) -> None:
    clock = FakeClock()
    near = NearCache(RedisCache(redis_server.url, namespace="ttl"), local_ttl=60, clock=clock)
    try:
        assert near.wait_live(10)
        near.set("short", "v", timeout=5)
        assert near.get("short") == "v" and near.get("short") == "v"
        assert near.info()["local_hits"] == 1
        clock.advance(6)
        shift_ttls(redis_client, 6)
        assert near.get("short") is None
    finally:
        near.close()


def test_locks_and_statistics_stay_in_redis(server_url: str, open_near: Opener) -> None:
    a, b = open_near(server_url), open_near(server_url)
    lock = "__cache__:swr:page"
    assert a.add(lock, "token-a", 30)
    assert b.get(lock) == "token-a" and b.get(lock) == "token-a"
    assert a.delete_if_equals(lock, "token-a")
    assert b.get(lock) is None  # never kept locally, so never stale
    assert b.info()["local_hits"] == 0


def test_async_twins_are_coherent(server_url: str, open_near: Opener) -> None:
    a, b = open_near(server_url), open_near(server_url)
    tags_a, tags_b = CacheTag(a), CacheTag(b)

    async def scenario() -> None:
        await a.aset("k", "v1")
        caught_up(b, a)
        assert await b.aget("k") == "v1" and await b.aget("k") == "v1"
        assert b.info()["local_hits"] == 1
        await a.aset("k", "v2")
        caught_up(b, a)
        assert await b.aget("k") == "v2"
        versions = await tags_b.aget_versions(["t"])
        await tags_a.ainvalidate_tag("t")
        caught_up(b, a)
        assert await tags_b.aget_versions(["t"]) != versions
        assert await b.aget_many(["k", "none"]) == {"k": "v2"}
        await a.adelete_many(["k"])
        caught_up(b, a)
        assert await b.aget("k") is None

    asyncio.run(scenario())


def test_cluster_uses_a_shard_channel(
    redis_cluster: RedisClusterServers, open_near: Opener
) -> None:
    a = open_near(redis_cluster.url, cluster=True)
    b = open_near(redis_cluster.url, cluster=True)
    tags = {engine: CacheTag(engine) for engine in (a, b)}
    shards = RedisCluster.from_url(redis_cluster.url)
    try:  # both listeners on the shard channel, none on a plain one
        counts = shards.pubsub_shardnumsub(a.bus.channel, target_nodes=RedisCluster.PRIMARIES)
        assert sum(n for _, n in counts) == 2
        assert shards.pubsub_numsub(a.bus.channel)[0][1] == 0
    finally:
        close_sync_client(shards)
    a.set_many({f"k{i}": i for i in range(20)})  # keys on every node
    caught_up(b, a)
    assert b.get_many([f"k{i}" for i in range(20)]) == {f"k{i}": i for i in range(20)}
    assert b.get("k3") == 3 and b.info()["local_hits"] >= 1
    versions = tags[b].get_versions(["t1", "t2"])
    a.delete_many([f"k{i}" for i in range(10)])
    tags[a].invalidate_tags(["t1"])
    caught_up(b, a)
    assert b.get("k3") is None and b.get("k13") == 13
    assert tags[b].get_versions(["t1", "t2"])["t2"] == versions["t2"]
    assert tags[b].get_versions(["t1"])["t1"] != versions["t1"]


def test_from_url_options(redis_server: RedisServer, open_url: Callable[[str], Any]) -> None:
    near = open_url(f"{redis_server.url}?namespace=u&local_cache=123&local_ttl=2.5")
    assert isinstance(near, NearCache)
    assert near.local_ttl == 2.5 and near.namespace == "u"
    assert isinstance(open_url(f"{redis_server.url}?local_cache=10"), NearCache)
    with pytest.raises(CacheConfigError, match="local_ttl needs local_cache"):
        from_url(f"{redis_server.url}?local_ttl=3")
    with pytest.raises(CacheConfigError, match="local_cache='0' must be positive"):
        from_url(f"{redis_server.url}?local_cache=0")
    with pytest.raises(CacheConfigError, match="unknown option 'local_cache' for memory"):
        from_url("memory://?local_cache=10")


def test_bad_arguments_name_the_fix(redis_server: RedisServer) -> None:
    engine = RedisCache(redis_server.url)
    with pytest.raises(CacheTypeError, match="NearCache\\(RedisCache\\(url\\)\\)"):
        NearCache(object())  # type: ignore[arg-type]
    with pytest.raises(CacheValueError, match="local_ttl must be a positive, finite number"):
        NearCache(engine, local_ttl=0)
    with pytest.raises(CacheValueError, match="local_ttl must be a positive, finite number"):
        NearCache(engine, local_ttl=float("inf"))
    with pytest.raises(CacheValueError, match="heartbeat must be a positive, finite number"):
        NearCache(engine, heartbeat=float("nan"))
    with pytest.raises(CacheTypeError, match="heartbeat must be a number of seconds"):
        NearCache(engine, heartbeat="1s")  # type: ignore[arg-type]
    engine.close()
