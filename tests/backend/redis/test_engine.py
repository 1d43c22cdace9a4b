"""RedisCache against a real redis-server and a real 3-master cluster: the same contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from cache.backend import RedisCache
from cache.testing.contract import BackendContract
from cache.testing.redis_server import RedisClusterServers, RedisServer, shift_ttls


class TestRedisContract(BackendContract):
    native_expiry = True

    @pytest.fixture
    def backend(self, redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[RedisCache]:
        # clear() needs a namespace (issue 7); the engine without one runs every
        # feature test (tests/conftest.py) and its clear() refusal is in test_namespaces.py.
        engine = RedisCache(redis_server.url, namespace="contract", strict=True)
        yield engine
        engine.close()

    @pytest.fixture
    def advance(self, redis_client: redis.Redis) -> Callable[[float], None]:
        return lambda seconds: shift_ttls(redis_client, seconds)


class TestRedisNamespacedContract(TestRedisContract):
    @pytest.fixture
    def backend(self, redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[RedisCache]:
        redis_client.set("other-app:key", "untouched")
        engine = RedisCache(redis_server.url, namespace="app", strict=True)
        yield engine
        engine.close()
        assert redis_client.get("other-app:key") == b"untouched"  # clear() kept to its namespace


class TestRedisClusterContract(TestRedisContract):
    @pytest.fixture
    def backend(  # type: ignore[override]
        self, redis_cluster: RedisClusterServers, cluster_client: RedisCluster
    ) -> Iterator[RedisCache]:
        engine = RedisCache(redis_cluster.url, namespace="contract", cluster=True, strict=True)
        yield engine
        engine.close()

    @pytest.fixture
    def advance(self, cluster_client: RedisCluster) -> Callable[[float], None]:  # type: ignore[override]
        return lambda seconds: shift_ttls(cluster_client, seconds)
