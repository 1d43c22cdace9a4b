"""The shipped eviction policy and its frequency sketch, driven as the engine drives them."""

from __future__ import annotations

from benchmarks import workloads
from cache.backend.memory._record import FREQ, KEY, SLOT, Record
from cache.backend.memory._sketch import FrequencySketch
from cache.backend.memory._tinylfu import WindowTinyLFU

SMALL, PROBATION, PROTECTED = 0, 1, 2


def record(key: str, expires: float | None = None) -> Record:
    return [key, expires, 0, key, None]


def admit(policy: WindowTinyLFU, *keys: str) -> list[Record]:
    records = [record(k) for k in keys]
    for r in records:
        policy.admit(r)
    return records


def evict(policy: WindowTinyLFU, now: float = 0.0) -> str:
    """Take a victim and remove it, as the engine does; return its key."""
    victim = policy.victim(now)
    policy.forget(victim)
    return str(victim[KEY])


def fill(policy: WindowTinyLFU, keys: list[str]) -> dict[str, Record]:
    """Insert keys as the engine does: evict first when full."""
    held: dict[str, Record] = {}
    for key in keys:
        if len(held) >= policy.capacity:
            del held[evict(policy)]
        (held[key],) = admit(policy, key)
    return held


def test_sketch_counts_caps_at_fifteen_and_halves_with_age() -> None:
    sketch = FrequencySketch(64, seed=1)
    for _ in range(3):
        sketch.add("a")
    assert sketch.frequency("a") >= 3
    assert sketch.frequency("never") <= 1  # a collision at most
    sketch.add("a", 40)
    assert sketch.frequency("a") == 15
    for i in range(10 * 64):  # one sample of additions: every counter halves
        sketch.add(f"other{i}")
    assert sketch.frequency("a") <= 8


def test_sketch_rows_depend_on_a_seed_drawn_per_sketch() -> None:
    a, b = FrequencySketch(1_000), FrequencySketch(1_000)
    keys = [f"k{i}" for i in range(200)]
    assert [a._slots(k) for k in keys] != [b._slots(k) for k in keys]
    assert [FrequencySketch(1_000, seed=7)._slots(k) for k in keys] == [
        FrequencySketch(1_000, seed=7)._slots(k) for k in keys
    ]


def test_new_keys_wait_in_the_small_queue_and_the_cache_fills_the_main_area() -> None:
    policy = WindowTinyLFU(10, seed=1)
    held = fill(policy, [f"k{i}" for i in range(11)])
    assert len(held) == 10
    assert policy._lens[SMALL] + policy._lens[PROBATION] == 10
    assert policy._lens[PROBATION] >= 8  # moved out of the small queue, no contest


def test_a_hit_in_the_small_queue_promotes_to_protected() -> None:
    policy = WindowTinyLFU(10, seed=1)
    held = fill(policy, [f"k{i}" for i in range(10)])
    held["k0"][FREQ] = 1
    assert evict(policy) != "k0"
    assert held["k0"][SLOT] == PROTECTED


def test_a_frequent_key_is_kept_against_a_stream_of_one_off_keys() -> None:
    policy = WindowTinyLFU(50, seed=3)
    held: dict[str, Record] = {}
    for i in range(5_000):
        key = "hot" if i % 5 == 0 else f"once{i}"
        if key in held:
            held[key][FREQ] += 1  # a hit, as InMemoryCache.get counts it
            continue
        if len(held) >= policy.capacity:
            del held[evict(policy)]
        (held[key],) = admit(policy, key)
    assert "hot" in held


def _loop_hit_ratio(seed: int) -> float:
    policy = WindowTinyLFU(100, seed=seed)
    held: dict[str, Record] = {}
    hits = 0
    for i in range(30_000):
        key = f"loop{i % 300}"
        if key in held:
            held[key][FREQ] += 1
            hits += 1
            continue
        if len(held) >= policy.capacity:
            del held[evict(policy)]
        (held[key],) = admit(policy, key)
    return hits / 30_000


def test_a_loop_longer_than_the_cache_keeps_part_of_it() -> None:
    # LRU and FIFO hit nothing here: each key comes back after 3 cache sizes.
    # How fast a loop settles depends on the sketch's seed and on the process's
    # string hashing (about 1 cache in 12 settles late): the median of seven.
    ratios = sorted(_loop_hit_ratio(seed) for seed in range(7))
    assert ratios[3] > 0.15  # the best possible is about 100/300


def test_an_expired_record_is_taken_before_a_colder_live_one() -> None:
    policy = WindowTinyLFU(10, seed=1)
    short = record("short", expires=5.0)
    policy.admit(short)
    admit(policy, "live")
    short[FREQ] = 3  # hot, but dead by the deadline
    assert evict(policy, now=10.0) == "short"


def test_forgotten_records_are_compacted_out_of_the_queues() -> None:
    policy = WindowTinyLFU(1_000)
    for i in range(50_000):
        (r,) = admit(policy, f"k{i}")
        policy.forget(r)
    assert sum(map(len, policy._queues)) <= 64


def test_clear_forgets_records_counts_and_ghosts() -> None:
    policy = WindowTinyLFU(10, seed=1)
    fill(policy, [f"k{i}" for i in range(30)])
    policy.clear()
    assert policy._lens == [0, 0, 0]
    assert not policy._turned_away and not policy._evicted and policy._returns == 0.0
    (again,) = admit(policy, "k0")
    assert again[SLOT] == SMALL
    assert evict(policy) == "k0"


def _drive(policy: WindowTinyLFU, trace: list[str]) -> None:
    """Get-then-set on a miss, as the engine does, hits counted on the record."""
    held: dict[str, Record] = {}
    for key in trace:
        if key in held:
            held[key][FREQ] += 1
            continue
        if len(held) >= policy.capacity:
            del held[evict(policy)]
        (held[key],) = admit(policy, key)


def test_the_window_grows_for_a_recency_stream_and_stays_small_for_a_loop() -> None:
    recency = WindowTinyLFU(500, seed=1)
    _drive(recency, workloads.recency(40_000, mean_age=200))
    assert recency._window == 250  # at its bound, half the cache
    loop = WindowTinyLFU(500, seed=1)
    _drive(loop, workloads.loop(1_011, 40_000))
    assert loop._window == 50  # at its floor: a loop's keys come back known to the sketch
    zipf = WindowTinyLFU(500, seed=1)
    _drive(zipf, workloads.zipf(20_000, 40_000))
    assert zipf._window < 100
