"""InstrumentedCache: a backend wrapper that records every get, set and delete."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from cache._types import MISSING, Timeout
from cache.advanced.statistics import StatsRecorder
from cache.backend.base import CacheBackend, Claim, Entry
from cache.backend.proxy import ProxyBackend

__all__ = ["InstrumentedCache"]


class InstrumentedCache(ProxyBackend):
    """Wrap ``cache`` so that its traffic is recorded in ``stats`` without manual calls.

    Hits and misses are timed with ``time.perf_counter``; ``add``/``incr``
    count as sets when they write; deletes count what was removed. Use it
    wherever the wrapped cache was used: it is a backend itself.

    Every method it defines records; the rest of the protocol is forwarded
    unrecorded and listed in :attr:`NOT_RECORDED` (a test holds the two lists
    to the protocol, so that a new method is recorded or listed on purpose).
    """

    #: Protocol methods forwarded without recording, because they are not traffic.
    NOT_RECORDED: ClassVar[frozenset[str]] = frozenset(
        {
            # Releasing a lock taken with add(): coordination, not a delete of data.
            "delete_if_equals",
            "adelete_if_equals",
            "lease",
            "alease",
            # Reading or moving an expiry leaves the value untouched.
            "ttl",
            "attl",
            "touch",
            "atouch",
            # Maintenance and lifecycle.
            "clear",
            "aclear",
            "cleanup_expired",
            "acleanup_expired",
            "info",
            "close",
            "aclose",
            # The ordered key index is bookkeeping of features, not cached values.
            "index_add",
            "aindex_add",
            "index_remove",
            "aindex_remove",
            "index_prefix",
            "aindex_prefix",
            "index_scan",
            "aindex_scan",
            "index_remove_below",
            "aindex_remove_below",
            "index_trim",
            "aindex_trim",
            "index_len",
            "aindex_len",
            "index_score",
            "aindex_score",
            "index_iter",
        }
    )

    def __init__(self, cache: CacheBackend, stats: StatsRecorder) -> None:
        super().__init__(cache)
        self.stats = stats

    # Built from the recorded calls above them, as CacheBackend builds them,
    # so that each records what its get, add or incr records.
    has_key = CacheBackend.has_key
    ahas_key = CacheBackend.ahas_key
    __contains__ = CacheBackend.__contains__
    decr = CacheBackend.decr
    adecr = CacheBackend.adecr
    get_or_set = CacheBackend.get_or_set
    aget_or_set = CacheBackend.aget_or_set

    def _timed_get(self, key: str, default: Any, started: float, value: Any) -> Any:
        elapsed = time.perf_counter() - started
        if value is MISSING:
            self.stats.record_miss(elapsed)
            return default
        self.stats.record_hit(elapsed)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """Get, recording a hit or a miss with its latency."""
        started = time.perf_counter()
        return self._timed_get(key, default, started, self.cache.get(key, MISSING))

    async def aget(self, key: str, default: Any = None) -> Any:
        """Async get, recorded."""
        started = time.perf_counter()
        return self._timed_get(key, default, started, await self.cache.aget(key, MISSING))

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Get many, recording a hit or miss per key (latency shared evenly)."""
        keys = list(keys)
        started = time.perf_counter()
        found = self.cache.get_many(keys)
        self._record_many(keys, found, started)
        return found

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Async get many, recorded."""
        keys = list(keys)
        started = time.perf_counter()
        found = await self.cache.aget_many(keys)
        self._record_many(keys, found, started)
        return found

    def _record_many(self, keys: list[str], found: dict[str, Any], started: float) -> None:
        share = (time.perf_counter() - started) / max(1, len(keys))
        for key in keys:
            if key in found:
                self.stats.record_hit(share)
            else:
                self.stats.record_miss(share)

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Read an entry with its refs, recorded as a hit or a miss."""
        started = time.perf_counter()
        return self._timed_entry(self.cache.get_entry(key, claim), started)

    async def aget_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Async get entry, recorded."""
        started = time.perf_counter()
        return self._timed_entry(await self.cache.aget_entry(key, claim), started)

    def _timed_entry(self, entry: Entry, started: float) -> Entry:
        elapsed = time.perf_counter() - started
        if entry.value is MISSING:
            self.stats.record_miss(elapsed)
        else:
            self.stats.record_hit(elapsed)
        return entry

    def set(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Set, recorded."""
        self.cache.set(key, value, timeout)
        self.stats.record_set()

    async def aset(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Async set, recorded."""
        await self.cache.aset(key, value, timeout)
        self.stats.record_set()

    def set_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Set many, one set recorded per key."""
        self.cache.set_many(mapping, timeout)
        for _ in mapping:
            self.stats.record_set()

    async def aset_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Async set many, recorded."""
        await self.cache.aset_many(mapping, timeout)
        for _ in mapping:
            self.stats.record_set()

    def set_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Set an entry with refs, recorded as a set."""
        self.cache.set_entry(key, value, timeout, refs)
        self.stats.record_set()

    async def aset_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Async set entry, recorded."""
        await self.cache.aset_entry(key, value, timeout, refs)
        self.stats.record_set()

    def add(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Add, recorded as a set when it stored."""
        stored = self.cache.add(key, value, timeout)
        if stored:
            self.stats.record_set()
        return stored

    async def aadd(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Async add, recorded as a set when it stored."""
        stored = await self.cache.aadd(key, value, timeout)
        if stored:
            self.stats.record_set()
        return stored

    def incr(self, key: str, delta: int = 1) -> int:
        """Incr, recorded as a set."""
        value = self.cache.incr(key, delta)
        self.stats.record_set()
        return value

    async def aincr(self, key: str, delta: int = 1) -> int:
        """Async incr, recorded as a set."""
        value = await self.cache.aincr(key, delta)
        self.stats.record_set()
        return value

    def delete(self, key: str) -> bool:
        """Delete, recorded when something was removed."""
        removed = self.cache.delete(key)
        if removed:
            self.stats.record_delete()
        return removed

    async def adelete(self, key: str) -> bool:
        """Async delete, recorded when something was removed."""
        removed = await self.cache.adelete(key)
        if removed:
            self.stats.record_delete()
        return removed

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete many, one delete recorded per key removed."""
        removed = self.cache.delete_many(keys)
        for _ in range(removed):
            self.stats.record_delete()
        return removed

    async def adelete_many(self, keys: Iterable[str]) -> int:
        """Async delete many, recorded."""
        removed = await self.cache.adelete_many(keys)
        for _ in range(removed):
            self.stats.record_delete()
        return removed
