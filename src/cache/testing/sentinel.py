"""A real Sentinel deployment for tests: a primary, a replica and three sentinels, on loopback.

Needs ``redis-server`` (it runs the sentinels too, with ``--sentinel``), or
another server program as ``binary`` (``valkey-server``), and the ``redis``
extra. The sentinels declare the primary down after ``down_after``
milliseconds, so a test of a failover takes a few seconds.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import redis

from cache.testing.redis_server import (
    RedisServer,
    free_port,
    redis_server_binary,
    wait_for_ping,
)

__all__ = ["SERVICE", "RedisSentinels"]

#: The name the sentinels know the primary by.
SERVICE = "cachetest"


class _Sentinel:
    """One sentinel process, with its own (rewritable) configuration file."""

    def __init__(self, workdir: Path, primary_port: int, down_after: int, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = workdir / f"sentinel-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\nbind 127.0.0.1\nprotected-mode no\ndir {self.dir}\n"
            f"logfile {self.dir / 'sentinel.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} {down_after}\n"
            f"sentinel failover-timeout {SERVICE} {down_after * 4}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, str(self.config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_ping(self.port, self.process, self.dir / "sentinel.log", "the sentinel")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        self.process = None


class RedisSentinels:
    """A primary, one replica of it, and three sentinels watching them as :data:`SERVICE`.

    ``binary``: the server program of them all, ``redis-server`` unless given.
    """

    def __init__(self, workdir: Path, down_after: int = 1000, binary: str | None = None) -> None:
        binary = binary or redis_server_binary()
        self.primary = RedisServer(workdir, binary=binary)
        self.replica = RedisServer(
            workdir, None, "--replicaof", "127.0.0.1", str(self.primary.port), binary=binary
        )
        self.sentinels = [
            _Sentinel(workdir, self.primary.port, down_after, binary) for _ in range(3)
        ]

    @property
    def url(self) -> str:
        """The ``redis+sentinel://`` URL naming the three sentinels and the service."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> None:
        """Start every process; return once the sentinels know the replica."""
        self.primary.start()
        self.replica.start()
        for sentinel in self.sentinels:
            sentinel.start()
        self.wait(lambda: self._replicas_known() and self._linked())

    def primary_port(self) -> int:
        """Return the port of the primary the sentinels name now."""
        client = redis.Redis(port=self.sentinels[0].port, socket_timeout=1)
        try:
            address: Any = client.sentinel_get_master_addr_by_name(SERVICE)
            return int(address[1])
        finally:
            client.close()

    def wait_for_failover(self, old_port: int, timeout: float = 30) -> int:
        """Wait until the sentinels name another primary than ``old_port``; return its port."""
        self.wait(lambda: self.primary_port() != old_port, timeout)
        return self.primary_port()

    def _replicas_known(self) -> bool:
        client = redis.Redis(port=self.sentinels[0].port, socket_timeout=1)
        try:
            return bool(client.sentinel_slaves(SERVICE))
        finally:
            client.close()

    def _linked(self) -> bool:
        client = redis.Redis(port=self.replica.port, socket_timeout=1)
        try:
            return client.info("replication").get("master_link_status") == "up"
        finally:
            client.close()

    @staticmethod
    def wait(condition: object, timeout: float = 30) -> None:
        """Poll ``condition()`` until it is true, or raise after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():  # type: ignore[operator]
                    return
            except redis.exceptions.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the sentinel deployment did not reach the expected state")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the sentinels and both servers."""
        for sentinel in self.sentinels:
            sentinel.stop()
        self.primary.stop()
        self.replica.stop()
