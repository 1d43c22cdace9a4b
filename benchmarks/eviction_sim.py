"""Hit ratios of candidate eviction policies on the benchmark workloads.

    python -m benchmarks.eviction_sim [--quick]

This is the measurement that chose ``InMemoryCache``'s policy (issues 2 and
14): reference implementations of LRU, CLOCK, SIEVE (NSDI 2024), S3-FIFO
(SOSP 2023) and ARC, theine (W-TinyLFU) and the engine itself driven through
its public API, with its previous policy (adaptive S3-FIFO) beside it, and
Belady's OPT with bypass as the ceiling. Every workload runs at two cache
sizes; ``workloads.py`` says where each comes from.
"""

from __future__ import annotations

import argparse
import heapq
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from benchmarks import workloads


class LRU:
    def __init__(self, c: int) -> None:
        self.c, self.d = c, OrderedDict[str, None]()

    def access(self, k: str) -> bool:
        if k in self.d:
            self.d.move_to_end(k)
            return True
        self.d[k] = None
        if len(self.d) > self.c:
            self.d.popitem(last=False)
        return False


class CLOCK:
    """FIFO with reinsertion of referenced entries (second chance)."""

    def __init__(self, c: int) -> None:
        self.c, self.ref, self.q = c, dict[str, int](), deque[str]()

    def access(self, k: str) -> bool:
        if k in self.ref:
            self.ref[k] = 1
            return True
        while len(self.ref) >= self.c:
            h = self.q.popleft()
            if self.ref[h]:
                self.ref[h] = 0
                self.q.append(h)
            else:
                del self.ref[h]
        self.ref[k] = 0
        self.q.append(k)
        return False


class SIEVE:
    """SIEVE: the hand walks from old to new; visited entries stay where they are."""

    def __init__(self, c: int) -> None:
        self.c = c
        self.nodes: dict[str, list[Any]] = {}  # key -> [newer, older, key, visited]
        self.head: list[Any] | None = None  # newest
        self.tail: list[Any] | None = None  # oldest
        self.hand: list[Any] | None = None

    def access(self, k: str) -> bool:
        node = self.nodes.get(k)
        if node is not None:
            node[3] = 1
            return True
        if len(self.nodes) >= self.c:
            self._evict()
        node = [None, self.head, k, 0]
        if self.head is not None:
            self.head[0] = node
        self.head = node
        if self.tail is None:
            self.tail = node
        self.nodes[k] = node
        return False

    def _evict(self) -> None:
        o = self.hand or self.tail
        assert o is not None
        while o[3]:
            o[3] = 0
            o = o[0] or self.tail
        self.hand = o[0]
        newer, older = o[0], o[1]
        if newer is not None:
            newer[1] = older
        else:
            self.head = older
        if older is not None:
            older[0] = newer
        else:
            self.tail = newer
        del self.nodes[o[2]]


class S3FIFO:
    """S3-FIFO with a 10% small queue, a main queue and a ghost queue."""

    def __init__(self, c: int) -> None:
        self.c, self.small_cap = c, max(1, c // 10)
        self.s, self.m, self.g = deque[str](), deque[str](), OrderedDict[str, None]()
        self.f: dict[str, int] = {}

    def access(self, k: str) -> bool:
        if k in self.f:
            self.f[k] = min(self.f[k] + 1, 3)
            return True
        while len(self.f) >= self.c:
            if len(self.s) >= self.small_cap or not self.m:
                self._evict_small()
            else:
                self._evict_main()
        if k in self.g:
            del self.g[k]
            self.m.append(k)
        else:
            self.s.append(k)
        self.f[k] = 0
        return False

    def _evict_small(self) -> None:
        t = self.s.popleft()
        if self.f[t] > 0:
            self.f[t] = 0
            self.m.append(t)
            return
        del self.f[t]
        self.g[t] = None
        if len(self.g) > self.c - self.small_cap:
            self.g.popitem(last=False)

    def _evict_main(self) -> None:
        while True:
            t = self.m.popleft()
            if self.f[t] > 0:
                self.f[t] -= 1
                self.m.append(t)
            else:
                del self.f[t]
                return


class ARC:
    def __init__(self, c: int) -> None:
        self.c, self.p = c, 0
        self.t1, self.t2 = OrderedDict[str, None](), OrderedDict[str, None]()
        self.b1, self.b2 = OrderedDict[str, None](), OrderedDict[str, None]()

    def _replace(self, in_b2: bool) -> None:
        if self.t1 and (len(self.t1) > self.p or (in_b2 and len(self.t1) == self.p)):
            self.b1[self.t1.popitem(last=False)[0]] = None
        else:
            self.b2[self.t2.popitem(last=False)[0]] = None

    def access(self, k: str) -> bool:
        c = self.c
        if k in self.t1:
            del self.t1[k]
            self.t2[k] = None
            return True
        if k in self.t2:
            self.t2.move_to_end(k)
            return True
        if k in self.b1:
            self.p = min(c, self.p + max(len(self.b2) // len(self.b1), 1))
            self._replace(False)
            del self.b1[k]
            self.t2[k] = None
            return False
        if k in self.b2:
            self.p = max(0, self.p - max(len(self.b1) // len(self.b2), 1))
            self._replace(True)
            del self.b2[k]
            self.t2[k] = None
            return False
        l1 = len(self.t1) + len(self.b1)
        if l1 == c:
            if len(self.t1) < c:
                self.b1.popitem(last=False)
                self._replace(False)
            else:
                self.t1.popitem(last=False)
        elif l1 < c:
            total = l1 + len(self.t2) + len(self.b2)
            if total >= c:
                if total == 2 * c:
                    self.b2.popitem(last=False)
                self._replace(False)
        self.t1[k] = None
        return False


class Engine:
    """The shipped ``InMemoryCache`` through its public API."""

    def __init__(self, c: int) -> None:
        from cache.backend import InMemoryCache

        self.cache = InMemoryCache(max_entries=c)

    def access(self, k: str) -> bool:
        if self.cache.get(k) is None:
            self.cache.set(k, 1)
            return False
        return True


class Previous(Engine):
    """``InMemoryCache`` with the policy it shipped before issue 14 (adaptive S3-FIFO)."""

    def __init__(self, c: int) -> None:
        from cache.backend.memory._policy import AdaptiveS3FIFO

        super().__init__(c)
        self.cache._policy = AdaptiveS3FIFO(c)


class Theine:
    """theine's W-TinyLFU through its public API."""

    def __init__(self, c: int) -> None:
        import theine

        self.cache = theine.Cache(c)

    def access(self, k: str) -> bool:
        if self.cache.get(k)[1]:
            return True
        self.cache.set(k, 1)
        return False


def opt_hits(trace: list[str], capacity: int) -> int:
    """Belady's OPT with bypass: evict (or never admit) the key needed again furthest away."""
    never = len(trace)
    upcoming = [0] * len(trace)
    last: dict[str, int] = {}
    for i in range(len(trace) - 1, -1, -1):
        upcoming[i] = last.get(trace[i], never)
        last[trace[i]] = i
    held: dict[str, int] = {}  # key -> its next request
    furthest: list[tuple[int, str]] = []  # max-heap by next request, stale entries skipped
    hits = 0
    for key, following in zip(trace, upcoming, strict=True):
        if key in held:
            hits += 1
        elif following == never:
            continue  # never read again: bypass
        elif len(held) >= capacity:
            while held.get(furthest[0][1]) != -furthest[0][0]:
                heapq.heappop(furthest)
            if -furthest[0][0] <= following:
                continue  # every held key is needed sooner: bypass
            del held[heapq.heappop(furthest)[1]]
        held[key] = following
        heapq.heappush(furthest, (-following, key))
    return hits


#: The columns of the table: (name, factory of a simulator).
POLICIES: list[tuple[str, Callable[[int], Any]]] = [
    ("LRU", LRU),
    ("SIEVE", SIEVE),
    ("S3-FIFO", S3FIFO),
    ("ARC", ARC),
    ("theine (W-TinyLFU)", Theine),
    ("previous (adaptive S3-FIFO)", Previous),
    ("InMemoryCache", Engine),
]


def cases(quick: bool = False) -> list[tuple[str, list[str], tuple[int, int]]]:
    """Return (workload, trace, two cache sizes) for every workload kind."""
    n = 60_000 if quick else 400_000
    oltp = workloads.oltp(limit=n if quick else None)
    return [
        ("database/OLTP (ARC trace)", oltp, (1_000, 2_000)),
        ("Zipf 0.99, 200k keys", workloads.zipf(200_000, n), (2_000, 10_000)),
        (
            "Zipf with scans of new keys",
            workloads.scan_polluted(50_000, n, 20_000, 8_000),
            (2_000, 5_000),
        ),
        ("recency-biased stream", workloads.recency(n), (2_000, 5_000)),
        ("pure loop, 1,011 keys", workloads.loop(1_011, n // 2), (200, 500)),
        ("loop of 2,000 beside a hot set", workloads.loop_hot(2_000, 1_000, n), (1_000, 2_000)),
        ("several programs: loops, Zipf, recency", workloads.multi_loop(n), (2_000, 5_000)),
        ("shifting working set", workloads.shifting(10_000, n, n // 10), (1_000, 3_000)),
    ]


def main(argv: list[str] | None = None) -> None:
    """Print the hit ratio of every policy on every workload at two sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short traces: checks the harness")
    args = parser.parse_args(argv)
    names = [name for name, _ in POLICIES]
    print("| workload | size | " + " | ".join(names) + " | OPT |")
    print("|---" * (len(names) + 3) + "|")
    for workload, trace, sizes in cases(args.quick):
        for capacity in sizes:
            cells = []
            for _, policy in POLICIES:
                sim = policy(capacity)
                cells.append(f"{sum(map(sim.access, trace)) / len(trace):.3f}")
            cells.append(f"{opt_hits(trace, capacity) / len(trace):.3f}")
            row = f"| {workload} | {capacity:,} | " + " | ".join(cells) + " |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
