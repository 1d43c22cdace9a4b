"""InstrumentedCache: a backend wrapper that records every get, set and delete."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cache._types import MISSING, Missing, Timeout
from cache.advanced.statistics import StatsRecorder
from cache.backend.base import CacheBackend, Claim, Entry

__all__ = ["InstrumentedCache"]


class InstrumentedCache(CacheBackend):
    """Wrap ``cache`` so that its traffic is recorded in ``stats`` without manual calls.

    Hits and misses are timed with ``time.perf_counter``; ``add``/``incr``
    count as sets when they write; deletes count what was removed. Use it
    wherever the wrapped cache was used: it is a backend itself.
    """

    def __init__(self, cache: CacheBackend, stats: StatsRecorder) -> None:
        self.cache = cache
        self.stats = stats

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

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Compare-and-delete, passed through."""
        return self.cache.delete_if_equals(key, expected)

    async def adelete_if_equals(self, key: str, expected: Any) -> bool:
        """Async compare-and-delete, passed through."""
        return await self.cache.adelete_if_equals(key, expected)

    def ttl(self, key: str) -> float | Missing | None:
        """Ttl, passed through."""
        return self.cache.ttl(key)

    async def attl(self, key: str) -> float | Missing | None:
        """Async ttl, passed through."""
        return await self.cache.attl(key)

    def touch(self, key: str, timeout: Timeout = None) -> bool:
        """Touch, passed through."""
        return self.cache.touch(key, timeout)

    async def atouch(self, key: str, timeout: Timeout = None) -> bool:
        """Async touch, passed through."""
        return await self.cache.atouch(key, timeout)

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

    def clear(self) -> None:
        """Clear, passed through."""
        self.cache.clear()

    async def aclear(self) -> None:
        """Async clear, passed through."""
        await self.cache.aclear()

    def cleanup_expired(self) -> int:
        """Cleanup, passed through."""
        return self.cache.cleanup_expired()

    async def acleanup_expired(self) -> int:
        """Async cleanup, passed through."""
        return await self.cache.acleanup_expired()

    def info(self) -> dict[str, Any]:
        """Return the wrapped engine's figures."""
        return self.cache.info()

    # The ordered key index is not traffic: passed through, sync and async.

    def index_add(self, index: str, members: Mapping[str, float]) -> int:
        """See :meth:`CacheBackend.index_add`."""
        return self.cache.index_add(index, members)

    async def aindex_add(self, index: str, members: Mapping[str, float]) -> int:
        """See :meth:`CacheBackend.aindex_add`."""
        return await self.cache.aindex_add(index, members)

    def index_remove(self, index: str, members: Iterable[str]) -> int:
        """See :meth:`CacheBackend.index_remove`."""
        return self.cache.index_remove(index, members)

    async def aindex_remove(self, index: str, members: Iterable[str]) -> int:
        """See :meth:`CacheBackend.aindex_remove`."""
        return await self.cache.aindex_remove(index, members)

    def index_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """See :meth:`CacheBackend.index_prefix`."""
        return self.cache.index_prefix(index, prefix, limit)

    async def aindex_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """See :meth:`CacheBackend.aindex_prefix`."""
        return await self.cache.aindex_prefix(index, prefix, limit)

    def index_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """See :meth:`CacheBackend.index_scan`."""
        return self.cache.index_scan(index, after, count)

    async def aindex_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """See :meth:`CacheBackend.aindex_scan`."""
        return await self.cache.aindex_scan(index, after, count)

    def index_remove_below(self, index: str, cutoff: float) -> int:
        """See :meth:`CacheBackend.index_remove_below`."""
        return self.cache.index_remove_below(index, cutoff)

    async def aindex_remove_below(self, index: str, cutoff: float) -> int:
        """See :meth:`CacheBackend.aindex_remove_below`."""
        return await self.cache.aindex_remove_below(index, cutoff)

    def index_trim(self, index: str, max_size: int) -> int:
        """See :meth:`CacheBackend.index_trim`."""
        return self.cache.index_trim(index, max_size)

    async def aindex_trim(self, index: str, max_size: int) -> int:
        """See :meth:`CacheBackend.aindex_trim`."""
        return await self.cache.aindex_trim(index, max_size)

    def index_len(self, index: str) -> int:
        """See :meth:`CacheBackend.index_len`."""
        return self.cache.index_len(index)

    async def aindex_len(self, index: str) -> int:
        """See :meth:`CacheBackend.aindex_len`."""
        return await self.cache.aindex_len(index)

    def index_score(self, index: str, member: str) -> float | None:
        """See :meth:`CacheBackend.index_score`."""
        return self.cache.index_score(index, member)

    async def aindex_score(self, index: str, member: str) -> float | None:
        """See :meth:`CacheBackend.aindex_score`."""
        return await self.cache.aindex_score(index, member)

    def close(self) -> None:
        """Close the wrapped cache."""
        self.cache.close()

    async def aclose(self) -> None:
        """Async close of the wrapped cache."""
        await self.cache.aclose()
