"""InMemoryCache: the embedded default engine (the dict, deadlines, lock and protocol methods)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cache._clock import Clock, system_clock
from cache._types import MISSING, Missing, Timeout
from cache.backend.base import CacheBackend, Claim, Entry, check_claim, check_lease
from cache.backend.memory._index import MemoryIndexMixin
from cache.backend.memory._locks import WriteLock
from cache.backend.memory._native import DefaultTimeout, bind_core, compiled, getstate, setstate
from cache.backend.memory._policy import EvictionPolicy
from cache.backend.memory._record import EXPIRES, FREQ, VALUE, Record
from cache.backend.memory._sorted_index import SortedIndex
from cache.backend.memory._store import RecordStore
from cache.backend.memory._sweeper import start_sweeper
from cache.backend.memory._tinylfu import WindowTinyLFU
from cache.backend.validation import (
    MAX_KEY_LENGTH,
    check_default_timeout,
    check_key,
    check_keys,
    resolve_timeout,
)
from cache.errors import CacheTypeError

__all__ = ["DEFAULT_MAX_ENTRIES", "InMemoryCache"]

#: Entries an ``InMemoryCache()`` holds before it evicts.
DEFAULT_MAX_ENTRIES = 10_000

_INF = math.inf
#: Iterables of keys get_many reads as they are; others go through check_keys (refuses
#: a str). A set lookup, not isinstance: get_many of 3 keys ~376 ns (isinstance +50 ns).
_PLAIN_COLLECTIONS = frozenset({list, tuple, set, frozenset, dict})


class InMemoryCache(MemoryIndexMixin, RecordStore, CacheBackend):
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
        max_bytes: If given, the bound on the sum of the values' sizes, kept
            by the same eviction as ``max_entries`` (both hold). A value
            larger than the bound alone is refused with ``CacheValueError``;
            the key keeps what it held and nothing is evicted for it.
        sizeof: The size of a value in bytes, called once per write (never on
            a read); it must not call the cache (``incr`` holds the lock). By default
            ``sys.getsizeof`` of the value and of everything it reaches; under
            ``CopyingCache`` the values are the serializer's bytes, so that is
            their encoded length (plus 33).

    Eviction is W-TinyLFU with a FIFO window (``_tinylfu``): new keys enter
    the window, and one leaving it unhit enters the main area only if a seeded
    frequency sketch has seen it more often than the main area's next victim;
    the window grows (up to half the cache) while keys let go come back soon,
    as they do in a recency stream, and shrinks (down to a tenth) otherwise.
    A hit costs one dict lookup and one counter increment and takes no lock.
    """

    #: Seconds an entry lives when ``set`` gets ``timeout=None`` (None: until evicted).
    default_timeout = DefaultTimeout()
    _default_timeout: float | None
    # A copy gets its own compiled core (_native.py); pickling still fails on the lock.
    __getstate__, __setstate__ = getstate, setstate

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        default_timeout: Timeout = None,
        *,
        clock: Clock = system_clock,
        sweep_interval: float | None = None,
        max_bytes: int | None = None,
        sizeof: Callable[[Any], int] | None = None,
    ) -> None:
        self._init_store(max_entries, max_bytes, sizeof)
        # Set directly too: a subclass may shadow the descriptor with a class attribute.
        self._default_timeout = check_default_timeout(default_timeout)
        self.default_timeout = self._default_timeout
        self._clock = clock
        self._data: dict[str, Record] = {}
        self._lookup = self._data.get  # bound once: saves an attribute load per get
        self._lock = WriteLock()
        self._policy: EvictionPolicy = WindowTinyLFU(max_entries)
        self._indexes: dict[str, SortedIndex] = {}
        self._refs: dict[str, tuple[str, ...]] = {}  # refs of entries written by set_entry
        self._stop_sweeper: threading.Event | None = None
        if sweep_interval is not None:
            self._stop_sweeper = start_sweeper(self, sweep_interval)
        self._core = bind_core(self)  # None: the pure engine

    def info(self) -> dict[str, Any]:
        """Return the engine, entries held, the cap and evictions so far.

        With ``max_bytes``, also ``bytes`` (the sum of the values' sizes) and ``max_bytes``.
        """
        info: dict[str, Any] = {
            "engine": "InMemoryCache",
            "entries": len(self),
            "max_entries": self.max_entries,
            "evictions": self.evictions,
            "compiled": compiled(self),  # get or set runs the compiled core
        }
        if self._sizeof is not None:
            info["bytes"], info["max_bytes"] = self._bytes, self.max_bytes
        return info

    def __len__(self) -> int:
        """Return the number of entries held, expired ones not yet reclaimed included."""
        return len(self._data)

    # -- reads (no lock) ------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value under ``key``, or ``default`` on a miss or expiry."""
        # Hot path: literal indices (entry[1] is EXPIRES, [2] FREQ, [0] VALUE)
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
        # The hit is counted for the eviction policy here rather than by calling
        # it: a policy.hit(entry) method call made a hit 15-20% slower (+32 to
        # +46 ns on 218 ns, timed as benchmarks.__main__.micro times get-hit).
        # A lost increment under a race only blurs the estimate.
        entry[2] += 1
        return entry[0]

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return the cached keys among ``keys`` with their values (no lock taken)."""
        if type(keys) not in _PLAIN_COLLECTIONS:
            keys = check_keys(keys)  # a str is refused, not read as its characters (issue 9)
        found: dict[str, Any] = {}
        lookup = self._lookup
        now: float | None = None
        for key in keys:
            entry = lookup(key) if type(key) is str else None
            if entry is None:
                if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
                    check_key(key)
                continue
            expires = entry[EXPIRES]
            if expires is not None:
                if now is None:
                    now = self._clock()
                if expires <= now:
                    value = self._get_expired(key, entry, MISSING)
                    if value is not MISSING:
                        found[key] = value
                    continue
            entry[FREQ] += 1
            found[key] = entry[VALUE]
        return found

    def _get_expired(self, key: str, entry: Record, default: Any) -> Any:
        with self._lock:
            current = self._data.get(key)
            if current is None:
                return default
            if current is entry and self._expired(entry, self._clock()):
                self._remove(entry)
                return default
            return current[VALUE]  # replaced since we looked: the new value counts

    # -- writes (one lock) ----------------------------------------------------

    def set(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Store ``value`` under ``key``; a timeout of 0 or less removes the key."""
        if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
            key = check_key(key)
        # Inline fast paths for the common timeouts (None, a positive number):
        # a call to _expires_at costs more than the rest of an update.
        if timeout is None:
            ttl = self._default_timeout
            expires: float | bool | None = None if ttl is None else self._clock() + ttl
        elif (type(timeout) is int or type(timeout) is float) and 0 < timeout < _INF:
            expires = self._clock() + timeout
        else:
            expires = self._expires_at(timeout)
        if self._sizeof is not None:  # bytes bounded: this test costs an update 4% (+14 ns)
            self._set_measured(key, value, expires)
            return
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
                entry[1] = expires  # EXPIRES, then VALUE: literal indices as in get
                entry[0] = value
        finally:
            lock.release()

    def add(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Store ``value`` only if ``key`` holds no live value; return True if stored."""
        key = check_key(key)
        expires = self._expires_at(timeout)
        size = None if expires is False else self._measure(key, value)
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                if not self._expired(entry, self._clock()):
                    return False
                self._remove(entry)
            if expires is not False:
                self._insert(key, value, expires, size)
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
        key = check_key(key)
        checked = tuple(check_keys(refs, "refs"))
        self._measure(key, value)  # a value over max_bytes is refused before its refs go
        with self._lock:
            self._refs.pop(key, None)
        self.set(key, value, timeout)
        if checked:
            with self._lock:
                if key in self._data:
                    self._refs[key] = checked

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Read ``key``, its refs' values and try ``claim`` (all in this process)."""
        key, claim = check_key(key), check_claim(claim)
        value = self.get(key, MISSING)
        if value is MISSING:
            return Entry(MISSING)
        refs = self.get_many(self._refs.get(key, ()))
        if claim is None:
            return Entry(value, refs)
        entry = self._lookup(key)
        expires = None if entry is None else entry[EXPIRES]
        near = expires is not None and expires - self._clock() <= claim.when_ttl_below
        return Entry(value, refs, near and self.add(claim.key, claim.token, claim.timeout))

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Remove ``key`` only if its live value equals ``expected``."""
        key = check_key(key)
        with self._lock:
            entry = self._data.get(key)
            if entry is None or self._expired(entry, self._clock()):
                return False
            if entry[VALUE] != expected:
                return False
            self._remove(entry)
            return True

    def lease(self, key: str, token: str, timeout: float) -> bool:
        """Take the lock ``key`` for ``token``, or extend it if ``token`` holds it."""
        key, token, seconds = check_lease(key, token, timeout)
        if self.add(key, token, seconds):
            return True
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[VALUE] != token or self._expired(entry, self._clock()):
                return False
            entry[EXPIRES] = self._clock() + seconds
            return True

    def ttl(self, key: str) -> float | Missing | None:
        """Return the seconds ``key`` has left, None if it never expires, MISSING if absent."""
        entry = self._lookup(check_key(key))
        if entry is None:
            return MISSING
        expires = entry[EXPIRES]
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
                entry[EXPIRES] = expires
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
                self._insert(
                    key, delta, None if expires is False else expires, self._measure(key, delta)
                )
                return delta
            value = entry[VALUE]
            if type(value) is not int:
                raise CacheTypeError(
                    f"incr needs an int under key {key!r}, found {type(value).__name__}; "
                    f"the value was left unchanged"
                )
            value += delta
            entry[FREQ] += 1  # a counter being bumped is in use: keep it like a hit
            size = self._measure(key, value)
            if size is None:
                entry[VALUE] = value
            else:
                self._replace(entry, value, entry[EXPIRES], size)
            return value

    def clear(self) -> None:
        """Remove every entry, ghost and index."""
        with self._lock:
            self._data.clear()
            self._bytes, self._capacity = 0, self.max_entries  # the policy starts over too
            self._policy.clear()
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

    # -- internals -------------------------------------------------------------

    def _expires_at(self, timeout: Timeout) -> float | bool | None:
        """Return the deadline for ``timeout``, None for never, False for "do not store"."""
        ttl = self._default_timeout if timeout is None else resolve_timeout(timeout, None)
        if ttl is None:
            return None
        if ttl <= 0:
            return False
        return self._clock() + ttl

    def close(self) -> None:
        """Stop the background sweeper, if any."""
        if self._stop_sweeper is not None:
            self._stop_sweeper.set()

    _pure_get, _pure_set = get, set  # the class's own, which bind_core's core stands in for
