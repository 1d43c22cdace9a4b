"""Django's cache test suite under pytest: settings, the test database, a Redis server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cache.testing.redis_server import RedisClusterServers, RedisServer
from tests.django_suite import settings

settings.configure()


@pytest.fixture(scope="session", autouse=True)
def _django_suite_redis(redis_server: RedisServer) -> Iterator[None]:
    """Name the session's Redis server (database 5) before any test class is set up."""
    settings.LOCATIONS["redis"] = redis_server.url.rsplit("/", 1)[0] + "/5?namespace=django"
    yield


@pytest.fixture(scope="session", autouse=True)
def _django_suite_cluster(redis_cluster: RedisClusterServers) -> Iterator[None]:
    """Name the session's Redis Cluster, as a ``redis+cluster://`` URL."""
    url = redis_cluster.url.replace("redis://", "redis+cluster://", 1)
    settings.LOCATIONS["cluster"] = url + "?namespace=django"
    yield
