"""What is Valkey's own: its URLs and its name, on a real valkey-server (issue 16).

Everything else runs on both servers through the ``server_kind`` fixtures
(tests/server_kinds.py) and the ``"valkey"`` engine of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from cache.advanced import CacheTag
from cache.backend import CacheBackend, RedisCache
from cache.testing.redis_server import RedisServer


def test_valkey_urls_open_the_engine_on_valkey(
    valkey_server: RedisServer,
    valkey_client: redis.Redis,
    open_url: Callable[[str], CacheBackend],
) -> None:
    url = valkey_server.url.replace("redis://", "valkey://", 1)
    cache = open_url(f"{url}?namespace=app&strict=true")
    assert isinstance(cache, RedisCache)
    tags = CacheTag(cache)
    cache.set_entry("page", "v1", refs=tags.refs(tags.get_versions(["t"])))
    assert cache.get_entry("page").value == "v1"
    tags.invalidate_tag("t")
    entry = cache.get_entry("page")
    assert not tags.matches(tags.get_versions(["t"]), entry.refs)
    assert valkey_client.info("server")["server_name"] == "valkey"


def test_info_names_the_valkey_version(valkey_server: RedisServer) -> None:
    cache = RedisCache(valkey_server.url)
    try:
        info = cache.info()
    finally:
        cache.close()
    assert (info["server"], info["version"]) == ("valkey", valkey_server.version.split()[1])
