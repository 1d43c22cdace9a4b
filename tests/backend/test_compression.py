"""Compressed values: smaller on the server, the same value back, old and foreign bytes safe."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable

import pytest
import redis

from cache._types import MISSING
from cache.backend import (
    CacheBackend,
    Compressed,
    JSONSerializer,
    MsgpackSerializer,
    RedisCache,
    compression,
)
from cache.errors import CacheConfigError, CacheValueError, SerializationError
from cache.testing.redis_server import RedisServer

#: A realistic page: repeated markup around varying text (about 30 kB).
PAGE = {
    "html": "".join(
        f'<li class="post"><a href="/posts/{i}">Notes on caching, part {i}</a> '
        f"by <span class=author>Ada Lovelace</span> · {i * 7 % 60} min read</li>\n"
        for i in range(300)
    ),
    "items": [{"id": i, "title": f"Post {i}", "tags": ["python", "cache"]} for i in range(100)],
}


@pytest.mark.parametrize("algorithm", ["zlib", "zstd"])
@pytest.mark.parametrize("inner", [JSONSerializer(), MsgpackSerializer()])
def test_large_values_shrink_and_round_trip(algorithm: str, inner: object) -> None:
    codec = Compressed(inner, threshold=1024, algorithm=algorithm)  # type: ignore[arg-type]
    plain = inner.dumps(PAGE)  # type: ignore[attr-defined]
    packed = codec.dumps(PAGE)
    assert packed[:1] == compression.ALGORITHMS[algorithm] and len(packed) < len(plain) / 4
    assert codec.loads(packed) == json.loads(json.dumps(PAGE))
    small = {"id": 1}
    assert codec.dumps(small) == inner.dumps(small)  # type: ignore[attr-defined]
    assert codec.loads(codec.dumps(small)) == small


def test_values_written_without_compression_or_by_the_other_algorithm_still_read() -> None:
    zlib_codec, zstd_codec = Compressed(), Compressed(algorithm="zstd")
    assert zlib_codec.loads(JSONSerializer().dumps(PAGE)) == zlib_codec.loads(
        zstd_codec.dumps(PAGE)
    )
    assert zstd_codec.loads(zlib_codec.dumps(PAGE))["items"][5]["title"] == "Post 5"


def test_corrupt_truncated_and_oversized_values_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = Compressed()
    packed = codec.dumps(PAGE)
    for bad in (b"z" + b"not zlib", packed[: len(packed) // 2], b"Z" + b"not zstd"):
        with pytest.raises(SerializationError):
            codec.loads(bad)
    monkeypatch.setattr(compression, "MAX_INFLATED", 10_000)
    bomb = b"z" + zlib.compress(b"j" + b" " * 1_000_000)
    with pytest.raises(SerializationError, match="inflates past"):
        codec.loads(bomb)
    # A zstd frame states its content size: the bound holds all the same.
    zstd_bomb = Compressed(algorithm="zstd").dumps(" " * 1_000_000)
    with pytest.raises(SerializationError, match="inflates past"):
        Compressed(algorithm="zstd").loads(zstd_bomb)


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(CacheValueError, match="threshold"):
        Compressed(threshold=-1)
    with pytest.raises(CacheConfigError, match="algorithm"):
        Compressed(algorithm="lz4")
    with pytest.raises(CacheValueError, match="level"):
        Compressed(level=30)


def test_on_redis_the_server_holds_the_compressed_bytes(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    engine = RedisCache(redis_server.url, namespace="z", serializer=Compressed())
    try:
        engine.set("page", PAGE, 60)
        stored = redis_client.get("z:page")
        assert stored is not None and stored[:1] == b"z"
        assert len(stored) < len(json.dumps(PAGE)) / 4
        assert engine.get("page") == json.loads(json.dumps(PAGE))
        redis_client.set("z:torn", b"z" + b"\x00" * 20)  # a torn or foreign write
        assert engine.get("torn", MISSING) is MISSING and engine.info()["corrupt"] == 1
    finally:
        engine.close()


def test_from_url_turns_compression_on_with_a_threshold(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    open_url: Callable[[str], CacheBackend],
) -> None:
    engine = open_url(f"{redis_server.url}?namespace=u&compress=100&serializer=msgpack")
    engine.set("page", PAGE, 60)
    stored = redis_client.get("u:page")
    assert stored is not None and stored[:1] == b"z"
    assert engine.get("page")["items"][0] == {
        "id": 0,
        "title": "Post 0",
        "tags": ["python", "cache"],
    }
    with pytest.raises(CacheConfigError, match="compress"):
        open_url(f"{redis_server.url}?compress=-5")
