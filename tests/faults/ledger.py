"""What the load saw around a fault: every value written, read and invalidated, every stall.

Values encode their workload, item, writer and sequence (``kv/3/w1/17``), so a
read can be checked twice: the value was written by some writer for that very
item, and no invalidation of that item with a floor at or above its sequence
completed before the read started.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

#: The engines' socket timeout in the suite (RedisCache's default).
SOCKET_TIMEOUT = 0.25
#: No operation may take longer than this (socket timeout plus a margin).
STALL_BOUND = SOCKET_TIMEOUT + 0.5
#: The first successful read comes at most this long after the server answers again.
RECOVERY_BOUND = 1.5


def seq_of(value: str) -> int:
    """Return the sequence number a value carries."""
    return int(value.rsplit("/", 1)[1])


def item_of(value: str) -> str:
    """Return ``workload/item`` of a value."""
    return "/".join(value.split("/", 2)[:2])


@dataclass(frozen=True)
class Read:
    """One read that returned: what was asked for, when it started, what came back."""

    item: str  # workload/item
    start: float
    value: object


@dataclass(frozen=True)
class Done:
    """An invalidation that returned: values of ``item`` up to ``floor`` are gone from ``at``."""

    item: str
    at: float
    floor: int


@dataclass
class Window:
    """When the server was unavailable: from the fault to the moment it answered again."""

    fault_at: float = float("inf")
    back_at: float = float("inf")


@dataclass
class Ledger:
    """Thread-safe record of one scenario's load."""

    name: str
    written: set[str] = field(default_factory=set)
    reads: list[Read] = field(default_factory=list)
    done: list[Done] = field(default_factory=list)
    raised: list[tuple[str, float, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    ops: int = 0
    probes: list[tuple[str, float, float, bool]] = field(default_factory=list)
    in_flight: dict[int, tuple[str, float]] = field(default_factory=dict)
    #: Where the first operations past the stall bound were waiting (op -> stack).
    stalls: dict[str, str] = field(default_factory=dict)
    window: Window = field(default_factory=Window)
    _seq: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- recording ----------------------------------------------------------

    def next_value(self, item: str, writer: int) -> str:
        """Return a new value of ``item``, registered as written before anyone writes it."""
        with self._lock:
            self._seq[item] += 1
            value = f"{item}/w{writer}/{self._seq[item]}"
            self.written.add(value)
        return value

    def seq(self, item: str) -> int:
        """Return the sequence of the last value made for ``item``."""
        with self._lock:
            return self._seq[item]

    def started(self, worker: int, op: str) -> float:
        """Note that ``worker`` started ``op``; return the start time."""
        now = time.monotonic()
        self.in_flight[worker] = (op, now)
        return now

    def finished(self, worker: int, op: str, start: float) -> float:
        """Note that ``worker`` finished ``op``; return the end time."""
        end = time.monotonic()
        self.in_flight.pop(worker, None)
        with self._lock:
            self.ops += 1
            if end - start > self.durations.get(op, 0.0):
                self.durations[op] = end - start
        return end

    def read(self, item: str, start: float, value: object) -> None:
        with self._lock:
            self.reads.append(Read(item, start, value))

    def invalidated(self, item: str, at: float, floor: int) -> None:
        with self._lock:
            self.done.append(Done(item, at, floor))

    def raised_invalidation(self, op: str, start: float, end: float) -> None:
        with self._lock:
            self.raised.append((op, start, end))

    def error(self, op: str, exc: BaseException) -> None:
        with self._lock:
            self.errors.append(f"{op}: {exc!r}")

    def probe(self, node: str, start: float, end: float, ok: bool) -> None:
        with self._lock:
            self.probes.append((node, start, end, ok))

    def sample_stalls(self, stack_of: Callable[[int], str]) -> None:
        """Keep the stack of each kind of operation running past the stall bound (first seen)."""
        now = time.monotonic()
        for worker, (op, start) in list(self.in_flight.items()):
            if now - start > STALL_BOUND and op not in self.stalls:
                self.stalls[op] = stack_of(worker)

    def abandon_in_flight(self) -> None:
        """Count the operations still running at the end as stalls of their age so far."""
        now = time.monotonic()
        for op, start in list(self.in_flight.values()):
            with self._lock:
                self.durations[op + " (unfinished)"] = max(
                    self.durations.get(op + " (unfinished)", 0.0), now - start
                )

    # -- checks -------------------------------------------------------------

    def never_written(self) -> list[str]:
        """Reads that returned a value no writer wrote for that item."""
        return [
            f"{r.item} read {r.value!r}"
            for r in self.reads
            if (
                r.value is not None
                and (not isinstance(r.value, str) or r.value not in self.written)
            )
            or (isinstance(r.value, str) and item_of(r.value) != r.item)
        ]

    def stale(self) -> list[str]:
        """Reads started after an invalidation returned that saw a value it invalidated."""
        by_item: dict[str, list[Done]] = defaultdict(list)
        for done in self.done:
            by_item[done.item].append(done)
        floors: dict[str, tuple[list[float], list[int]]] = {}
        for item, dones in by_item.items():
            dones.sort(key=lambda d: d.at)
            running, highest = [], -1
            for d in dones:
                highest = max(highest, d.floor)
                running.append(highest)
            floors[item] = ([d.at for d in dones], running)
        found = []
        for r in self.reads:
            if not isinstance(r.value, str) or r.item not in floors:
                continue
            times, running = floors[r.item]
            i = bisect.bisect_left(times, r.start)  # invalidations done before the read began
            if i and seq_of(r.value) <= running[i - 1]:
                found.append(
                    f"{r.value} read at {self.at(r.start)} after an invalidation up to "
                    f"{running[i - 1]} done at {self.at(times[i - 1])}"
                )
        return found

    def raised_outside_outage(self) -> list[str]:
        """Invalidations that raised although the server answered all along their run."""
        low, high = self.window.fault_at, self.window.back_at + RECOVERY_BOUND
        return [
            f"{op} raised over [{self.at(s)}, {self.at(e)}]"
            for op, s, e in self.raised
            if e < low or s > high
        ]

    def at(self, moment: float) -> str:
        """Return ``moment`` relative to the fault and the repair, for messages."""
        return (
            f"fault{moment - self.window.fault_at:+.3f}s"
            if moment < self.window.back_at
            else f"back{moment - self.window.back_at:+.3f}s"
        )

    def worst_stall(self) -> tuple[str, float]:
        if not self.durations:
            return "-", 0.0
        op = max(self.durations, key=self.durations.__getitem__)
        return op, self.durations[op]

    def recovery(self, node: str = "server") -> float:
        """Seconds from the server answering again to the first successful probe read."""
        ok = [end for n, start, end, good in self.probes if n == node and good]
        after = [end for end in ok if end >= self.window.back_at]
        return min(after) - self.window.back_at if after else float("inf")

    def failed_probes(self, node: str, start: float, end: float) -> int:
        """Probe reads of ``node`` started within [start, end] that did not get their value."""
        return sum(1 for n, s, _, ok in self.probes if n == node and start <= s <= end and not ok)
