"""Fixtures of the fault-injection suite: its own Redis and Valkey servers, the report file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cache.testing.redis_server import RedisClusterServers, RedisServer, ValkeyServer
from tests.server_kinds import valkey_binary

#: The server programs each single-server scenario runs on.
SERVERS: dict[str, type[RedisServer]] = {"redis": RedisServer, "valkey": ValkeyServer}


@pytest.fixture(params=list(SERVERS))
def make_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[bool], RedisServer]]:
    """Start a server of this test's own (Redis, then Valkey), with or without appendonly."""
    started: list[RedisServer] = []

    def make(appendonly: bool) -> RedisServer:
        # appendfsync always: what the server acknowledged survives the SIGKILL. With the
        # default (everysec) the AOF write waits while the fsync of each second runs, the
        # replies do not, and a kill then undoes invalidations that had returned.
        extra = ("--appendonly", "yes", "--appendfsync", "always") if appendonly else ()
        binary = valkey_binary() if request.param == "valkey" else None
        server = SERVERS[request.param](tmp_path, None, *extra, binary=binary)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(params=list(SERVERS))
def fault_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisClusterServers]:
    """A three-node cluster of this test's own (Redis, then Valkey), answering with a node down."""
    binary = valkey_binary() if request.param == "valkey" else None
    cluster = RedisClusterServers(tmp_path, "--cluster-require-full-coverage", "no", binary=binary)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def fault_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file every scenario appends its line of the table to."""
    return tmp_path_factory.getbasetemp() / "faults-report.txt"
