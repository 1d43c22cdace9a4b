"""NearCache: an in-process tier in front of a RedisCache, kept coherent across processes.

Reads are served from the local tier when it holds the key; otherwise from
Redis, and what was read is kept locally. Every write, removal and
invalidation goes to Redis first, then to every other process as a message
that makes it forget the keys (:mod:`cache.backend.near._bus`). The local tier
is trusted only while the subscription is known to deliver every message; a
message cannot be missed unseen for longer than ``local_ttl``. The guarantees
and failure modes are in ``docs/near-cache.md`` and ``docs/engines.md``.
"""

from __future__ import annotations

import math
import os
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from cache._types import MISSING, Timeout
from cache.backend.base import CacheBackend, Claim, Entry
from cache.backend.near._async import AsyncTwins
from cache.backend.near._base import removes
from cache.backend.near._bus import Bus
from cache.backend.near._tier import LocalTier, cacheable
from cache.backend.redis.engine import RedisCache, namespace_prefix
from cache.backend.serializers import Serializer, check_serializer
from cache.backend.validation import RESERVED_PREFIX, check_keys
from cache.errors import CacheTypeError, CacheValueError

__all__ = ["NearCache"]

T = TypeVar("T")


def _channels(cache: RedisCache) -> tuple[str, str]:
    """Return the namespace's channel and the database's (pub/sub channels span databases)."""
    db = 0 if cache.cluster else cache.client.get_connection_kwargs().get("db", 0)
    everywhere = f"{RESERVED_PREFIX}near:{db}"
    return f"{everywhere}:{namespace_prefix(cache.namespace)}", everywhere


def _local_serializer(cache: RedisCache) -> Serializer:
    inner = getattr(cache.serializer, "inner", None)  # no compression for the local copies
    return check_serializer(inner if inner is not None else cache.serializer)


def _after_fork(near: NearCache) -> None:
    """Have ``near`` start a listener in every forked child (e.g. a preloading web server)."""
    ref = weakref.ref(near)

    def restart() -> None:
        alive = ref()
        if alive is not None and alive.bus.running:
            alive._forked()

    os.register_at_fork(after_in_child=restart)


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CacheTypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise CacheValueError(f"{name} must be a positive, finite number of seconds, got {value!r}")
    return float(value)


class NearCache(AsyncTwins):
    """A :class:`~cache.backend.RedisCache` with an in-process tier in front, kept coherent.

    Args:
        cache: The shared engine (single server, Sentinel or Cluster).
        max_entries: Entries the local tier keeps (most useful ones, by the
            in-memory engine's eviction policy).
        local_ttl: Seconds a local copy lives at most. It bounds how long a
            process may serve a value another process replaced when the
            message saying so is lost in a way nobody could see; and how long
            a value outlives its expiry in Redis.
        heartbeat: Seconds between checks that the subscription still
            delivers; three unanswered beats flush the local tier.
        clock: Monotonic seconds for the local copies' lifetimes, for tests
            (the heartbeat keeps real time).

    Reserved keys other than tag versions and HTTP Vary lists (locks,
    leases, statistics) always go to Redis.
    """

    def __init__(
        self,
        cache: RedisCache,
        *,
        max_entries: int = 10_000,
        local_ttl: float = 5.0,
        heartbeat: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(cache, RedisCache):
            raise CacheTypeError(
                "cache must be a RedisCache: NearCache(RedisCache(url)), got "
                f"{type(cache).__name__}"
            )
        super().__init__(cache)
        self.cache: RedisCache = cache
        self.local_ttl = _seconds("local_ttl", local_ttl)
        self._heartbeat = _seconds("heartbeat", heartbeat)
        self._clock = clock
        self._tier_args = (max_entries, self.local_ttl, _local_serializer(cache), clock)
        self.tier = LocalTier(*self._tier_args)
        self.bus = self._listen()
        _after_fork(self)

    def _listen(self) -> Bus:
        bus = Bus(
            self.cache.client,
            _channels(self.cache),
            sharded=self.cache.cluster,
            tier=self.tier,
            heartbeat=self._heartbeat,
            send_timeout=self.cache.socket_timeout or 1.0,
        )
        bus.start()
        # Dropped without close(): the listener stops with it (it holds no reference to it).
        weakref.finalize(self, bus.stop)
        return bus

    def _forked(self) -> None:
        """In a forked child: the listener thread did not come along; start one of its own.

        The child starts with an empty tier (new locks: the parent's listener
        may have held one at the fork) and numbers its messages anew (a
        publisher of its own), so that nobody sees its numbers as a gap.
        """
        self.tier = LocalTier(*self._tier_args)
        self.bus = self._listen()

    def wait_live(self, timeout: float = 5.0) -> bool:
        """Wait until the local tier is in use (subscribed); return True if it is."""
        return self.bus.wait_subscribed(timeout)

    # -- reads ----------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """Return the local copy of ``key``, else Redis's value (kept locally), else ``default``."""
        if not cacheable(key):
            return self.cache.get(key, default)
        record = self.tier.record(key)
        if record is not None:
            return self.tier.value(record)
        ticket, started = self.tier.ticket(), self._clock()
        read = self.cache.get_many_with_ttl([key])
        value = self._fill_many(ticket, read, started).get(key, MISSING)
        return default if value is MISSING else value

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return the cached values of ``keys``: local copies, the rest in one Redis read."""
        found, wanted = self._local_many(check_keys(keys))
        ticket, started = self.tier.ticket(), self._clock()
        if wanted:
            found.update(self._fill_many(ticket, self.cache.get_many_with_ttl(wanted), started))
        return found

    def has_key(self, key: str) -> bool:
        """Return True if ``key`` holds a value (a local copy counts)."""
        return self.get(key, MISSING) is not MISSING

    def __contains__(self, key: object) -> bool:
        return self.has_key(key)  # type: ignore[arg-type]

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Read an entry and its refs locally when all are here and no claim is due, else Redis.

        A miss reads the entry, then its remaining TTL (the copy expires no
        later than Redis's, and a claim falls due before that).
        """
        local = self._local_entry(key, claim)
        if local is not None:
            return local
        ticket, started = self.tier.ticket() if cacheable(key) else None, self._clock()
        entry = self.cache.get_entry(key, claim)
        if ticket is not None and entry.value is not MISSING and not entry.absent:
            records = self._entry_records(key, entry, self.cache.ttl(key), started)
            if records is not None:
                self.tier.fill(ticket, records)
        return entry

    #: The protocol's own, over the methods above.
    get_or_set = CacheBackend.get_or_set

    # -- writes ---------------------------------------------------------------------

    def _write(self, keys: Iterable[str], call: Callable[[], T], removal: bool = False) -> T:
        """Run a write of ``keys`` in Redis with the local copies forgotten before and after.

        After: a read of this process that began during the write must not
        keep what it read. Then the other processes are told, also when the
        write raised (it may have been applied: a timeout, a paused server).
        """
        mine = self._mine(keys)
        if not mine:
            return call()
        self.tier.invalidate(mine)
        try:
            result = call()
        except BaseException:
            self.tier.invalidate(mine)
            self._announce(mine, removal, failed=True)
            raise
        self.tier.invalidate(mine)
        self._announce(mine, removal)
        return result

    def _flush(self, call: Callable[[], None], everywhere: bool) -> None:
        self.tier.flush()
        try:
            call()
        except BaseException:
            self.tier.flush()
            self._announce(None, True, failed=True, everywhere=everywhere)
            raise
        self.tier.flush()
        self._announce(None, True, everywhere=everywhere)

    def set(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Store in Redis; every process forgets its copy."""
        gone = removes(timeout, self.cache.default_timeout)
        self._write([key], lambda: self.cache.set(key, value, timeout), removal=gone)

    def add(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Store only if absent (in Redis); every process forgets its copy."""
        return self._write([key], lambda: self.cache.add(key, value, timeout))

    def set_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Store several values (one Redis round trip, one message)."""
        gone = removes(timeout, self.cache.default_timeout)
        self._write(list(mapping), lambda: self.cache.set_many(mapping, timeout), removal=gone)

    def set_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Store an entry with its refs in Redis; every process forgets its copy."""
        gone = removes(timeout, self.cache.default_timeout)
        self._write([key], lambda: self.cache.set_entry(key, value, timeout, refs), gone)

    def delete(self, key: str) -> bool:
        """Remove ``key`` from Redis and from every process."""
        return self._write([key], lambda: self.cache.delete(key), removal=True)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove ``keys`` from Redis and from every process (one message)."""
        names = check_keys(keys)
        return self._write(names, lambda: self.cache.delete_many(names), removal=True)

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Remove ``key`` if it holds ``expected``, everywhere."""
        return self._write([key], lambda: self.cache.delete_if_equals(key, expected), True)

    def lease(self, key: str, token: str, timeout: float) -> bool:
        """Take or extend the lock ``key`` (in Redis)."""
        return self._write([key], lambda: self.cache.lease(key, token, timeout))

    def touch(self, key: str, timeout: Timeout = None) -> bool:
        """Give ``key`` a new timeout in Redis; every process forgets its copy.

        Forgotten so that no copy outlives the new timeout. A timeout of 0 or
        less removes the key, everywhere.
        """
        gone = removes(timeout, self.cache.default_timeout)
        return self._write([key], lambda: self.cache.touch(key, timeout), removal=gone)

    def incr(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` in Redis; every process forgets its copy."""
        return self._write([key], lambda: self.cache.incr(key, delta))

    def decr(self, key: str, delta: int = 1) -> int:
        """Subtract ``delta`` in Redis; every process forgets its copy."""
        return self._write([key], lambda: self.cache.decr(key, delta))

    def clear(self) -> None:
        """Remove the namespace's keys from Redis and every process's local copies."""
        self._flush(self.cache.clear, everywhere=False)

    def flush_database(self) -> None:
        """Empty the whole database and the local copies of every near cache on it."""
        self._flush(self.cache.flush_database, everywhere=True)

    # -- the rest -------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Return Redis's figures, the local tier's and the messages'."""
        bus = {
            "messages_received": self.bus.received,
            "message_gaps": self.bus.gaps,
            "subscriptions_lost": self.bus.lost,
        }
        return {**self.cache.info(), **self.tier.info(), **bus}

    def close(self) -> None:
        """Stop listening, then close the engine."""
        self.bus.stop()
        self.cache.close()

    @property
    def namespace(self) -> str:
        """The engine's namespace."""
        return self.cache.namespace

    @property
    def errors(self) -> int:
        """The engine's failed calls (failed messages included)."""
        return self.cache.errors
