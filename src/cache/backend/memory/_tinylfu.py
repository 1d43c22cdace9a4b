"""S3-FIFO with TinyLFU admission and a segmented main area: InMemoryCache's policy.

- New keys enter a small FIFO queue. A key hit while there is promoted to
  the *protected* part of the main area when it reaches the head; an unhit
  one is a *candidate* for the main area.
- While the small queue is at most 20% of the cache, a candidate gets in
  only if the frequency sketch (``_sketch.py``) has seen it more often than
  the victim at the head of the main area's *probation* part, not counting
  the arrival that brought it in. Keys that keep coming back, however far
  apart, so hold their place against keys of a scan or of one more pass of
  a loop longer than the cache (TinyLFU: Einziger, Friedman and Manes, ACM
  ToS 2017; W-TinyLFU's segmented main area, as in Caffeine).
- Ghosts of recently turned-away and evicted keys resize the small queue as
  ARC sizes its lists (a returning turned-away key grows it, a returning
  evicted one shrinks it) and send a returning key straight to probation.
  A small queue grown past 20% means recency pays: candidates then join
  probation unfiltered. A ghost counts only while younger than about
  ``capacity`` requests: the keys of a loop come back later than that, and
  admitting them unfiltered would wear the main area down pass after pass.

A hit makes no call (``InMemoryCache.get`` adds one to the record's ``FREQ``):
a record met at the head of a queue with hits moves on (small queue and
probation to protected; protected goes round again, as in CLOCK) and its hits
are then added to the sketch. The policy holds no values and takes no lock;
the engine calls it under its write lock. ``benchmarks/eviction_sim.py``
holds the comparison that chose it (issue 14).
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque

from cache.backend.memory._record import EXPIRES, FREQ, KEY, SLOT, Record
from cache.backend.memory._sketch import FrequencySketch

__all__ = ["S3FIFOTinyLFU"]

# Where a record is (its SLOT).
_SMALL, _PROBATION, _PROTECTED, _DEAD = 0, 1, 2, 3
#: A candidate this frequent is admitted now and then even against a hotter
#: victim (1 in 128), so keys made to collide in the sketch cannot lock the
#: main area (Caffeine's guard against hash flooding).
_FLOOD_GUARD = 6
#: Protected's share of the main area. Caffeine's 0.8 left probation too short
#: for keys back from the ghosts of a recency stream (0.32 against LRU's 0.42
#: at 2,000 entries); 0.65 gives 0.38, and the loops keep their hits better.
_PROTECTED_SHARE = 0.65
#: The filter holds while the small queue is at most this share of the cache
#: (it starts at 0.1). Past it the ghosts have shown that recency pays, and
#: candidates join probation unfiltered, as in plain S3-FIFO with a segmented
#: main area: a recency stream then keeps up with LRU, a loop does not grow
#: it. 0.2 rather than 0.1: several programs 0.47 against 0.40, recency at
#: 2,000 entries 0.41 against 0.40, Zipf 0.571 against 0.576; 0.05 lost the
#: loops, 0.3 more of Zipf (0.565) and OLTP (0.378 against 0.383).
_FILTER_UP_TO = 0.2
#: Ghosts kept per entry of capacity: turned-away keys, evicted keys.
_SMALL_GHOSTS, _MAIN_GHOSTS = 1, 2
#: How long a ghost counts, in requests per entry of capacity: a turned-away
#: key, an evicted one. Chosen when ages were counted in misses: 1.5 rather
#: than 1 kept more of a recency stream (0.705 against 0.694 on the one of the
#: regression test, LRU 0.700), 2 let a loop's keys back in unfiltered (1,011
#: keys over 200 entries: 0.15 against 0.17). Counted in requests, the same
#: stream gives 0.707.
_SMALL_GHOST_AGE, _MAIN_GHOST_AGE = 1.5, 1.0


def _expired(record: Record, now: float) -> bool:
    expires = record[EXPIRES]
    return expires is not None and expires <= now


class S3FIFOTinyLFU:
    """A small FIFO queue, a probation and a protected area, a frequency-sketch filter."""

    def __init__(self, capacity: int, seed: int | None = None) -> None:
        self.capacity, self._seed = capacity, seed
        self._max_capacity = capacity  # what the sketch is sized for, whatever resize says
        self._sketch = FrequencySketch(capacity, seed)
        self._random = random.Random(seed)
        self._queues = (deque[Record](), deque[Record](), deque[Record]())
        self._lens = [0, 0, 0]  # live records per queue
        self._live = 0
        self._dead = 0  # records forgotten since the queues were last compacted
        self._small_target = max(1.0, capacity / 10)
        self._ghost_small: OrderedDict[str, int] = OrderedDict()
        self._ghost_main: OrderedDict[str, int] = OrderedDict()
        # Requests seen so far, misses and the hits counted as records are met:
        # the clock of the ghosts. Misses alone ran fast on a loop that hits
        # often, and let its keys back through the ghosts (0.01 against 0.31
        # on a loop of 1,011 keys over 500 entries).
        self._ticks = 0

    def admit(self, record: Record) -> None:
        """Queue a record just stored: on probation if its key is a young ghost, else small."""
        key = record[KEY]
        self._sketch.add(key)
        self._live += 1
        self._ticks += 1
        slot = _SMALL
        now = self._ticks
        turned_away = self._ghost_small.pop(key, None)
        evicted = self._ghost_main.pop(key, None)
        if (
            turned_away is not None and now - turned_away <= _SMALL_GHOST_AGE * self.capacity
        ):  # the small queue was too short for it
            step = max(1.0, len(self._ghost_main) / (len(self._ghost_small) + 1))
            self._small_target = min(self.capacity - 1.0, self._small_target + step)
            slot = _PROBATION
        elif (
            evicted is not None and now - evicted <= _MAIN_GHOST_AGE * self.capacity
        ):  # the main area was too short for it
            step = max(1.0, len(self._ghost_small) / (len(self._ghost_main) + 1))
            self._small_target = max(1.0, self._small_target - step)
            slot = _PROBATION
        record[SLOT] = slot
        self._queues[slot].append(record)
        self._lens[slot] += 1

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
            if lens[_SMALL] >= self._small_target or lens[_SMALL] == self._live:
                candidate = self._head(_SMALL, now)
            if candidate is None:
                record = self._main_victim(now)
                if record[SLOT] != _SMALL and not _expired(record, now):
                    self._remember(self._ghost_main, record[KEY], _MAIN_GHOSTS)
                return record
            if _expired(candidate, now):
                return candidate
            main = lens[_PROBATION] + lens[_PROTECTED]
            filtering = self._small_target <= _FILTER_UP_TO * self.capacity
            if filtering and main + 1 >= self.capacity - self._small_target:
                break
            self._move(candidate, _PROBATION)  # no filter, or room in the main area
        if not main:
            return candidate
        rival = self._main_victim(now)
        if _expired(rival, now):
            return rival
        if self._admits(candidate[KEY], rival[KEY]):
            self._move(candidate, _PROBATION)
            self._remember(self._ghost_main, rival[KEY], _MAIN_GHOSTS)
            return rival
        self._remember(self._ghost_small, candidate[KEY], _SMALL_GHOSTS)
        return candidate

    def resize(self, capacity: int) -> None:
        """Take ``capacity`` entries as the size of a full cache from now on.

        A cache bounded in bytes is full at whatever count its values' sizes
        allow: the engine says so before it evicts for bytes. The small queue
        keeps its learnt share of the cache; protected's share and the ghosts
        follow the new size. The sketch keeps the size it was built for.
        """
        capacity = max(1, capacity)
        share = self._small_target / self.capacity
        self.capacity = capacity
        self._small_target = max(1.0, min(capacity - 1.0, share * capacity))

    def clear(self) -> None:
        """Forget every record, every count, every ghost and the learnt queue size."""
        for queue in self._queues:
            for record in queue:
                record[SLOT] = _DEAD
            queue.clear()
        self.__init__(self._max_capacity, self._seed)  # type: ignore[misc]

    # -- internals --------------------------------------------------------------

    def _remember(self, ghosts: OrderedDict[str, int], key: str, per_entry: int) -> None:
        """Remember an evicted key with the time it left, forgetting the oldest past the limit."""
        ghosts[key] = self._ticks
        while len(ghosts) > per_entry * self.capacity:  # a while: resize may have shrunk it
            ghosts.popitem(last=False)

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
            if lens[_PROTECTED] > _PROTECTED_SHARE * (self.capacity - self._small_target):
                self._demote(now)
            for slot in (_PROBATION, _PROTECTED, _SMALL):
                if lens[slot]:
                    record = self._head(slot, now)
                    if record is not None:
                        return record
                    break

    def _demote(self, now: float) -> None:
        """Move protected's oldest unhit records to probation while it is over its share."""
        limit = _PROTECTED_SHARE * (self.capacity - self._small_target)
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
