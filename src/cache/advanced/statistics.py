"""CacheStatistics: thread-safe counters, latencies and a request rate.

Engines and features report through the :class:`StatsRecorder` interface; the
default :data:`NULL_RECORDER` does nothing, so nobody checks for ``None``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any

from cache._clock import Clock
from cache._recorder import NULL_RECORDER, NullRecorder, Recorders, StatsRecorder
from cache.backend.base import CacheBackend, check_backend
from cache.backend.validation import MAX_KEY_LENGTH, check_key, check_seconds, reserved_key
from cache.errors import CacheTypeError, CacheValueError

__all__ = ["NULL_RECORDER", "CacheStatistics", "NullRecorder", "Recorders", "StatsRecorder"]

#: Counters shared through a backend by push(); times in whole microseconds.
_SHARED = ("hits", "misses", "sets", "deletes", "stale_hits", "errors", "hit_us", "miss_us")
#: Longest group name: its counters live under ``__cache__:stats:<group>:<field>`` (issue 9).
_MAX_GROUP = MAX_KEY_LENGTH - len(reserved_key("stats", "", max(_SHARED, key=len)))


def _check_duration(duration: object) -> float:
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise CacheTypeError(f"duration must be a number of seconds, got {type(duration).__name__}")
    if not duration >= 0 or math.isinf(duration):  # also refuses nan
        raise CacheValueError(f"duration must be 0 or more seconds, got {duration!r}")
    return float(duration)


class CacheStatistics:
    """Hit/miss counters, mean latencies and requests per second over a recent window.

    Args:
        window: Seconds over which ``requests_per_second`` is computed.
        clock: Monotonic seconds; inject ``cache.testing.FakeClock`` in tests.

    Every method is thread-safe: concurrent recording loses no count.
    """

    def __init__(self, *, window: float = 60.0, clock: Clock = time.monotonic) -> None:
        self.window = check_seconds(window, "window", allow_zero=False)  # nan, inf: issue 9
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter and restart the uptime."""
        with self._lock:
            self._hits = self._misses = self._sets = self._deletes = 0
            self._stale = self._errors = 0
            self._hit_time = self._miss_time = 0.0
            self._started = self._clock()
            # (second, requests in that second), oldest first
            self._buckets: deque[list[int]] = deque()
            self._pushed = dict.fromkeys(_SHARED, 0)

    def _request(self, now: float) -> None:
        second = int(now)
        buckets = self._buckets
        if buckets and buckets[-1][0] == second:
            buckets[-1][1] += 1
        else:
            buckets.append([second, 1])
            horizon = second - self.window
            while buckets and buckets[0][0] <= horizon:
                buckets.popleft()

    def record_hit(self, duration: float = 0.0) -> None:
        """Record a hit that took ``duration`` seconds."""
        duration = _check_duration(duration)
        with self._lock:
            self._hits += 1
            self._hit_time += duration
            self._request(self._clock())

    def record_miss(self, duration: float = 0.0) -> None:
        """Record a miss that took ``duration`` seconds."""
        duration = _check_duration(duration)
        with self._lock:
            self._misses += 1
            self._miss_time += duration
            self._request(self._clock())

    def record_set(self) -> None:
        """Record a write."""
        with self._lock:
            self._sets += 1

    def record_delete(self) -> None:
        """Record a removal."""
        with self._lock:
            self._deletes += 1

    def record_stale(self) -> None:
        """Record a stale value served while a refresh runs."""
        with self._lock:
            self._stale += 1

    def record_error(self) -> None:
        """Record a failure."""
        with self._lock:
            self._errors += 1

    def get_stats(self) -> dict[str, Any]:
        """Return a snapshot: counts, ``hit_rate`` in percent, times in ms, rate per second."""
        with self._lock:
            now = self._clock()
            requests = self._hits + self._misses
            uptime = max(0.0, now - self._started)
            # whole seconds in the window, the current (partial) one included
            first = int(now) - self.window
            recent = sum(count for second, count in self._buckets if second > first)
            span = min(self.window, max(uptime, 1.0))
            return {
                "hits": self._hits,
                "misses": self._misses,
                "sets": self._sets,
                "deletes": self._deletes,
                "stale_hits": self._stale,
                "errors": self._errors,
                "total_requests": requests,
                "hit_rate": round(100.0 * self._hits / requests, 2) if requests else 0.0,
                "avg_hit_time_ms": round(1000 * self._hit_time / self._hits, 4)
                if self._hits
                else 0.0,
                "avg_miss_time_ms": round(1000 * self._miss_time / self._misses, 4)
                if self._misses
                else 0.0,
                "requests_per_second": round(recent / span, 2),
                "uptime_seconds": round(uptime, 3),
            }

    # -- sharing across workers ------------------------------------------------

    def _totals(self) -> dict[str, int]:
        return {
            "hits": self._hits,
            "misses": self._misses,
            "sets": self._sets,
            "deletes": self._deletes,
            "stale_hits": self._stale,
            "errors": self._errors,
            "hit_us": round(self._hit_time * 1e6),
            "miss_us": round(self._miss_time * 1e6),
        }

    @staticmethod
    def _shared_key(group: str, field: str) -> str:
        return reserved_key("stats", check_key(group, "group", _MAX_GROUP), field)

    def push(self, cache: CacheBackend, group: str = "default") -> None:
        """Add what was recorded since the last push to counters shared in ``cache``.

        Every worker pushing to one group (say, every few seconds) makes
        :meth:`shared_stats` report the whole fleet.
        """
        check_backend(cache)
        self._shared_key(group, "hits")  # a bad group is refused before any count is taken
        with self._lock:
            totals = self._totals()
            deltas = {f: totals[f] - self._pushed[f] for f in _SHARED}
            self._pushed = totals
        for field, delta in deltas.items():
            if delta:
                cache.incr(self._shared_key(group, field), delta)

    @classmethod
    def shared_stats(cls, cache: CacheBackend, group: str = "default") -> dict[str, Any]:
        """Return the counters every worker pushed to ``group``, with rates and mean times."""
        check_backend(cache)
        keys = {cls._shared_key(group, f): f for f in _SHARED}
        found = cache.get_many(keys)
        t = {field: int(found.get(key, 0)) for key, field in keys.items()}
        requests = t["hits"] + t["misses"]
        return {
            "hits": t["hits"],
            "misses": t["misses"],
            "sets": t["sets"],
            "deletes": t["deletes"],
            "stale_hits": t["stale_hits"],
            "errors": t["errors"],
            "total_requests": requests,
            "hit_rate": round(100.0 * t["hits"] / requests, 2) if requests else 0.0,
            "avg_hit_time_ms": round(t["hit_us"] / 1000 / t["hits"], 4) if t["hits"] else 0.0,
            "avg_miss_time_ms": round(t["miss_us"] / 1000 / t["misses"], 4) if t["misses"] else 0.0,
        }
