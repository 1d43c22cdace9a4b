"""Per workload kind, InMemoryCache hits at least as often as LRU (small, fast versions).

The full-size comparison with every peer and OPT is ``python -m
benchmarks.eviction_sim`` (docs/performance.md). The sketch is seeded at
random per cache, so each case leaves a margin: they pass on every seed tried.
"""

from __future__ import annotations

import pytest
from benchmarks.eviction_sim import LRU, Engine

from benchmarks import workloads

CASES = {
    "oltp": (lambda: workloads.oltp(limit=60_000), 500),
    "zipf": (lambda: workloads.zipf(50_000, 60_000), 1_000),
    "scan": (lambda: workloads.scan_polluted(20_000, 60_000, 10_000, 4_000), 1_000),
    # 240 cache sizes: the window takes about ten to grow to a recency
    # stream's size, LRU none (over the first 60: 0.702 against 0.705).
    "recency": (lambda: workloads.recency(240_000, mean_age=400), 1_000),
    "loop": (lambda: workloads.loop(1_011, 30_000), 200),
    "loop beside a hot set": (lambda: workloads.loop_hot(1_000, 500, 60_000), 500),
    "several programs": (lambda: workloads.multi_loop(60_000), 2_000),
}


def hit_ratio(policy: type[LRU] | type[Engine], trace: list[str], capacity: int) -> float:
    sim = policy(capacity)
    return sum(map(sim.access, trace)) / len(trace)


@pytest.mark.parametrize("kind", CASES)
def test_hits_at_least_as_often_as_lru(kind: str) -> None:
    make, capacity = CASES[kind]
    trace = make()
    assert hit_ratio(Engine, trace, capacity) >= hit_ratio(LRU, trace, capacity)


def test_a_loop_longer_than_the_cache_keeps_most_of_what_fits() -> None:
    # LRU and the previous policy hit nothing: each key is back after 5 cache sizes.
    # theine keeps 0.155 to 0.17 here, the most possible is 0.19. The median of
    # five caches: about one cache in 20 (sketch seed, string hashes) takes
    # most of these 30 passes to settle (a known gap, docs/performance.md).
    trace = workloads.loop(1_011, 30_000)
    ratios = sorted(hit_ratio(Engine, trace, 200) for _ in range(5))
    assert ratios[2] >= 0.12


@pytest.mark.xfail(reason="known gap: old popularity fades too slowly (docs/performance.md)")
def test_a_shifting_working_set_hits_at_least_as_often_as_lru() -> None:
    trace = workloads.shifting(5_000, 60_000, 6_000)
    assert hit_ratio(Engine, trace, 1_000) >= hit_ratio(LRU, trace, 1_000)


def test_a_short_recency_stream_stays_near_lru_while_the_window_grows() -> None:
    # The window starts at a tenth of the cache and grows over about ten cache
    # sizes of requests: 0.702 against LRU's 0.705 over these 60.
    trace = workloads.recency(60_000, mean_age=400)
    assert hit_ratio(Engine, trace, 1_000) >= hit_ratio(LRU, trace, 1_000) - 0.005
