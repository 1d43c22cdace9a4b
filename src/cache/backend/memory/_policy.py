"""InMemoryCache's eviction policy: which record to drop when the dict is full.

The policy holds no values and takes no lock: the engine owns the dict, the
deadlines and the lock, and calls the policy under that lock. Caffeine splits
its cache the same way, so that a policy can be swapped for another (a
W-TinyLFU, say) without touching storage.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Protocol

from cache.backend.memory._record import EXPIRES, FREQ, KEY, SLOT, Record

__all__ = ["AdaptiveS3FIFO", "EvictionPolicy"]

# Where a record is (its SLOT): a queue, or neither once the engine removed it.
_SMALL, _MAIN, _DEAD = 0, 1, 2
# Hits beyond this many buy no extra passes in the main queue (S3-FIFO's cap).
_FREQ_CAP = 3
#: Ghosts of the main queue per entry of capacity. Two rather than one keep
#: longer track of keys the main queue evicted, which come back into it past
#: probation: on the recency-biased stream (newest items hottest) the hit
#: ratio went from 0.645 to 0.695 (LRU: 0.694), OLTP@1000 0.404 to 0.406,
#: OLTP@2000 0.471 to 0.468, Zipf and scan unchanged, for about 110 bytes more
#: per entry of capacity under churn (``python -m benchmarks.eviction_sim``).
_MAIN_GHOSTS = 2


class EvictionPolicy(Protocol):
    """What the engine asks of a policy, always under its write lock.

    A hit makes no call: the engine adds one to the record's ``FREQ`` (a call
    would slow the hit path, see ``InMemoryCache.get``), and the policy reads
    those counts when it looks for a victim.
    """

    def admit(self, record: Record) -> None:
        """Place a record just stored under a key the dict did not hold."""

    def forget(self, record: Record) -> None:
        """Drop a record the engine removed from the dict (any reason)."""

    def victim(self, now: float) -> Record:
        """Return the record to remove to make room; the dict must not be empty.

        An expired record met on the way is returned as it is reached.
        """

    def resize(self, capacity: int) -> None:
        """Take ``capacity`` entries as the size of a full cache (bytes bound it, not entries)."""

    def clear(self) -> None:
        """Forget every record and everything learnt about past keys."""


class AdaptiveS3FIFO:
    """S3-FIFO whose small queue resizes itself from ghost hits, as ARC adapts its lists.

    New keys enter a small FIFO queue; keys hit while there move to a main
    queue that gives each key up to three more passes; ghost lists of
    recently evicted keys resize the small queue (a ghost hit from the small
    queue grows it, one from the main queue shrinks it) and send a returning
    key straight to the main queue. ``benchmarks/eviction_sim.py`` holds the
    comparison that chose it (issue 2). The engine shipped it until issue 14
    (``_tinylfu.WindowTinyLFU`` replaced it: it kept nothing of a loop longer
    than the cache); it stays as the "previous" row of that comparison.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._small: deque[Record] = deque()
        self._main: deque[Record] = deque()
        self._live = 0  # records admitted and not forgotten: the engine's len(dict)
        self._small_len = 0  # live records in the small queue
        self._small_target = max(1.0, capacity / 10)
        self._ghost_small: OrderedDict[str, None] = OrderedDict()
        self._ghost_main: OrderedDict[str, None] = OrderedDict()

    def admit(self, record: Record) -> None:
        """Queue a new record: in the main queue if its key is a ghost, else on probation."""
        key = record[KEY]
        self._live += 1
        if key in self._ghost_small:
            # Evicted from the small queue too soon: give it more room.
            del self._ghost_small[key]
            step = max(1.0, len(self._ghost_main) / (len(self._ghost_small) + 1))
            self._small_target = min(self.capacity - 1.0, self._small_target + step)
        elif key in self._ghost_main:
            # Evicted from the main queue too soon: give the main queue more room.
            del self._ghost_main[key]
            step = max(1.0, len(self._ghost_small) / (len(self._ghost_main) + 1))
            self._small_target = max(1.0, self._small_target - step)
        else:
            record[SLOT] = _SMALL
            self._small.append(record)
            self._small_len += 1
            return
        record[SLOT] = _MAIN
        self._main.append(record)

    def forget(self, record: Record) -> None:
        """Mark a removed record dead; the queues drop dead records when they reach them."""
        self._live -= 1
        if record[SLOT] == _SMALL:
            self._small_len -= 1
        record[SLOT] = _DEAD
        if len(self._small) + len(self._main) > 2 * self._live + 64:
            self._small = deque(r for r in self._small if r[SLOT] == _SMALL)
            self._main = deque(r for r in self._main if r[SLOT] == _MAIN)

    def victim(self, now: float) -> Record:
        """Return the record to evict: from the small queue while it is over target."""
        while self._small_len and (
            self._small_len >= self._small_target or self._small_len == self._live
        ):
            record = self._small.popleft()
            if record[SLOT] != _SMALL:
                continue
            expires = record[EXPIRES]
            if expires is not None and expires <= now:
                return record
            if record[FREQ] > 0:  # hit while on probation: promote, then look again
                record[FREQ] = 0
                record[SLOT] = _MAIN
                self._small_len -= 1
                self._main.append(record)
                continue
            self._remember(self._ghost_small, record[KEY], self.capacity)
            return record
        while True:
            record = self._main.popleft()
            if record[SLOT] != _MAIN:
                continue
            expires = record[EXPIRES]
            if expires is not None and expires <= now:
                return record
            freq = record[FREQ]
            if freq > 0:
                record[FREQ] = min(freq, _FREQ_CAP) - 1
                self._main.append(record)
                continue
            self._remember(self._ghost_main, record[KEY], _MAIN_GHOSTS * self.capacity)
            return record

    def resize(self, capacity: int) -> None:
        """Take ``capacity`` entries as a full cache's size; the small queue keeps its share."""
        capacity = max(1, capacity)
        share = self._small_target / self.capacity
        self.capacity = capacity
        self._small_target = max(1.0, min(capacity - 1.0, share * capacity))

    @staticmethod
    def _remember(ghosts: OrderedDict[str, None], key: str, limit: int) -> None:
        ghosts[key] = None
        while len(ghosts) > limit:
            ghosts.popitem(last=False)

    def clear(self) -> None:
        """Forget every record, ghost and the learnt size of the small queue."""
        for record in self._small:
            record[SLOT] = _DEAD
        for record in self._main:
            record[SLOT] = _DEAD
        self._small.clear()
        self._main.clear()
        self._live = 0
        self._small_len = 0
        self._small_target = max(1.0, self.capacity / 10)
        self._ghost_small.clear()
        self._ghost_main.clear()
