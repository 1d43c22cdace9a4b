"""Round trips per read on a real server, counted at the connection so that they cannot regress."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import redis

from cache.advanced import CachePolicy, CacheTag, ContentTypeCacheManager, StaleWhileRevalidateCache
from cache.backend import RedisCache
from cache.testing import FakeClock
from cache.testing.redis_server import RedisServer, shift_ttls


class CountingConnection(redis.Connection):
    """A real connection that counts what it sends, per thread: one send is one round trip.

    Per thread, so that a background refresh's own commands are not charged
    to the read that started it.
    """

    sent: ClassVar[Counter[int]] = Counter()

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent[threading.get_ident()] += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def counted(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[RedisCache]:
    pool = redis.ConnectionPool(
        connection_class=CountingConnection, host="127.0.0.1", port=redis_server.port
    )
    client = redis.Redis(connection_pool=pool)
    client.ping()  # connect (and its handshake) before counting
    yield RedisCache(client=client)
    client.close()


def round_trips(fn: Any) -> int:
    me = threading.get_ident()
    before = CountingConnection.sent[me]
    fn()
    return CountingConnection.sent[me] - before


def test_plain_and_tagged_reads_cost_one_round_trip(counted: RedisCache) -> None:
    counted.set("plain", "v")
    manager = ContentTypeCacheManager(counted)
    manager.register_policy("post", CachePolicy(timeout=600, tags={"post", "content"}))
    manager.cache_content("post", 1, {"id": 1}, extra_tags={"author:9"})

    manager.get_cached_content("post", 1)  # loads the script: EVALSHA, NOSCRIPT, EVAL, once
    assert round_trips(lambda: counted.get("plain")) == 1
    assert round_trips(lambda: manager.get_cached_content("post", 1)) == 1  # entry + 3 versions
    CacheTag(counted).invalidate_tag("author:9")
    assert round_trips(lambda: manager.get_cached_content("post", 1)) == 1  # and it misses
    assert manager.get_cached_content("post", 1) is None


def test_swr_reads_with_their_refresh_lock_cost_one_round_trip(
    counted: RedisCache, redis_client: redis.Redis
) -> None:
    clock = FakeClock(start=1_000_000.0)
    clock.on_advance(lambda seconds: shift_ttls(redis_client, seconds))
    swr = StaleWhileRevalidateCache(counted, clock=clock)
    gate = threading.Event()

    def held() -> str:
        gate.wait(10)
        return "new"

    swr.get_with_swr("feed", lambda: "old", timeout=10, stale_timeout=100, tags={"feed"})
    assert round_trips(lambda: swr.get_with_swr("feed", held, 10, 100, tags={"feed"})) == 1
    clock.advance(11)  # stale now: the read also claims the refresh
    swr.get_with_swr("plain", lambda: "p", timeout=10, stale_timeout=100)
    clock.advance(11)
    assert round_trips(lambda: swr.get_with_swr("plain", held, 10, 100)) == 1
    gate.set()
    swr.wait(5)
    swr.close()


def test_versioned_keys_cost_the_version_read_plus_the_get(counted: RedisCache) -> None:
    tags = CacheTag(counted)
    counted.set(tags.tag_cache_key("post:1", {"a", "b"}), "v")
    # tag_cache_key must know the versions to name the key: two round trips,
    # where the content manager's entries (above) need one.
    assert round_trips(lambda: counted.get(tags.tag_cache_key("post:1", {"a", "b"}))) == 2
