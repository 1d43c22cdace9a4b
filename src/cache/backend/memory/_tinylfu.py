"""W-TinyLFU with a FIFO window sized by returns: InMemoryCache's policy.

- New keys enter the *window*, a FIFO queue. A key hit while there is
  promoted to the *protected* part of the main area when it reaches the head;
  an unhit one is a *candidate* for the main area.
- A candidate gets in only if the frequency sketch (``_sketch.py``) has seen
  it more often than the victim at the head of the main area's *probation*
  part, not counting the arrival that brought it in. Keys that keep coming
  back, however far apart, so hold their place against keys of a scan or of
  one more pass of a loop longer than the cache (TinyLFU: Einziger, Friedman
  and Manes, ACM ToS 2017; the segmented main area as in Caffeine).
- The window's size follows how often a key comes back soon after the
  policy let it go: turned away while still new to the sketch, or evicted
  from the main area. A recency stream (items read again soon after they
  appear, never again later) does that for 16% to 46% of its misses, a
  shifting working set for 18%; Zipf, a database trace and loops for 9% or
  less. While more than ``_RECENCY`` of the misses are such returns, the
  window grows, up to half the cache; while fewer, it shrinks, down to a
  tenth. A loop's keys come back too, but known to the sketch.

A hit makes no call (``InMemoryCache.get`` adds one to the record's ``FREQ``):
a record met at the head of a queue with hits moves on (window and probation
to protected; protected goes round again, as in CLOCK) and its hits are then
added to the sketch. The policy holds no values and takes no lock; the engine
calls it under its write lock. ``benchmarks/eviction_sim.py`` holds the
comparison that chose it (issue 14).
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque

from cache.backend.memory._record import EXPIRES, FREQ, KEY, SLOT, Record
from cache.backend.memory._sketch import FrequencySketch

__all__ = ["WindowTinyLFU"]

# Where a record is (its SLOT).
_SMALL, _PROBATION, _PROTECTED, _DEAD = 0, 1, 2, 3
#: A candidate this frequent is admitted now and then even against a hotter
#: victim (1 in 128), so keys made to collide in the sketch cannot lock the
#: main area (Caffeine's guard against hash flooding).
_FLOOD_GUARD = 6
#: Protected's share of the main area. 0.5 rather than Caffeine's 0.8: a
#: probation long enough for keys that recur at a distance (OLTP at 2,000
#: entries 0.458 against 0.455, the loop beside a hot set 0.789 against 0.784;
#: 0.65 gave 0.457).
_PROTECTED_SHARE = 0.5
#: The window's bounds, as shares of the cache. A tenth at least: OLTP (0.393
#: against 0.376 at 0.05) and a recency stream need it, Zipf barely minds
#: (0.593 against 0.597 at 0.02). Half at most: a recency stream at 2,000
#: entries grew it to 0.9 and fell to 0.388 (LRU 0.416); 0.5 keeps 0.416.
_WINDOW_MIN, _WINDOW_MAX = 0.1, 0.5
#: The share of misses that are young returns above which the window grows.
#: Measured with the window at a tenth of the cache, then at half: recency
#: streams 0.20 and 0.21, 0.28 and 0.16; the shifting working set 0.18 and
#: 0.11; OLTP 0.056 and 0.052, Zipf 0.04 to 0.07, loops 0.00 to 0.08. Turned-
#: away returns alone fall below 0.05 on a recency stream once the window is
#: large, which held it at 0.4 of the cache and under LRU (0.695 against
#: 0.705 on the regression test's stream); the main area's returns then rise.
_RECENCY = 0.09
#: How far the window moves per miss for each unit of that share above or
#: below ``_RECENCY``, in entries: on a recency stream, from a tenth to half
#: the cache in about two cache sizes of misses (1.0 took five: 0.697 on the
#: regression test's stream; 10 swung the several-programs mix, 0.587).
_GAIN = 3.0
#: A returning key counts only if the sketch had seen it at most this often
#: before (a loop's keys, seen pass after pass, grew the window and lost the
#: loop: 0.495 against 0.787 beside a hot set at 2,000 entries).
_NEW = 1
#: Ghosts kept per entry of capacity (turned-away keys; keys evicted from the
#: main area), and how long one counts, in requests per entry of capacity (a
#: loop's keys come back later).
_GHOSTS = 1
_TURNED_AWAY_AGE, _EVICTED_AGE = 1.5, 1.0


def _expired(record: Record, now: float) -> bool:
    expires = record[EXPIRES]
    return expires is not None and expires <= now


class WindowTinyLFU:
    """A FIFO window, a probation and a protected area, a frequency-sketch filter."""

    def __init__(self, capacity: int, seed: int | None = None) -> None:
        self.capacity, self._seed = capacity, seed
        self._max_capacity = capacity  # what the sketch is sized for, whatever resize says
        self._sketch = FrequencySketch(capacity, seed)
        self._random = random.Random(seed)
        self._queues = (deque[Record](), deque[Record](), deque[Record]())
        self._lens = [0, 0, 0]  # live records per queue
        self._live = 0
        self._dead = 0  # records forgotten since the queues were last compacted
        self._low, self._high = self._bounds()  # the window's, kept: admit runs per miss
        self._window = self._low
        #: Keys turned away, and keys evicted from the main area, with the tick they left.
        self._turned_away: OrderedDict[str, int] = OrderedDict()
        self._evicted: OrderedDict[str, int] = OrderedDict()
        #: The share of recent misses that were young returns.
        self._returns = 0.0
        # Requests seen so far, misses and the hits counted as records are met:
        # the clock of the ghosts. Misses alone ran fast on a loop that hits
        # often, and let its keys count as returns.
        self._ticks = 0

    def admit(self, record: Record) -> None:
        """Queue a record just stored, in the window; resize the window by what its key says."""
        key = record[KEY]
        sketch = self._sketch
        sketch.add(key)
        self._live += 1
        self._ticks += 1
        now, capacity = self._ticks, self.capacity
        left = self._turned_away.pop(key, None)
        evicted = self._evicted.pop(key, None)
        returned = (
            left is not None
            and now - left <= _TURNED_AWAY_AGE * capacity
            and sketch.frequency(key) - 1 <= _NEW
        ) or (evicted is not None and now - evicted <= _EVICTED_AGE * capacity)
        share = self._returns = self._returns + (returned - self._returns) / self.capacity
        self._window = min(self._high, max(self._low, self._window + _GAIN * (share - _RECENCY)))
        record[SLOT] = _SMALL
        self._queues[_SMALL].append(record)
        self._lens[_SMALL] += 1

    def forget(self, record: Record) -> None:
        """Mark a removed record dead; the queues drop dead records when they reach them."""
        self._live -= 1
        self._lens[record[SLOT]] -= 1
        record[SLOT] = _DEAD
        self._dead += 1  # an upper bound: queues also drop dead records as they meet them
        if self._dead > self._live + 64:
            self._dead = 0
            for slot, queue in enumerate(self._queues):
                live = [r for r in queue if r[SLOT] == slot]
                queue.clear()
                queue.extend(live)

    def victim(self, now: float) -> Record:
        """Return the record to evict: the loser of candidate against rival, or an expired one."""
        lens = self._lens
        while True:
            candidate = None
            if lens[_SMALL] >= self._window or lens[_SMALL] == self._live:
                candidate = self._head(_SMALL, now)
            if candidate is None:
                record = self._main_victim(now)
                if record[SLOT] != _SMALL and not _expired(record, now):
                    self._remember(self._evicted, record[KEY])
                return record
            if _expired(candidate, now):
                return candidate
            main = lens[_PROBATION] + lens[_PROTECTED]
            if main + 1 >= self.capacity - self._window:
                break
            self._move(candidate, _PROBATION)  # room in the main area: no contest
        if not main:
            return candidate
        rival = self._main_victim(now)
        if _expired(rival, now):
            return rival
        if self._admits(candidate[KEY], rival[KEY]):
            self._move(candidate, _PROBATION)
            self._remember(self._evicted, rival[KEY])
            return rival
        self._remember(self._turned_away, candidate[KEY])
        return candidate

    def resize(self, capacity: int) -> None:
        """Take ``capacity`` entries as the size of a full cache from now on.

        A cache bounded in bytes is full at whatever count its values' sizes
        allow: the engine says so before it evicts for bytes. The window keeps
        its learnt share of the cache; protected's share and the ghosts follow
        the new size. The sketch keeps the size it was built for.
        """
        capacity = max(1, capacity)
        share = self._window / self.capacity
        self.capacity = capacity
        self._low, self._high = self._bounds()
        self._window = min(self._high, max(self._low, share * capacity))

    def clear(self) -> None:
        """Forget every record, every count, every ghost and the learnt window size."""
        for queue in self._queues:
            for record in queue:
                record[SLOT] = _DEAD
            queue.clear()
        self.__init__(self._max_capacity, self._seed)  # type: ignore[misc]

    # -- internals --------------------------------------------------------------

    def _remember(self, ghosts: OrderedDict[str, int], key: str) -> None:
        """Remember a key let go with the time it left, forgetting the oldest past the limit."""
        ghosts[key] = self._ticks
        while len(ghosts) > _GHOSTS * self.capacity:  # a while: resize may have shrunk it
            ghosts.popitem(last=False)

    def _bounds(self) -> tuple[float, float]:
        """Return the least and the most entries the window may hold."""
        low = max(1.0, _WINDOW_MIN * self.capacity)
        return low, max(low, _WINDOW_MAX * self.capacity)

    def _admits(self, candidate: str, rival: str) -> bool:
        """Whether the sketch has seen ``candidate`` (before this arrival) more than ``rival``."""
        sketch = self._sketch
        wanted = sketch.frequency(candidate) - 1
        if wanted > sketch.frequency(rival):
            return True
        return wanted >= _FLOOD_GUARD and not self._random.getrandbits(7)

    def _head(self, slot: int, now: float) -> Record | None:
        """Return the oldest live record of a queue without hits, left at the head.

        Records with hits move on (to protected, or round protected again);
        an expired record is returned as found; None if the queue empties.
        """
        queue, lens = self._queues[slot], self._lens
        while lens[slot]:
            record = queue[0]
            if record[SLOT] != slot:
                queue.popleft()
                continue
            hits = record[FREQ]
            if not hits or _expired(record, now):
                return record
            record[FREQ] = 0
            self._sketch.add(record[KEY], hits)
            self._ticks += hits
            if slot == _PROTECTED:
                queue.rotate(-1)
            else:
                self._move(record, _PROTECTED)
        return None

    def _main_victim(self, now: float) -> Record:
        """Return probation's oldest unhit record (protected's, or the small queue's, if empty)."""
        lens = self._lens
        while True:
            if lens[_PROTECTED] > _PROTECTED_SHARE * (self.capacity - self._window):
                self._demote(now)
            for slot in (_PROBATION, _PROTECTED, _SMALL):
                if lens[slot]:
                    record = self._head(slot, now)
                    if record is not None:
                        return record
                    break

    def _demote(self, now: float) -> None:
        """Move protected's oldest unhit records to probation while it is over its share."""
        limit = _PROTECTED_SHARE * (self.capacity - self._window)
        while self._lens[_PROTECTED] > limit:
            record = self._head(_PROTECTED, now)
            assert record is not None  # protected holds live records
            self._move(record, _PROBATION)

    def _move(self, record: Record, slot: int) -> None:
        """Move the record at the head of its queue to the tail of queue ``slot``."""
        old = record[SLOT]
        self._queues[old].popleft()
        self._lens[old] -= 1
        record[SLOT] = slot
        self._queues[slot].append(record)
        self._lens[slot] += 1
