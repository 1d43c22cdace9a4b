"""InMemoryCache's records: storing, removing and evicting them, within entries and bytes.

Everything here runs with the engine's write lock held, except :meth:`_measure`,
which runs before the lock is taken (a big value's ``sizeof`` must not hold up
other writers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cache._clock import Clock
from cache.backend.memory._locks import WriteLock
from cache.backend.memory._policy import EvictionPolicy
from cache.backend.memory._record import EXPIRES, KEY, SIZE, VALUE, Record
from cache.backend.memory._sizeof import estimate
from cache.errors import CacheTypeError, CacheValueError, ValueTooLargeError

__all__ = ["RecordStore"]


def _check_bounds(
    max_entries: object, max_bytes: object, sizeof: object
) -> Callable[[Any], int] | None:
    """Validate the bounds; return the ``sizeof`` to use (None when bytes are not bounded)."""
    for name, bound in (("max_entries", max_entries), ("max_bytes", max_bytes)):
        if bound is None and name == "max_bytes":
            continue
        if isinstance(bound, bool) or not isinstance(bound, int):
            raise CacheTypeError(f"{name} must be an int, got {type(bound).__name__}")
        if bound < 1:
            raise CacheValueError(f"{name} must be at least 1, got {bound}")
    if sizeof is not None and not callable(sizeof):
        raise CacheTypeError(f"sizeof must be callable, got {type(sizeof).__name__}")
    if max_bytes is None:
        if sizeof is not None:
            raise CacheValueError("sizeof is used only with max_bytes; give max_bytes too")
        return None
    return estimate if sizeof is None else sizeof


class RecordStore:
    """The storage half of :class:`~cache.backend.memory.InMemoryCache`.

    With ``max_bytes``, each record carries its value's size (``SIZE``) and
    ``_bytes`` their sum; eviction, by the same policy as for ``max_entries``,
    runs until both bounds hold.
    """

    max_entries: int
    max_bytes: int | None
    #: Entries removed to make room (not counting expiry or delete).
    evictions: int
    _data: dict[str, Record]
    _refs: dict[str, tuple[str, ...]]
    _policy: EvictionPolicy
    _clock: Clock
    _lock: WriteLock
    _sizeof: Callable[[Any], int] | None
    _bytes: int
    _capacity: int  # the entries the policy takes a full cache to hold

    def _init_store(self, max_entries: int, max_bytes: int | None, sizeof: object) -> None:
        self._sizeof = _check_bounds(max_entries, max_bytes, sizeof)
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._bytes, self._capacity = 0, max_entries
        self.evictions = 0

    def _measure(self, key: str, value: Any) -> int | None:
        """Return the size of ``value`` (None when bytes are not bounded); refuse one too big."""
        sizeof = self._sizeof
        if sizeof is None:
            return None
        size = sizeof(value)
        if type(size) is not int or size < 0:  # a bool or a float is no size either
            raise CacheTypeError(f"sizeof must return an int of 0 or more, got {size!r:.60}")
        if size > self.max_bytes:  # type: ignore[operator]  # set whenever sizeof is
            raise ValueTooLargeError(
                f"the value for key {key!r:.200} is {size:,} bytes by sizeof, more than "
                f"max_bytes={self.max_bytes:,}: it was not stored, the key keeps what it held "
                "and no other entry was evicted; raise max_bytes or keep such values elsewhere"
            )
        return size

    @staticmethod
    def _expired(entry: Record, now: float) -> bool:
        expires = entry[EXPIRES]
        return expires is not None and expires <= now

    def _insert(self, key: str, value: Any, expires: float | None, size: int | None = None) -> None:
        data = self._data
        if size is not None:
            assert self.max_bytes is not None
            if self._bytes + size > self.max_bytes:
                # Full by bytes at this count: the policy sizes its queues by it.
                self._full_at(len(data))
                while self._bytes + size > self.max_bytes and data:
                    self._evict(self._clock())
            elif len(data) >= self.max_entries:
                self._full_at(self.max_entries)
            self._bytes += size
        while len(data) >= self.max_entries:
            self._evict(self._clock())
        # The layout in _record.py: SIZE only when bytes are bounded.
        entry = (
            [value, expires, 0, key, None] if size is None else [value, expires, 0, key, None, size]
        )
        data[key] = entry
        self._policy.admit(entry)

    def _full_at(self, entries: int) -> None:
        """Tell the policy that the cache is full at ``entries`` (bytes bounded only)."""
        if entries != self._capacity:
            self._capacity = entries
            self._policy.resize(entries)

    def _evict(self, now: float) -> None:
        victim = self._policy.victim(now)
        deadline = victim[EXPIRES]
        if deadline is None or deadline > now:  # expired ones make room without counting
            self.evictions += 1
        self._remove(victim)

    def _remove(self, entry: Record) -> None:
        del self._data[entry[KEY]]
        if self._refs:
            self._refs.pop(entry[KEY], None)
        if self._sizeof is not None:
            self._bytes -= entry[SIZE]
        self._policy.forget(entry)

    def _replace(self, entry: Record, value: Any, expires: float | None, size: int) -> None:
        """Give a stored record a new value of ``size`` bytes (bytes bounded only)."""
        assert self.max_bytes is not None
        if self._bytes - entry[SIZE] + size > self.max_bytes:
            # Room must be made, and the policy may well pick this very record:
            # it leaves, and its new value comes back in as a new entry.
            self._remove(entry)
            self._insert(entry[KEY], value, expires, size)
            return
        self._bytes += size - entry[SIZE]
        entry[SIZE] = size
        entry[EXPIRES] = expires  # then VALUE: a racing reader never sees a stale deadline on it
        entry[VALUE] = value

    def _set_measured(self, key: str, value: Any, expires: float | bool | None) -> None:
        """Do what ``set`` does, the value measured first, without the lock (bytes bounded only)."""
        size = 0 if expires is False else self._measure(key, value)
        lock = self._lock
        if not lock.raw_acquire(False):
            lock.wait()
        try:
            entry = self._data.get(key)
            if entry is None:
                if expires is not False:
                    self._insert(key, value, expires, size)
            elif expires is False:
                self._remove(entry)
            else:
                assert size is not None
                self._replace(entry, value, expires, size)
        finally:
            lock.release()
