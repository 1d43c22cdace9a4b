"""The local tier of a near cache: an in-process store that refuses fills it cannot trust.

A read that misses locally asks the remote engine, then offers what it read
to the tier with the *ticket* it took before asking. The tier stores it only
if nothing that could make it stale happened since the ticket was taken: an
invalidation message naming the key (or one of the entry's refs), a flush, or
a lost subscription. Without that check a read that started before another
process's write, and finished after its message, would store the old value
for ``local_ttl`` seconds.

A hit returns a fresh copy, so that a caller who mutates what it got changes
nothing for the next caller, as with Redis: immutable scalars are kept as they
are, anything else pickled (fast, and safe here: the bytes never leave the
process that made them from values it decoded itself), or, if it cannot be
pickled, encoded with the engine's serializer.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cache._clock import Clock
from cache.backend.memory.engine import InMemoryCache
from cache.backend.serializers import Serializer
from cache.backend.validation import RESERVED_PREFIX

__all__ = ["LocalTier", "Stored", "cacheable"]

#: Reserved keys kept locally: tag versions (and guards, which are tag
#: versions) and the HTTP layer's Vary lists. Locks, leases, statistics and
#: warming ticks change without a value anyone reads twice: they stay remote.
_KEPT = (RESERVED_PREFIX + "tag:", RESERVED_PREFIX + "vary:")

#: Kept as they are: a caller cannot change them.
_IMMUTABLE = frozenset({str, int, float, bool, bytes, type(None)})
_AS_IS, _PICKLED, _ENCODED = 0, 1, 2


def cacheable(key: str) -> bool:
    """Return True if ``key`` may be kept in the local tier."""
    if type(key) is not str:  # the engine refuses it, with the reason
        return False
    return not key.startswith(RESERVED_PREFIX) or key.startswith(_KEPT)


@dataclass(frozen=True, slots=True)
class Stored:
    """A local record: the serialized value, the entry's refs, the remote deadline."""

    data: Any
    #: The keys an entry written with ``set_entry`` depends on; None for a plain value.
    refs: tuple[str, ...] | None = None
    #: When the remote copy expires (monotonic clock), if known.
    deadline: float | None = None
    #: How ``data`` holds the value: as is, pickled, or encoded by the serializer.
    codec: int = _AS_IS


class LocalTier:
    """The in-process store of a near cache, with the fill check described above.

    Args:
        max_entries: Entries kept (evicted by the in-memory engine's policy).
        ttl: Seconds a local copy lives at most (the bound on staleness when
            a message is lost without the loss being seen).
        serializer: Encodes what cannot be pickled (the engine's own).
        clock: Monotonic seconds.
    """

    def __init__(self, max_entries: int, ttl: float, serializer: Serializer, clock: Clock) -> None:
        self.ttl = ttl
        self.serializer = serializer
        self._clock = clock
        self._store = InMemoryCache(max_entries, clock=clock)
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by every invalidation and flush
        self._floor = 0  # tickets below it are refused (a flush, a forgotten history)
        self._touched: dict[str, int] = {}  # key -> epoch of its last invalidation
        #: True while the subscription is known to deliver every message.
        self.live = False
        self.hits = 0
        self.misses = 0
        self.flushes = 0
        self.refused = 0

    # -- reads ------------------------------------------------------------------

    def ticket(self) -> int | None:
        """Return the ticket a remote read must take first; None while not live."""
        return self._epoch if self.live else None

    def record(self, key: str) -> Stored | None:
        """Return the local record of ``key``, or None (also while not live)."""
        if not self.live:
            return None
        found = self._store.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        return found  # type: ignore[no-any-return]

    def value(self, record: Stored) -> Any:
        """Decode a record's value (a fresh copy)."""
        if record.codec == _PICKLED:
            return pickle.loads(record.data)  # made by this process: see the module text
        if record.codec == _ENCODED:
            return self.serializer.loads(record.data)
        return record.data

    def ref_values(self, refs: Iterable[str]) -> dict[str, Any] | None:
        """Return the local values of ``refs``; None if one is not here."""
        found: dict[str, Any] = {}
        for ref in refs:
            record = self._store.get(ref)
            if record is None:
                return None
            found[ref] = self.value(record)
        return found

    # -- fills ------------------------------------------------------------------

    def fill(self, ticket: int | None, records: dict[str, Stored]) -> bool:
        """Store ``records`` read after ``ticket`` was taken, all or none; return True if stored.

        Refused when the tier is not live, a flush happened since the ticket,
        or one of the keys was invalidated since.
        """
        if ticket is None:
            return False
        now = self._clock()
        with self._lock:
            if not self.live or ticket < self._floor:
                self.refused += 1
                return False
            touched = self._touched
            if any(touched.get(key, -1) > ticket for key in records):
                self.refused += 1
                return False
            for key, record in records.items():
                life = self.ttl
                if record.deadline is not None:
                    life = min(life, record.deadline - now)
                if life > 0:
                    self._store.set(key, record, life)
        return True

    def encode(
        self, value: Any, refs: tuple[str, ...] | None = None, deadline: float | None = None
    ) -> Stored:
        """Return the record of ``value``, copied now: later mutation cannot reach it."""
        if type(value) in _IMMUTABLE:
            return Stored(value, refs, deadline)
        try:
            return Stored(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), refs, deadline, _PICKLED)
        except Exception:  # e.g. a class defined in a function: not picklable
            return Stored(self.serializer.dumps(value), refs, deadline, _ENCODED)

    # -- invalidation -------------------------------------------------------------

    def invalidate(self, keys: Iterable[str]) -> None:
        """Forget ``keys`` and refuse the fills of reads that began before now."""
        with self._lock:
            self._epoch += 1
            epoch = self._epoch
            touched = self._touched
            for key in keys:
                touched[key] = epoch
                self._store.delete(key)
            if len(touched) > 100_000:  # forget the history; refuse every older ticket
                touched.clear()
                self._floor = epoch + 1
                self._epoch = epoch + 1

    def flush(self, live: bool | None = None) -> None:
        """Forget everything and refuse every fill begun before; then set ``live`` if given."""
        with self._lock:
            self._epoch += 1
            self._floor = self._epoch
            self._touched.clear()
            self._store.clear()
            self.flushes += 1
            if live is not None:
                self.live = live

    def info(self) -> dict[str, Any]:
        """Return the tier's figures."""
        return {
            "local_entries": len(self._store),
            "local_hits": self.hits,
            "local_misses": self.misses,
            "local_flushes": self.flushes,
            "local_refused_fills": self.refused,
            "local_live": self.live,
        }
