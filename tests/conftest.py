"""Fixtures shared by every test package: a fake clock and real Redis servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from cache.testing import FakeClock
from cache.testing.redis_server import RedisClusterServers, RedisServer


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
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A three-master Redis Cluster on loopback ports, for the whole session."""
    cluster = RedisClusterServers(Path(tmp_path_factory.mktemp("cluster")))
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
def cluster_client(redis_cluster: RedisClusterServers) -> Iterator[RedisCluster]:
    """A raw client of the session cluster, flushed before the test."""
    client = RedisCluster.from_url(redis_cluster.url)
    client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield client
    client.close()
