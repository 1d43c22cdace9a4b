"""The engine tests run on each server program: Redis, then Valkey (issue 16).

``redis_server`` and ``redis_cluster`` here are the session server or cluster
of the test's ``server_kind``; a test that starts a server of its own (to kill,
pause or fill it) starts a ``new_server`` of that kind.
"""

from __future__ import annotations

import pytest

from cache.testing.redis_server import RedisClusterServers, RedisServer, ValkeyServer

SERVERS = ["redis", "valkey"]


@pytest.fixture(params=SERVERS)
def server_kind(request: pytest.FixtureRequest) -> str:
    """The server program the test runs on: ``"redis"`` or ``"valkey"``."""
    return str(request.param)


@pytest.fixture
def redis_server(
    request: pytest.FixtureRequest, server_kind: str, redis_server: RedisServer
) -> RedisServer:
    """The session server of the test's kind (the Redis one is the outer ``redis_server``)."""
    if server_kind == "valkey":
        valkey: RedisServer = request.getfixturevalue("valkey_server")
        return valkey
    return redis_server


@pytest.fixture
def redis_cluster(
    request: pytest.FixtureRequest, server_kind: str, redis_cluster: RedisClusterServers
) -> RedisClusterServers:
    """The session cluster of the test's kind (the Redis one is the outer ``redis_cluster``)."""
    if server_kind == "valkey":
        valkey: RedisClusterServers = request.getfixturevalue("valkey_cluster")
        return valkey
    return redis_cluster


@pytest.fixture
def new_server(server_kind: str) -> type[RedisServer]:
    """The class of a server of the test's own: ``RedisServer`` or ``ValkeyServer``."""
    return ValkeyServer if server_kind == "valkey" else RedisServer
