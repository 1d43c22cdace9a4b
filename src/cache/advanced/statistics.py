"""CacheStatistics: thread-safe counters, latency histograms, rates; shared across workers.

Engines and features report through the :class:`StatsRecorder` interface; the
default :data:`NULL_RECORDER` does nothing, so nobody checks for ``None``.

Every count is cumulative (:meth:`CacheStatistics.totals`); figures over a
window come from the difference of two snapshots (:func:`summarize`), so the
same arithmetic serves one process and a deployment whose workers add their
counts to one backend (:meth:`CacheStatistics.push`, :meth:`~CacheStatistics.share`).
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cache._clock import Clock
from cache._recorder import NULL_RECORDER, NullRecorder, Recorders, StatsRecorder
from cache.backend.base import CacheBackend, check_backend
from cache.backend.validation import MAX_KEY_LENGTH, check_key, check_seconds, reserved_key
from cache.errors import CacheTypeError, CacheValueError

__all__ = [
    "BOUNDS",
    "NULL_RECORDER",
    "CacheStatistics",
    "NullRecorder",
    "Recorders",
    "StatsRecorder",
    "percentile",
    "summarize",
    "window_of",
]

#: Upper bounds of the latency buckets in seconds: five a decade from 10 µs to 10 s
#: (a last bucket holds the slower ones). Percentiles are read from them.
BOUNDS: tuple[float, ...] = tuple(float(f"{10 ** (k / 5 - 5):.3g}") for k in range(31))
_COUNTS = ("hits", "misses", "sets", "deletes", "stale_hits", "errors")
#: Times in whole microseconds; ``timed_*`` count the records that carried a duration.
_TIMES = ("hit_us", "miss_us", "timed_hits", "timed_misses")
_BUCKETS = tuple(f"{kind}_b{i}" for kind in ("hit", "miss") for i in range(len(BOUNDS) + 1))
#: Counters shared through a backend by push().
_SHARED = _COUNTS + _TIMES + _BUCKETS
#: Longest name of a tracked count (``label:name``), and of a group.
_MAX_NAME = 200
_MAX_GROUP = MAX_KEY_LENGTH - len(reserved_key("stats", "", "")) - _MAX_NAME
log = logging.getLogger("cache.advanced")
#: Seconds after its last push a worker stops being counted among the reporting ones.
_WORKER_SEEN = 60.0


def _check_duration(duration: object) -> float:
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise CacheTypeError(f"duration must be a number of seconds, got {type(duration).__name__}")
    if not duration >= 0 or math.isinf(duration):  # also refuses nan
        raise CacheValueError(f"duration must be 0 or more seconds, got {duration!r}")
    return float(duration)


def percentile(totals: Mapping[str, int], kind: str, q: float) -> float:
    """Return the ``q`` quantile (0 to 1) of ``kind`` ("hit" or "miss") latencies, in seconds.

    Read from the bucket counts of ``totals`` (linear within a bucket); 0.0
    when no timed record is there.
    """
    counts = [totals.get(f"{kind}_b{i}", 0) for i in range(len(BOUNDS) + 1)]
    total = sum(counts)
    if total <= 0:
        return 0.0
    rank, seen = q * total, 0
    for i, n in enumerate(counts):
        if n > 0 and seen + n >= rank:
            if i == len(BOUNDS):
                return BOUNDS[-1]
            low = BOUNDS[i - 1] if i else 0.0
            return low + (BOUNDS[i] - low) * max(0.0, rank - seen) / n
        seen += n
    return BOUNDS[-1]


def summarize(totals: Mapping[str, int], seconds: float | None = None) -> dict[str, Any]:
    """Return the figures of counts: rates in percent, times in ms, and per second if timed.

    ``totals`` is a snapshot or the difference of two (a window); ``seconds``
    its length, which adds ``requests_per_second``.
    """
    t = {name: totals.get(name, 0) for name in _COUNTS + _TIMES}
    requests = t["hits"] + t["misses"]
    figures: dict[str, Any] = {name: t[name] for name in _COUNTS}
    figures["total_requests"] = requests
    figures["hit_rate"] = round(100.0 * t["hits"] / requests, 2) if requests else 0.0
    for kind, plural in (("hit", "hits"), ("miss", "misses")):
        timed = t[f"timed_{plural}"]
        mean = t[f"{kind}_us"] / 1000 / timed if timed else 0.0
        figures[f"avg_{kind}_time_ms"] = round(mean, 4)
        for q in (50, 95, 99):
            figures[f"{kind}_p{q}_ms"] = round(1000 * percentile(totals, kind, q / 100), 4)
    if seconds is not None:
        figures["requests_per_second"] = round(requests / seconds, 2) if seconds > 0 else 0.0
    return figures


def _difference(newer: Mapping[str, int], older: Mapping[str, int]) -> dict[str, int]:
    return {name: value - older.get(name, 0) for name, value in newer.items()}


class CacheStatistics:
    """Hit/miss counters, latency percentiles and requests per second over a recent window.

    Args:
        window: Seconds over which ``requests_per_second`` is computed.
        clock: Monotonic seconds; inject ``cache.testing.FakeClock`` in tests.
        wall: Wall-clock seconds, for the workers' last pushes (shared between hosts).

    Every method is thread-safe: concurrent recording loses no count. Alone,
    it counts this process; :meth:`push` (or :meth:`share`, which pushes
    periodically) adds its counts to those of every worker of a group in a
    backend, which :meth:`shared_totals` reads back.

    A hit or miss recorded with no duration (0) is counted but left out of
    the latency figures, which describe only the timed records.
    """

    def __init__(
        self, *, window: float = 60.0, clock: Clock = time.monotonic, wall: Clock = time.time
    ) -> None:
        self.window = check_seconds(window, "window", allow_zero=False)  # nan, inf: issue 9
        self._clock, self._wall = clock, wall
        self._lock, self._push_lock = threading.Lock(), threading.Lock()
        self._sources: dict[str, Callable[[], Mapping[str, int]]] = {}
        #: Where :meth:`push` last sent the counts, or None: (backend, group).
        self.shared: tuple[CacheBackend, str] | None = None
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._sharing: threading.Event | None = None
        self.reset()

    def reset(self) -> None:
        """Zero every counter and restart the uptime."""
        with self._lock:
            self._counts = dict.fromkeys(_SHARED, 0)
            self._hit_time = self._miss_time = 0.0
            self._started = self._clock()
            # (second, requests in that second), oldest first
            self._buckets: deque[list[int]] = deque()
            # What push() sent already; tracked counts are not reset, so neither is theirs.
            pushed: dict[str, int] = getattr(self, "_pushed", {})
            self._pushed = {f: v for f, v in pushed.items() if f not in _SHARED}

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

    def _read(self, kind: str, plural: str, duration: float) -> None:
        counts = self._counts
        counts[plural] += 1
        if duration > 0:
            counts[f"timed_{plural}"] += 1
            counts[f"{kind}_b{bisect.bisect_left(BOUNDS, duration)}"] += 1
            if kind == "hit":
                self._hit_time += duration
            else:
                self._miss_time += duration
        self._request(self._clock())

    def record_hit(self, duration: float = 0.0) -> None:
        """Record a hit that took ``duration`` seconds (0: not timed)."""
        duration = _check_duration(duration)
        with self._lock:
            self._read("hit", "hits", duration)

    def record_miss(self, duration: float = 0.0) -> None:
        """Record a miss that took ``duration`` seconds (0: not timed)."""
        duration = _check_duration(duration)
        with self._lock:
            self._read("miss", "misses", duration)

    def _add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def record_set(self) -> None:
        """Record a write."""
        self._add("sets")

    def record_delete(self) -> None:
        """Record a removal."""
        self._add("deletes")

    def record_stale(self) -> None:
        """Record a stale value served while a refresh runs."""
        self._add("stale_hits")

    def record_error(self) -> None:
        """Record a failure."""
        self._add("errors")

    def track(self, label: str, source: Callable[[], Mapping[str, int]]) -> None:
        """Count ``source()``'s cumulative counts too, as ``label:name`` (e.g. requests by type).

        They appear in :meth:`totals` and are pushed like the others; a
        second ``track`` of one label replaces the first.
        """
        check_key(label, "label", _MAX_NAME)
        with self._lock:
            self._sources[label] = source

    def totals(self) -> dict[str, int]:
        """Return every cumulative count of this process (times in whole microseconds)."""
        with self._lock:
            totals = dict(self._counts)
            totals["hit_us"] = round(self._hit_time * 1e6)
            totals["miss_us"] = round(self._miss_time * 1e6)
            sources = list(self._sources.items())
        for label, source in sources:
            for name, count in dict(source()).items():
                totals[f"{label}:{name}"] = int(count)
        return totals

    def get_stats(self) -> dict[str, Any]:
        """Return a snapshot: counts, ``hit_rate`` in percent, times in ms, rate per second."""
        totals = self.totals()
        with self._lock:
            now = self._clock()
            uptime = max(0.0, now - self._started)
            # whole seconds in the window, the current (partial) one included
            first = int(now) - self.window
            recent = sum(count for second, count in self._buckets if second > first)
        span = min(self.window, max(uptime, 1.0))
        figures = summarize(totals)
        figures["requests_per_second"] = round(recent / span, 2)
        figures["uptime_seconds"] = round(uptime, 3)
        return figures

    # -- sharing across workers ------------------------------------------------

    @staticmethod
    def _shared_key(group: str, field: str) -> str:
        return reserved_key("stats", check_key(group, "group", _MAX_GROUP), field)

    def push(self, cache: CacheBackend, group: str = "default") -> None:
        """Add what was recorded since the last push to counters shared in ``cache``.

        One atomic increment per changed counter. Every worker pushing to one
        group (say, every few seconds) makes :meth:`shared_stats` report the
        whole fleet; this object remembers the place in :attr:`shared`.
        """
        check_backend(cache)
        names = self._shared_key(group, "names")  # a bad group is refused before any count
        with self._push_lock:  # one push at a time: each adds what the one before did not
            totals = self.totals()
            with self._lock:
                deltas = {f: v - self._pushed.get(f, 0) for f, v in totals.items()}
                new = [f for f in totals if f not in self._pushed and f not in _SHARED]
                self._pushed, self.shared = totals, (cache, group)
            fresh = {f: 0.0 for f in new if len(f) <= _MAX_NAME}
            if fresh:
                cache.index_add(names, fresh)
            for field, delta in deltas.items():
                if delta and (field in _SHARED or len(field) <= _MAX_NAME):
                    cache.incr(self._shared_key(group, field), delta)
            cache.index_add(self._shared_key(group, "workers"), {self.worker: self._wall()})
            # This worker's own counts too, for a reader that asks for one worker.
            mine = self._shared_key(group, f"worker:{self.worker}"[:_MAX_NAME])
            cache.set(mine, totals, timeout=5 * _WORKER_SEEN)

    @classmethod
    def shared_totals(cls, cache: CacheBackend, group: str = "default") -> dict[str, int]:
        """Return the sum of every worker's pushed counts in ``group`` (as :meth:`totals`)."""
        check_backend(cache)
        fields = list(_SHARED) + list(cache.index_iter(cls._shared_key(group, "names")))
        keys = {cls._shared_key(group, f): f for f in fields}
        found = cache.get_many(keys)
        return {field: int(found.get(key, 0)) for key, field in keys.items()}

    @classmethod
    def shared_workers(cls, cache: CacheBackend, group: str = "default", now: float = 0.0) -> int:
        """Return how many workers pushed to ``group`` in the last minute before ``now``."""
        check_backend(cache)
        key = cls._shared_key(group, "workers")
        cache.index_remove_below(key, (now or time.time()) - _WORKER_SEEN)
        return cache.index_len(key)

    @classmethod
    def worker_totals(
        cls, cache: CacheBackend, group: str = "default", now: float = 0.0
    ) -> dict[str, dict[str, int]]:
        """Return each worker's own counts as of its last push, for those seen in the last minute.

        Keyed by :attr:`worker` (``host:pid:object``).
        """
        cls.shared_workers(cache, group, now)  # drops the workers gone quiet
        workers = list(cache.index_iter(cls._shared_key(group, "workers")))
        keys = {cls._shared_key(group, f"worker:{w}"[:_MAX_NAME]): w for w in workers}
        found = cache.get_many(keys)
        return {keys[key]: dict(totals) for key, totals in found.items()}

    @classmethod
    def shared_stats(cls, cache: CacheBackend, group: str = "default") -> dict[str, Any]:
        """Return the counters every worker pushed to ``group``, with rates and times."""
        return summarize(cls.shared_totals(cache, group))

    def share(self, cache: CacheBackend, group: str = "default", every: float = 2.0) -> None:
        """Push to ``group`` in ``cache`` now and then every ``every`` seconds, in a thread.

        :meth:`close` pushes a last time and stops it.
        """
        check_seconds(every, "every", allow_zero=False)
        self.push(cache, group)
        self.close()
        stop = self._sharing = threading.Event()

        def run() -> None:
            failing = False
            while not stop.wait(every):
                try:
                    self.push(cache, group)
                except Exception:  # a statistics push must never stop the app
                    if not failing:  # once per run of failures, not every few seconds
                        log.warning("pushing statistics to %r failed", group, exc_info=True)
                    failing = True
                else:
                    failing = False

        threading.Thread(target=run, name="cache-stats-push", daemon=True).start()

    def close(self) -> None:
        """Stop the pushes :meth:`share` started, after a last one (a failure is logged)."""
        stop, self._sharing = self._sharing, None
        if stop is not None:
            stop.set()
            if self.shared is not None:
                try:
                    self.push(*self.shared)
                except Exception:  # closing must not fail for the statistics' sake
                    log.warning("the last push of statistics failed", exc_info=True)


def window_of(
    samples: Sequence[tuple[float, Mapping[str, int]]], seconds: float
) -> tuple[dict[str, int], float]:
    """Return the counts of the last ``seconds`` of ``(time, totals)`` samples and its length."""
    if not samples:
        return {}, 0.0
    now, newest = samples[-1]
    older_t, older = samples[0]
    for t, totals in reversed(samples):
        older_t, older = t, totals
        if t <= now - seconds:
            break
    return _difference(newest, older), now - older_t
