"""Redis clients (single server or cluster, sync and asyncio) and the outage policy."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from cache._recorder import NULL_RECORDER, StatsRecorder
from cache.errors import BackendUnavailableError

__all__ = [
    "BackendUnavailableError",
    "ClientOptions",
    "OutagePolicy",
    "close_sync_client",
    "make_async_client",
    "make_sync_client",
]

log = logging.getLogger("cache.backend.redis")


@dataclass(frozen=True)
class ClientOptions:
    """How to reach Redis."""

    url: str
    cluster: bool = False
    socket_timeout: float = 0.25
    connect_timeout: float = 0.25
    max_connections: int = 50


def _retry() -> Retry:
    # One immediate retry, enough to replace a pooled connection that a server
    # restart closed; redis-py's default (10 retries with backoff) would turn
    # an outage into seconds of latency per call.
    return Retry(NoBackoff(), 1)


def _common(options: ClientOptions) -> dict[str, Any]:
    common: dict[str, Any] = {
        "socket_timeout": options.socket_timeout,
        "socket_connect_timeout": options.connect_timeout,
        "retry": _retry(),
    }
    if not options.cluster:
        common["max_connections"] = options.max_connections
    return common


def make_sync_client(options: ClientOptions) -> Any:
    """Return a sync client (``Redis`` or ``RedisCluster``) for ``options``."""
    cls = RedisCluster if options.cluster else Redis
    return cls.from_url(options.url, **_common(options))


def close_sync_client(client: Any) -> None:
    """Close a sync client's connections, a cluster's per-node pools included.

    ``RedisCluster.close`` leaves the sockets of the node clients that
    ``from_url`` built (their pools are not closed with them) to the garbage
    collector; disconnect them here.
    """
    client.close()
    if isinstance(client, RedisCluster):
        for node in list(client.nodes_manager.nodes_cache.values()):
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect()


def make_async_client(options: ClientOptions) -> Any:
    """Return an asyncio client for ``options``; it belongs to the running event loop."""
    cls = AsyncRedisCluster if options.cluster else AsyncRedis
    return cls.from_url(options.url, **_common(options))


class OutagePolicy:
    """What a failed call does: raise (strict), or count, log and return a fallback.

    After ``trip_after`` consecutive failures the circuit opens for
    ``cooldown`` seconds: calls return their fallback at once instead of
    waiting on timeouts, then one call tries the server again.
    """

    def __init__(
        self,
        *,
        strict: bool,
        stats: StatsRecorder = NULL_RECORDER,
        log_interval: float = 10.0,
        trip_after: int = 3,
        cooldown: float = 1.0,
    ) -> None:
        self.strict = strict
        self.stats = stats
        self.log_interval = log_interval
        self.trip_after = trip_after
        self.cooldown = cooldown
        #: Calls that failed or were short-circuited since the engine started.
        self.errors = 0
        self._consecutive = 0
        self._open_until = 0.0
        self._last_log = -float("inf")
        self._suppressed = 0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Return False while the circuit is open (the call should not be tried)."""
        if self._open_until and time.monotonic() < self._open_until:
            with self._lock:
                self.errors += 1
            self.stats.record_error()
            if self.strict:
                raise BackendUnavailableError("Redis is unavailable (circuit open after failures)")
            return False
        return True

    def succeeded(self) -> None:
        """Note a successful call: close the circuit."""
        if self._consecutive:
            with self._lock:
                if self._consecutive >= self.trip_after:
                    log.warning("Redis is reachable again")
                self._consecutive = 0
                self._open_until = 0.0

    def failed(self, operation: str, exc: BaseException) -> None:
        """Count and log a failure (rate-limited); raise it in strict mode."""
        now = time.monotonic()
        with self._lock:
            self.errors += 1
            self._consecutive += 1
            if self._consecutive >= self.trip_after:
                self._open_until = now + self.cooldown
            due = now - self._last_log >= self.log_interval
            if due:
                self._last_log, suppressed, self._suppressed = now, self._suppressed, 0
            else:
                self._suppressed += 1
        self.stats.record_error()
        if due:
            more = f" ({suppressed} more since the last report)" if suppressed else ""
            log.warning("Redis %s failed, served as a miss: %r%s", operation, exc, more)
        if self.strict:
            raise BackendUnavailableError(f"Redis {operation} failed: {exc}") from exc
