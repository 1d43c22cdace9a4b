"""Fixtures shared by every test package: a fake clock and real Redis and Valkey servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from cache.backend import CacheBackend, InMemoryCache, NearCache, RedisCache
from cache.backend.config import from_url
from cache.backend.redis._client import close_sync_client
from cache.backend.validation import RESERVED_PREFIX
from cache.testing import FakeClock
from cache.testing.redis_server import (
    RedisClusterServers,
    RedisServer,
    ValkeyServer,
    redis_server_binary,
    server_version,
    shift_ttls,
    valkey_server_binary,
)
from tests.server_kinds import valkey_binary


def pytest_report_header() -> list[str]:
    """Name the server programs the tests run, with their versions."""
    found = []
    for which in (redis_server_binary, valkey_server_binary):
        try:
            binary = which()
        except RuntimeError as missing:
            found.append(str(missing))
        else:
            found.append(f"{server_version(binary)}: {binary}")
    return ["servers: " + "; ".join(found)]


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at t=1000s."""
    return FakeClock()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server on a loopback port, for the whole session."""
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A valkey-server on a loopback port, for the whole session (see ``ValkeyServer``)."""
    server = ValkeyServer(Path(tmp_path_factory.mktemp("valkey")), binary=valkey_binary())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A three-master Redis Cluster on loopback ports, for the whole session."""
    cluster = RedisClusterServers(Path(tmp_path_factory.mktemp("cluster")))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A three-master Valkey cluster on loopback ports, for the whole session."""
    cluster = RedisClusterServers(
        Path(tmp_path_factory.mktemp("valkey-cluster")), binary=valkey_binary()
    )
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A raw client of the session server, flushed before the test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def valkey_client(valkey_server: RedisServer) -> Iterator[redis.Redis]:
    """A raw client of the session Valkey server, flushed before the test."""
    client = redis.Redis.from_url(valkey_server.url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def open_url() -> Iterator[Callable[[str], CacheBackend]]:
    """``cache.from_url``; every engine it opened is closed after the test."""
    opened: list[CacheBackend] = []

    def open_(url: str) -> CacheBackend:
        opened.append(from_url(url))
        return opened[-1]

    yield open_
    for backend in opened:
        backend.close()


@pytest.fixture
def cluster_client(redis_cluster: RedisClusterServers) -> Iterator[RedisCluster]:
    """A raw client of the session cluster, flushed before the test."""
    client = RedisCluster.from_url(redis_cluster.url)
    client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield client
    close_sync_client(client)


#: "near": a NearCache over the session Redis server, its local tier live.
ENGINES = ["memory", "redis", "valkey", "cluster", "near"]


def _locks(engine: CacheBackend, raw: object | None) -> list[str]:
    pattern = RESERVED_PREFIX + "swr:"
    if isinstance(engine, InMemoryCache):
        return [k for k in engine._data if k.startswith(pattern)]
    return [k.decode() for k in raw.scan_iter(match=f"*{pattern}*")]  # type: ignore[attr-defined]


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[CacheBackend]:
    """A fresh, empty engine whose time moves with ``clock``."""
    raw = None
    engine: CacheBackend
    if request.param == "memory":
        engine = InMemoryCache(max_entries=200_000, clock=clock)
    elif request.param in ("redis", "valkey"):
        raw = request.getfixturevalue(f"{request.param}_client")
        engine = RedisCache(request.getfixturevalue(f"{request.param}_server").url, strict=True)
    elif request.param == "near":
        raw = request.getfixturevalue("redis_client")
        url = request.getfixturevalue("redis_server").url
        engine = NearCache(RedisCache(url, strict=True), clock=clock)
        assert engine.wait_live(10), "the near cache never subscribed"
    else:
        raw = request.getfixturevalue("cluster_client")
        engine = RedisCache(request.getfixturevalue("redis_cluster").url, cluster=True, strict=True)
    if raw is not None:
        # Redis keeps its own time: advancing the fake clock shortens every TTL.
        clock.on_advance(lambda seconds: shift_ttls(raw, seconds))
    yield engine
    # Invariant after every test: no refresh lock outlives its refresh.
    assert _locks(engine, raw) == [], "refresh locks left behind"
    engine.close()
