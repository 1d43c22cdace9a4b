"""InMemoryCache: the embedded default engine."""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from typing import Any

from cache._clock import Clock, system_clock
from cache._types import MISSING, Missing, Timeout
from cache.backend.base import CacheBackend, Claim, Entry
from cache.backend.memory._index import MemoryIndexMixin
from cache.backend.memory._locks import WriteLock
from cache.backend.memory._sorted_index import SortedIndex
from cache.backend.validation import (
    MAX_KEY_LENGTH,
    check_default_timeout,
    check_key,
    resolve_timeout,
)
from cache.errors import CacheTypeError, CacheValueError

__all__ = ["DEFAULT_MAX_ENTRIES", "InMemoryCache"]

#: Entries an ``InMemoryCache()`` holds before it evicts.
DEFAULT_MAX_ENTRIES = 10_000

# An entry is a list, mutated in place so that the eviction queues and the
# dict share it: [value, expires_at or None, hits since last looked at, key, queue].
_VALUE, _EXPIRES, _FREQ, _KEY, _QUEUE = range(5)
_SMALL, _MAIN, _DEAD = 0, 1, 2
# Hits beyond this many buy no extra passes in the main queue (S3-FIFO's cap).
_FREQ_CAP = 3
#: Ghosts of the main queue per entry of capacity. Two rather than one keep
#: longer track of keys the main queue evicted, which come back into it past
#: probation: on the recency-biased stream (newest items hottest) the hit
#: ratio went from 0.645 to 0.695 (LRU: 0.694), OLTP@1000 0.404 to 0.406,
#: OLTP@2000 0.471 to 0.468, Zipf and scan unchanged, for about 110 bytes more
#: per entry of capacity under churn (``python -m benchmarks.eviction_sim``).
_MAIN_GHOSTS = 2
_INF = math.inf


class InMemoryCache(MemoryIndexMixin, CacheBackend):
    """A bounded, thread-safe cache in this process's memory.

    Values are stored by reference, not copied: mutating a value after ``set``
    (or one returned by ``get``) changes what the cache holds.

    Args:
        max_entries: Entries held before eviction starts (default 10,000).
        default_timeout: Seconds an entry lives when ``set`` gets
            ``timeout=None``; ``None`` (the default) means until evicted.
        clock: Monotonic seconds; inject ``cache.testing.FakeClock`` in tests.
        sweep_interval: If given, a daemon thread calls :meth:`cleanup_expired`
            every this many seconds until :meth:`close`. Otherwise expired
            entries are dropped when read, when eviction meets them, or by an
            explicit ``cleanup_expired()``.

    Eviction is an adaptive S3-FIFO: new keys enter a small FIFO queue; keys hit
    while there move to a main queue that gives each key up to three more
    passes; ghost lists of recently evicted keys resize the small queue (a
    ghost hit from the small queue grows it, one from the main queue shrinks
    it), as ARC adapts its lists. ``benchmarks/eviction_sim.py`` holds the
    comparison that chose it. A hit costs one dict lookup and one counter
    increment and takes no lock; writes take one lock.

    """

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        default_timeout: Timeout = None,
        *,
        clock: Clock = system_clock,
        sweep_interval: float | None = None,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int):
            raise CacheTypeError(f"max_entries must be an int, got {type(max_entries).__name__}")
        if max_entries < 1:
            raise CacheValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self.default_timeout = check_default_timeout(default_timeout)
        self._clock = clock
        self._data: dict[str, list[Any]] = {}
        self._lookup = self._data.get  # bound once: saves an attribute load per get
        self._lock = WriteLock()
        self._small: deque[list[Any]] = deque()
        self._main: deque[list[Any]] = deque()
        self._small_len = 0
        self._small_target = max(1.0, max_entries / 10)
        self._ghost_small: OrderedDict[str, None] = OrderedDict()
        self._ghost_main: OrderedDict[str, None] = OrderedDict()
        self._indexes: dict[str, SortedIndex] = {}
        self._refs: dict[str, tuple[str, ...]] = {}  # refs of entries written by set_entry
        #: Entries removed to make room (not counting expiry or delete).
        self.evictions = 0
        self._stop_sweeper: threading.Event | None = None
        if sweep_interval is not None:
            self._start_sweeper(sweep_interval)

    def info(self) -> dict[str, Any]:
        """Return the engine, entries held, the cap and evictions so far."""
        return {
            "engine": "InMemoryCache",
            "entries": len(self),
            "max_entries": self.max_entries,
            "evictions": self.evictions,
        }

    def __len__(self) -> int:
        """Return the number of entries held, expired ones not yet reclaimed included."""
        return len(self._data)

    # -- reads (no lock) ------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value under ``key``, or ``default`` on a miss or expiry."""
        # Hot path: literal indices (entry[1] is _EXPIRES, [2] _FREQ, [0] _VALUE)
        # skip three global loads, about 10% of a hit (python -m benchmarks).
        try:
            entry = self._lookup(key)
        except TypeError:  # unhashable: report it as a bad key
            check_key(key)
            raise
        if entry is None:
            if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
                check_key(key)
            return default
        expires = entry[1]
        if expires is not None and expires <= self._clock():
            return self._get_expired(key, entry, default)
        entry[2] += 1  # a lost increment under a race only blurs the estimate
        return entry[0]

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return the cached keys among ``keys`` with their values (no lock taken)."""
        found: dict[str, Any] = {}
        lookup = self._lookup
        now: float | None = None
        for key in keys:
            entry = lookup(key) if type(key) is str else None
            if entry is None:
                if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
                    check_key(key)
                continue
            expires = entry[_EXPIRES]
            if expires is not None:
                if now is None:
                    now = self._clock()
                if expires <= now:
                    value = self._get_expired(key, entry, MISSING)
                    if value is not MISSING:
                        found[key] = value
                    continue
            entry[_FREQ] += 1
            found[key] = entry[_VALUE]
        return found

    def _get_expired(self, key: str, entry: list[Any], default: Any) -> Any:
        with self._lock:
            current = self._data.get(key)
            if current is None:
                return default
            if current is entry and self._expired(entry, self._clock()):
                self._remove(entry)
                return default
            return current[_VALUE]  # replaced since we looked: the new value counts

    # -- writes (one lock) ----------------------------------------------------

    def set(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Store ``value`` under ``key``; a timeout of 0 or less removes the key."""
        if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
            key = check_key(key)
        # Inline fast paths for the common timeouts (None, a positive number):
        # a call to _expires_at costs more than the rest of an update.
        if timeout is None:
            ttl = self.default_timeout
            expires: float | bool | None = None if ttl is None else self._clock() + ttl
        elif (type(timeout) is int or type(timeout) is float) and 0 < timeout < _INF:
            expires = self._clock() + timeout
        else:
            expires = self._expires_at(timeout)
        lock = self._lock
        if not lock.raw_acquire(False):
            lock.wait()
        try:
            entry = self._lookup(key)
            if entry is None:
                if expires is not False:
                    self._insert(key, value, expires)
            elif expires is False:
                self._remove(entry)
            else:
                # Expiry before value: a racing reader sees either the old pair
                # or a fresh deadline, never a stale deadline on the new value.
                entry[1] = expires  # _EXPIRES, then _VALUE: literal indices as in get
                entry[0] = value
        finally:
            lock.release()

    def add(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Store ``value`` only if ``key`` holds no live value; return True if stored."""
        key = check_key(key)
        expires = self._expires_at(timeout)
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                if not self._expired(entry, self._clock()):
                    return False
                self._remove(entry)
            if expires is not False:
                self._insert(key, value, expires)
            return True

    def delete(self, key: str) -> bool:
        """Remove ``key``; return True if it held a live value."""
        key = check_key(key)
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return False
            self._remove(entry)
            return not self._expired(entry, self._clock())

    def set_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Store ``value`` and the keys it depends on."""
        checked = tuple(check_key(r, "refs") for r in refs)
        with self._lock:
            self._refs.pop(key, None)
        self.set(key, value, timeout)
        if checked:
            with self._lock:
                if key in self._data:
                    self._refs[key] = checked

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Read ``key``, its refs' values and try ``claim`` (all in this process)."""
        value = self.get(key, MISSING)
        if value is MISSING:
            return Entry(MISSING)
        refs = self.get_many(self._refs.get(key, ()))
        claimed = False
        if claim is not None:
            entry = self._lookup(key)
            expires = None if entry is None else entry[_EXPIRES]
            if expires is not None and expires - self._clock() <= claim.when_ttl_below:
                claimed = self.add(claim.key, claim.token, claim.timeout)
        return Entry(value, refs, claimed)

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Remove ``key`` only if its live value equals ``expected``."""
        key = check_key(key)
        with self._lock:
            entry = self._data.get(key)
            if entry is None or self._expired(entry, self._clock()):
                return False
            if entry[_VALUE] != expected:
                return False
            self._remove(entry)
            return True

    def ttl(self, key: str) -> float | Missing | None:
        """Return the seconds ``key`` has left, None if it never expires, MISSING if absent."""
        entry = self._lookup(check_key(key))
        if entry is None:
            return MISSING
        expires = entry[_EXPIRES]
        if expires is None:
            return None
        left = float(expires - self._clock())
        return left if left > 0 else MISSING

    def touch(self, key: str, timeout: Timeout = None) -> bool:
        """Give a live ``key`` a new timeout (0 or less removes it); return True if it existed."""
        key = check_key(key)
        expires = self._expires_at(timeout)
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return False
            if self._expired(entry, self._clock()):
                self._remove(entry)
                return False
            if expires is False:
                self._remove(entry)
            else:
                entry[_EXPIRES] = expires
            return True

    def incr(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` to the int under ``key`` atomically (missing counts as 0)."""
        key = check_key(key)
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise CacheTypeError(f"delta must be an int, got {type(delta).__name__}")
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and self._expired(entry, self._clock()):
                self._remove(entry)
                entry = None
            if entry is None:
                expires = self._expires_at(None)
                self._insert(key, delta, None if expires is False else expires)
                return delta
            value = entry[_VALUE]
            if type(value) is not int:
                raise CacheTypeError(
                    f"incr needs an int under key {key!r}, found {type(value).__name__}; "
                    f"the value was left unchanged"
                )
            entry[_VALUE] = value = value + delta
            entry[_FREQ] += 1  # a counter being bumped is in use: keep it like a hit
            return value

    def clear(self) -> None:
        """Remove every entry, ghost and index."""
        with self._lock:
            for entry in self._data.values():
                entry[_QUEUE] = _DEAD
            self._data.clear()
            self._small.clear()
            self._main.clear()
            self._small_len = 0
            self._small_target = max(1.0, self.max_entries / 10)
            self._ghost_small.clear()
            self._ghost_main.clear()
            self._indexes.clear()
            self._refs.clear()

    def cleanup_expired(self) -> int:
        """Remove every expired entry now (O(n) under the lock); return how many."""
        with self._lock:
            now = self._clock()
            doomed = [e for e in self._data.values() if self._expired(e, now)]
            for entry in doomed:
                self._remove(entry)
            return len(doomed)

    # -- internals (called with the lock held) --------------------------------

    def _expires_at(self, timeout: Timeout) -> float | bool | None:
        """Return the deadline for ``timeout``, None for never, False for "do not store"."""
        ttl = self.default_timeout if timeout is None else resolve_timeout(timeout, None)
        if ttl is None:
            return None
        if ttl <= 0:
            return False
        return self._clock() + ttl

    @staticmethod
    def _expired(entry: list[Any], now: float) -> bool:
        expires = entry[_EXPIRES]
        return expires is not None and expires <= now

    def _insert(self, key: str, value: Any, expires: float | None) -> None:
        while len(self._data) >= self.max_entries:
            self._evict_one()
        if key in self._ghost_small:
            # Evicted from the small queue too soon: give it more room.
            del self._ghost_small[key]
            step = max(1.0, len(self._ghost_main) / (len(self._ghost_small) + 1))
            self._small_target = min(self.max_entries - 1.0, self._small_target + step)
            queue = _MAIN
        elif key in self._ghost_main:
            # Evicted from the main queue too soon: give the main queue more room.
            del self._ghost_main[key]
            step = max(1.0, len(self._ghost_small) / (len(self._ghost_main) + 1))
            self._small_target = max(1.0, self._small_target - step)
            queue = _MAIN
        else:
            queue = _SMALL
        entry = [value, expires, 0, key, queue]
        self._data[key] = entry
        if queue == _SMALL:
            self._small.append(entry)
            self._small_len += 1
        else:
            self._main.append(entry)

    def _remove(self, entry: list[Any]) -> None:
        del self._data[entry[_KEY]]
        if self._refs:
            self._refs.pop(entry[_KEY], None)
        if entry[_QUEUE] == _SMALL:
            self._small_len -= 1
        entry[_QUEUE] = _DEAD  # the queues drop dead entries when they reach them
        if len(self._small) + len(self._main) > 2 * len(self._data) + 64:
            self._small = deque(e for e in self._small if e[_QUEUE] == _SMALL)
            self._main = deque(e for e in self._main if e[_QUEUE] == _MAIN)

    @staticmethod
    def _remember(ghosts: OrderedDict[str, None], key: str, limit: int) -> None:
        ghosts[key] = None
        if len(ghosts) > limit:
            ghosts.popitem(last=False)

    def _evict_one(self) -> None:
        now = self._clock()
        if self._small_len and (
            self._small_len >= self._small_target or self._small_len == len(self._data)
        ):
            while True:
                entry = self._small.popleft()
                if entry[_QUEUE] != _SMALL:
                    continue
                if self._expired(entry, now):
                    self._remove(entry)
                    return
                if entry[_FREQ] > 0:  # hit while on probation: promote, free nothing yet
                    entry[_FREQ] = 0
                    entry[_QUEUE] = _MAIN
                    self._small_len -= 1
                    self._main.append(entry)
                    return
                self._remove(entry)
                self.evictions += 1
                self._remember(self._ghost_small, entry[_KEY], self.max_entries)
                return
        while True:
            entry = self._main.popleft()
            if entry[_QUEUE] != _MAIN:
                continue
            if self._expired(entry, now):
                self._remove(entry)
                return
            freq = entry[_FREQ]
            if freq > 0:
                entry[_FREQ] = min(freq, _FREQ_CAP) - 1
                self._main.append(entry)
                continue
            self._remove(entry)
            self.evictions += 1
            self._remember(self._ghost_main, entry[_KEY], _MAIN_GHOSTS * self.max_entries)
            return

    # -- background sweeper ---------------------------------------------------

    def _start_sweeper(self, interval: float) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise CacheValueError(
                f"sweep_interval must be a positive number of seconds, got {interval!r}"
            )
        stop = self._stop_sweeper = threading.Event()
        ref = weakref.ref(self)  # the thread must not keep an abandoned cache alive

        def sweep() -> None:
            while not stop.wait(interval):
                cache = ref()
                if cache is None:
                    return
                cache.cleanup_expired()
                del cache

        threading.Thread(target=sweep, name="cache-sweeper", daemon=True).start()

    def close(self) -> None:
        """Stop the background sweeper, if any."""
        if self._stop_sweeper is not None:
            self._stop_sweeper.set()
