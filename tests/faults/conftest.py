"""Fixtures of the fault-injection suite: its own Redis and Valkey servers, the report file."""

from __future__ import annotations

import shutil
import tempfile
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
    # The append-only file in memory (tmpfs) where there is one: a SIGKILL of the server
    # keeps it all the same, and an fsync costs nothing. On disk, one fsync per write
    # took one invalidation past the 0.25 s socket timeout now and then (three in a row
    # open the circuit: the suite then saw an invalidation raise 1.8 s after the restart).
    shm = Path("/dev/shm")
    workdir = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path

    def make(appendonly: bool) -> RedisServer:
        # appendfsync always: what the server acknowledged survives the SIGKILL. With the
        # default (everysec) the AOF write waits while the fsync of each second runs, the
        # replies do not, and a kill then undoes invalidations that had returned.
        extra = ("--appendonly", "yes", "--appendfsync", "always") if appendonly else ()
        binary = valkey_binary() if request.param == "valkey" else None
        server = SERVERS[request.param](workdir, None, *extra, binary=binary)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
    if workdir != tmp_path:
        shutil.rmtree(workdir, ignore_errors=True)


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
