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
        share = (time.perf_counter() - started) / max(1, len(keys))
        for key in keys:
            if key in found:
                self.stats.record_hit(share)
            else:
                self.stats.record_miss(share)
        return found

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

    def set_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Set an entry with refs, recorded as a set."""
        self.cache.set_entry(key, value, timeout, refs)
        self.stats.record_set()

    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Read an entry with its refs, recorded as a hit or a miss."""
        started = time.perf_counter()
        entry = self.cache.get_entry(key, claim)
        elapsed = time.perf_counter() - started
        if entry.value is MISSING:
            self.stats.record_miss(elapsed)
        else:
            self.stats.record_hit(elapsed)
        return entry

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Compare-and-delete, passed through."""
        return self.cache.delete_if_equals(key, expected)

    def ttl(self, key: str) -> float | Missing | None:
        """Ttl, passed through."""
        return self.cache.ttl(key)

    def touch(self, key: str, timeout: Timeout = None) -> bool:
        """Touch, passed through."""
        return self.cache.touch(key, timeout)

    def incr(self, key: str, delta: int = 1) -> int:
        """Incr, recorded as a set."""
        value = self.cache.incr(key, delta)
        self.stats.record_set()
        return value

    def clear(self) -> None:
        """Clear, passed through."""
        self.cache.clear()

    def cleanup_expired(self) -> int:
        """Cleanup, passed through."""
        return self.cache.cleanup_expired()

    def index_add(self, index: str, members: Mapping[str, float]) -> int:
        """Index add, passed through."""
        return self.cache.index_add(index, members)

    def index_remove(self, index: str, members: Iterable[str]) -> int:
        """Index remove, passed through."""
        return self.cache.index_remove(index, members)

    def index_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """Index prefix range, passed through."""
        return self.cache.index_prefix(index, prefix, limit)

    def index_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """Index scan, passed through."""
        return self.cache.index_scan(index, after, count)

    def index_remove_below(self, index: str, cutoff: float) -> int:
        """Index age cleanup, passed through."""
        return self.cache.index_remove_below(index, cutoff)

    def index_trim(self, index: str, max_size: int) -> int:
        """Index trim, passed through."""
        return self.cache.index_trim(index, max_size)

    def index_len(self, index: str) -> int:
        """Index size, passed through."""
        return self.cache.index_len(index)

    def index_score(self, index: str, member: str) -> float | None:
        """Index score, passed through."""
        return self.cache.index_score(index, member)

    def close(self) -> None:
        """Close the wrapped cache."""
        self.cache.close()
