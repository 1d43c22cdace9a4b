"""Redis clients (single server or cluster, sync and asyncio) and the outage policy."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)
from redis.retry import Retry

from cache._clock import Clock, system_clock
from cache._recorder import NULL_RECORDER, StatsRecorder
from cache.backend.base import current_attempt
from cache.backend.redis._async_cluster import AsyncCluster
from cache.backend.redis._sentinel import (
    close_sentinel_parts,
    parse_sentinel_url,
    sentinel_client,
)
from cache.errors import BackendUnavailableError

__all__ = [
    "FAILURES",
    "MUST_APPLY",
    "BackendUnavailableError",
    "ClientOptions",
    "OutagePolicy",
    "close_sync_client",
    "is_exhausted",
    "is_refusal",
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


def _retry(after_timeouts: bool) -> Retry:
    # One immediate retry, enough to replace a pooled connection that a server
    # restart closed; redis-py's default (10 retries with backoff) would turn
    # an outage into seconds of latency per call. The sync client does not
    # retry a timeout: a hung server would make each call wait twice the
    # socket timeout. The asyncio one does: its timeout also counts the time a
    # busy event loop takes to come back to the task, so a read the server
    # answered in time can time out.
    errors = (
        (RedisConnectionError, RedisTimeoutError) if after_timeouts else (RedisConnectionError,)
    )
    return Retry(NoBackoff(), 1, supported_errors=errors)


def _common(options: ClientOptions, in_loop: bool = False) -> dict[str, Any]:
    common: dict[str, Any] = {
        "socket_timeout": options.socket_timeout,
        "socket_connect_timeout": options.connect_timeout,
        "retry": _retry(after_timeouts=in_loop),
    }
    if not options.cluster:
        common["max_connections"] = options.max_connections
    return common


def make_sync_client(options: ClientOptions) -> Any:
    """Return a sync client (``Redis``, ``RedisCluster``, a sentinel's primary) for ``options``."""
    target = parse_sentinel_url(options.url)
    if target is not None:
        return sentinel_client(target, _common(options), in_loop=False)
    cls = RedisCluster if options.cluster else Redis
    return cls.from_url(options.url, **_common(options))


def close_sync_client(client: Any) -> None:
    """Close a sync client's connections, a cluster's per-node pools included.

    ``RedisCluster.close`` leaves the sockets of the node clients that
    ``from_url`` built (their pools are not closed with them) to the garbage
    collector; disconnect them here.
    """
    client.close()
    close_sentinel_parts(client)
    if isinstance(client, RedisCluster):
        for node in list(client.nodes_manager.nodes_cache.values()):
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect()


def make_async_client(options: ClientOptions) -> Any:
    """Return an asyncio client for ``options``; it belongs to the running event loop."""
    target = parse_sentinel_url(options.url)
    if target is not None:
        return sentinel_client(target, _common(options, in_loop=True), in_loop=True)
    if not options.cluster:
        return AsyncRedis.from_url(options.url, **_common(options, in_loop=True))
    # No retry inside a call: the asyncio cluster client rediscovers the whole
    # cluster before each retry, and every task's next command waits for that,
    # so one dead node's refused connections stalled reads of every node for
    # seconds. A failed call is a miss; the per-node circuit does the rest.
    common = {**_common(options, in_loop=True), "retry": Retry(NoBackoff(), 0)}
    return AsyncCluster.from_url(options.url, **common)


#: Operations whose purpose is to remove or invalidate, and the reads of the
#: key index that choose what to invalidate (an empty answer would say "no
#: key to invalidate"): when one cannot be confirmed applied it raises
#: BackendUnavailableError even with strict=False (open circuit included), so
#: that a lost invalidation never looks like a success (issue 1). Reads of
#: values degrade to misses, writes that add data to no-ops. A compare-and-
#: delete (``delete_if_equals``) releases a lease, not data: when it fails the
#: lease runs out by itself, so it degrades to False like the writes.
MUST_APPLY = frozenset(
    {
        "delete",
        "delete_many",
        "clear",
        "flush_database",
        "index_remove",
        "index_prefix",
        "index_scan",
    }
)


#: What a failed call raises: redis-py's errors and the cluster client's own,
#: which are no RedisError (a slot whose node is down: SlotNotCoveredError).
FAILURES = (RedisError, RedisClusterException)

#: Error replies that mean "not now" (a cluster reconfiguring, a replica
#: answering for a primary that is gone): outages, not refusals.
_UNAVAILABLE_REPLIES = (ClusterDownError, TryAgainError, ReadOnlyError, AskError)


def is_exhausted(exc: BaseException) -> bool:
    """Return True if ``exc`` is the client's pool out of connections (``MaxConnectionsError``).

    The command was never sent, and the server says nothing: no outage.
    """
    return isinstance(exc, RedisConnectionError) and "Too many connections" in str(exc)


def is_refusal(exc: BaseException) -> bool:
    """Return True if ``exc`` is the server refusing a command (a script error, a wrong type).

    A refusal says the server is up: it never opens the circuit.
    """
    return isinstance(exc, ResponseError) and not isinstance(exc, _UNAVAILABLE_REPLIES)


class _RateLimitedLog:
    """Log a warning at most once per ``interval`` seconds, counting the ones held back."""

    def __init__(self, interval: float, clock: Clock) -> None:
        self.interval = interval
        self.clock = clock
        self._last = -float("inf")
        self._held = 0
        self._lock = threading.Lock()

    def warn(self, message: str, *args: object) -> None:
        now = self.clock()
        with self._lock:
            if now - self._last < self.interval:
                self._held += 1
                return
            self._last, held, self._held = now, self._held, 0
        more = f" ({held} more since the last report)" if held else ""
        log.warning(message + "%s", *args, more)


class OutagePolicy:
    """What a failed call does: raise, or count, log and return a fallback.

    A call raises ``BackendUnavailableError`` when the engine is ``strict`` or
    the operation must apply (:data:`MUST_APPLY`: removals and invalidations);
    otherwise its failure is counted, logged at a limited rate and the call
    returns its fallback (a miss, a no-op write).

    After ``trip_after`` consecutive failures to reach a server the circuit of
    that server (its *scope*: a cluster has one per node, so a dead node
    leaves the others' keys alone) opens for ``cooldown`` seconds (read on
    ``clock``): calls return their fallback at once (or raise, as above)
    instead of waiting on timeouts, then one call tries the server again. A
    command the server refused (a ``ResponseError``) is no outage: it is
    counted in :attr:`refused` and leaves the circuit alone.
    Corrupt or foreign bytes read back are counted in :attr:`corrupt`.
    """

    def __init__(
        self,
        *,
        strict: bool,
        stats: StatsRecorder = NULL_RECORDER,
        log_interval: float = 10.0,
        trip_after: int = 3,
        cooldown: float = 1.0,
        clock: Clock = system_clock,
    ) -> None:
        self.strict = strict
        self.clock = clock
        self.stats = stats
        self.trip_after = trip_after
        self.cooldown = cooldown
        #: Calls that failed or were short-circuited since the engine started.
        self.errors = 0
        #: Commands the server answered with an error (a refusal, not an outage).
        self.refused = 0
        #: Values read back that could not be decoded (served as misses).
        self.corrupt = 0
        #: Per scope (a cluster node's name; "" for a single server): failures
        #: in a row, and until when its circuit is open.
        self._consecutive: dict[str, int] = {}
        self._open_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._outage_log = _RateLimitedLog(log_interval, clock)
        self._data_log = _RateLimitedLog(log_interval, clock)

    @property
    def log_interval(self) -> float:
        """Seconds between two warnings of one kind."""
        return self._outage_log.interval

    @log_interval.setter
    def log_interval(self, seconds: float) -> None:
        self._outage_log.interval = self._data_log.interval = seconds

    @staticmethod
    def must_apply(operation: str) -> bool:
        """Return True if ``operation`` raises whenever it cannot be confirmed applied."""
        return operation in MUST_APPLY

    def _raises(self, operation: str) -> bool:
        return self.strict or operation in MUST_APPLY

    def _open(self, scope: str) -> bool:
        until = self._open_until.get(scope)
        return until is not None and self.clock() < until

    def allow(self, operation: str = "call", scope: str = "") -> bool:
        """Return False while ``scope``'s circuit is open (the call should not be tried).

        Also False when a call to ``scope`` already failed in the running
        attempt (:func:`~cache.backend.base.one_attempt`): an operation waits
        on a failing server once at most. Raises instead when the call is
        strict or must apply. A background attempt's call (giving back a lost
        lease: nobody waits for it) is tried through an open circuit: it
        learns first that the server answers again, and closes the circuit.
        """
        attempt = current_attempt()
        gave_up = attempt is not None and attempt.gave_up(scope)
        probing = attempt is not None and attempt.background
        if not gave_up and (probing or not (self._open_until and self._open(scope))):
            return True
        if attempt is not None:
            attempt.note(scope, sent=False)  # not sent: the operation goes on without it
        with self._lock:
            self.errors += 1
        self.stats.record_error()
        if self._raises(operation):
            why = (
                "an earlier call of this operation failed"
                if gave_up
                else f"circuit open after {self.trip_after} failures"
            )
            raise BackendUnavailableError(
                f"Redis {operation} was not applied: Redis is unavailable ({why}); retry it later"
            )
        return False

    def succeeded(self, scope: str = "") -> None:
        """Note a call ``scope`` answered: close its circuit."""
        if self._consecutive.get(scope):
            with self._lock:
                if self._consecutive.pop(scope, 0) >= self.trip_after:
                    log.warning("Redis is reachable again%s", f" ({scope})" if scope else "")
                self._open_until.pop(scope, None)

    def failed(self, operation: str, exc: BaseException, scope: str = "") -> None:
        """Count and log a failure to reach ``scope``; raise if strict or must apply."""
        attempt = current_attempt()
        if attempt is not None:
            attempt.note(scope)
        now = self.clock()
        with self._lock:
            self.errors += 1
            count = self._consecutive[scope] = self._consecutive.get(scope, 0) + 1
            # A failure while the circuit is open comes from a call begun before
            # it opened: it says nothing new and does not put the next try off.
            if count >= self.trip_after and not self._open(scope):
                self._open_until[scope] = now + self.cooldown
        self.stats.record_error()
        raises = self._raises(operation)
        self._outage_log.warn(
            "Redis %s failed, %s: %r",
            operation,
            "raised" if raises else "served as a miss",
            exc,
        )
        if raises:
            raise BackendUnavailableError(
                f"Redis {operation} failed and was not applied: {exc}"
            ) from exc

    def exhausted(self, operation: str, exc: BaseException, scope: str = "") -> None:
        """Count a call the pool had no connection for: not sent, the circuit left alone.

        Under load every connection may be busy (50 tasks and their background
        refreshes): no sign of the server's health. Raises as :meth:`failed`.
        """
        attempt = current_attempt()
        if attempt is not None:
            attempt.note(scope, sent=False)
        with self._lock:
            self.errors += 1
        self.stats.record_error()
        self._outage_log.warn("Redis %s found no free connection in the pool: %r", operation, exc)
        if self._raises(operation):
            raise BackendUnavailableError(
                f"Redis {operation} was not sent: no free connection in the pool ({exc})"
            ) from exc

    def refusal(self, operation: str, exc: BaseException, scope: str = "") -> None:
        """Count a command the server refused (not an outage); raise if strict or must apply."""
        with self._lock:
            self.refused += 1
        self.succeeded(scope)  # the server answered: it is reachable
        self.stats.record_error()
        raises = self._raises(operation)
        self._data_log.warn("Redis refused %s: %r", operation, exc)
        if raises:
            raise BackendUnavailableError(
                f"Redis refused {operation}, which was not applied: {exc}"
            ) from exc

    def corrupted(self, key: str, exc: BaseException) -> None:
        """Count and log (rate-limited) a value that could not be decoded; it is a miss."""
        with self._lock:
            self.corrupt += 1
        self.stats.record_error()
        self._data_log.warn("unreadable value under %r served as a miss and deleted: %s", key, exc)
