"""The refs header: one codec for every reader of an entry's stored form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from cache._types import MISSING
from cache.backend import RedisCache
from cache.backend.redis import _header as header
from cache.testing.redis_server import RedisServer


def test_round_trip_keeps_names_and_value() -> None:
    raw = header.encode(["app:a", "app:b"], b'j"v"')
    assert raw[:1] == header.MARK
    assert header.decode(raw) == (["app:a", "app:b"], b'j"v"')
    assert header.strip(raw) == b'j"v"'


def test_a_value_without_a_header_has_no_names() -> None:
    assert header.decode(b"42") == ([], b"42")
    assert header.strip(b'j"v"') == b'j"v"'


@pytest.mark.parametrize("raw", [b"r", b"r\x00\x00", b"r\x00\x00\x00\x09[]", b"redis"])
def test_a_header_cut_short_is_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError, match="refs header"):
        header.strip(raw)
    with pytest.raises(ValueError, match="refs header"):
        header.split(raw)
    with pytest.raises(ValueError, match="refs header"):
        header.value(raw)
    assert header.decode(raw) == ([], raw)  # lenient: the engine's read finds the corruption


def test_a_header_must_list_key_names() -> None:
    listed = b"[1]"
    raw = header.MARK + len(listed).to_bytes(4, "big") + listed + b"42"
    with pytest.raises(ValueError, match="key names"):
        header.split(raw)
    assert header.decode(raw) == ([], raw)


@pytest.fixture
def cache(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[RedisCache]:
    engine = RedisCache(redis_server.url)
    yield engine
    engine.close()


def test_a_foreign_value_starting_with_r_is_a_miss(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    redis_client.set("foreign", b"redis")
    assert cache.get("foreign", MISSING) is MISSING
    assert cache.get_entry("foreign").value is MISSING
    redis_client.delete("foreign")


def test_set_entry_writes_the_header_get_reads_past_it(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    cache.set_entry("e", {"x": 1}, refs=["t"])
    assert header.decode(redis_client.get("e")) == (["t"], b'j{"x":1}')
    assert cache.get("e") == {"x": 1}
    cache.delete("e")
