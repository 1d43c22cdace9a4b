"""The engine tests run on each server program: Redis, then Valkey (issue 16)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.testing.redis_server import RedisServer
from tests.server_kinds import new_server, redis_cluster, redis_server, server_binary, server_kind

__all__ = ["new_server", "redis_cluster", "redis_server", "server", "server_binary", "server_kind"]


@pytest.fixture
def server(tmp_path: Path, new_server: type[RedisServer]) -> Iterator[RedisServer]:
    """A server of this test's own, to pause or kill (a test file may start it otherwise)."""
    started = new_server(tmp_path)
    started.start()
    yield started
    started.stop()
