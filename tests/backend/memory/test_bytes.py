"""InMemoryCache(max_bytes=...): a bound on the values' bytes, kept by the eviction policy."""

from __future__ import annotations

import dataclasses
import random
import statistics
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from benchmarks import workloads
from cache._types import MISSING
from cache.backend import CopyingCache, InMemoryCache, JSONSerializer
from cache.backend.memory._record import SIZE
from cache.backend.memory._sizeof import estimate
from cache.errors import CacheTypeError, CacheValueError
from cache.testing import FakeClock
from cache.testing.contract import BackendContract


def _held(cache: InMemoryCache) -> int:
    """Recount the bytes from the records, independently of the running total."""
    return sum(record[SIZE] for record in cache._data.values())


def _check(cache: InMemoryCache) -> None:
    """The bound holds and the running total agrees with the records."""
    info = cache.info()
    assert info["bytes"] == _held(cache) <= info["max_bytes"]
    assert len(cache) <= cache.max_entries


@pytest.fixture
def backend(clock: FakeClock) -> Iterator[InMemoryCache]:
    engine = InMemoryCache(max_entries=100_000, max_bytes=1 << 30, clock=clock)
    yield engine
    _check(engine)
    engine.close()


@pytest.fixture
def advance(clock: FakeClock) -> Callable[[float], None]:
    return clock.advance


class TestBoundedBytesContract(BackendContract):
    """Every protocol method, sync and async, with the bytes counted."""


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_bytes": 0}, CacheValueError, "max_bytes must be at least 1"),
        ({"max_bytes": "1kB"}, CacheTypeError, "max_bytes must be an int"),
        ({"max_bytes": True}, CacheTypeError, "max_bytes must be an int"),
        ({"max_bytes": 100, "sizeof": 5}, CacheTypeError, "sizeof must be callable"),
        ({"sizeof": len}, CacheValueError, "sizeof is used only with max_bytes"),
    ],
)
def test_bad_bounds_are_refused_naming_them(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        InMemoryCache(**kwargs)


@pytest.mark.parametrize("size", [-1, 1.5, "3", None, True])
def test_a_sizeof_returning_no_size_is_an_error_at_set(size: object) -> None:
    cache = InMemoryCache(max_bytes=100, sizeof=lambda value: size)  # type: ignore[arg-type,return-value]
    with pytest.raises(CacheTypeError, match="sizeof must return an int"):
        cache.set("k", b"v")
    assert cache.get("k", MISSING) is MISSING and cache.info()["bytes"] == 0


def test_info_reports_the_bytes_held_when_they_are_bounded() -> None:
    cache = InMemoryCache(max_bytes=1_000, sizeof=len)
    cache.set("a", b"x" * 10)
    cache.set("b", b"x" * 20)
    assert cache.info()["bytes"] == 30 and cache.info()["max_bytes"] == 1_000
    assert "bytes" not in InMemoryCache().info()  # not measured: not reported


def test_a_value_larger_than_the_bound_is_refused_and_nothing_is_lost() -> None:
    cache = InMemoryCache(max_bytes=100, sizeof=len)
    cache.set("big", b"x" * 40)
    cache.set("other", b"y" * 50)
    cache.set_entry("tagged", b"z" * 5, refs=["v1"])
    with pytest.raises(CacheValueError, match=r"101 bytes by sizeof, more than max_bytes=100"):
        cache.set("big", b"x" * 101)
    with pytest.raises(CacheValueError, match="max_bytes"):
        cache.add("new", b"x" * 101)
    with pytest.raises(CacheValueError, match="max_bytes"):
        cache.set_entry("tagged", b"z" * 101, refs=["v2"])
    with pytest.raises(CacheValueError, match="max_bytes"):
        cache.set_many({"fits": b"", "too big": b"x" * 200})
    assert cache.get("big") == b"x" * 40 and cache.get("other") == b"y" * 50
    assert cache.get_entry("tagged").refs == {}  # the refs are kept: v1 is simply absent
    assert cache._refs["tagged"] == ("v1",)
    assert cache.get("new", MISSING) is MISSING and cache.get("too big", MISSING) is MISSING
    assert cache.evictions == 0 and cache.info()["bytes"] == 95 + 0  # 40 + 50 + 5, "fits" is 0
    cache.set("big", b"x" * 100, timeout=0)  # a removal is never refused
    assert cache.get("big", MISSING) is MISSING


def test_a_value_exactly_at_the_bound_evicts_everything_else() -> None:
    cache = InMemoryCache(max_bytes=100, sizeof=len)
    for i in range(10):
        cache.set(f"k{i}", b"x" * 10)
    cache.set("all", b"x" * 100)
    assert list(cache._data) == ["all"] and cache.info()["bytes"] == 100
    assert cache.evictions == 10


def test_growing_a_stored_value_evicts_others_or_itself_but_keeps_the_new_value() -> None:
    cache = InMemoryCache(max_bytes=100, sizeof=len)
    cache.set("a", b"a" * 40)
    cache.set("b", b"b" * 40)
    cache.set("a", b"A" * 70)  # 110 bytes would be held: something must go
    assert cache.get("a") == b"A" * 70
    _check(cache)
    assert cache.get("b", MISSING) is MISSING
    cache.set("a", b"s" * 5)  # shrinking frees the difference
    assert cache.info()["bytes"] == 5


def test_incr_counts_the_size_of_the_new_int() -> None:
    cache = InMemoryCache(max_bytes=1_000)
    assert cache.incr("n") == 1
    assert cache.info()["bytes"] == sys.getsizeof(1)
    assert cache.incr("n", 2**100) == 2**100 + 1
    assert cache.info()["bytes"] == sys.getsizeof(2**100 + 1)
    tiny = InMemoryCache(max_bytes=30)
    tiny.incr("n")
    with pytest.raises(CacheValueError, match="max_bytes"):
        tiny.incr("n", 2**100)
    assert tiny.get("n") == 1  # refused: the counter is unchanged


def test_both_bounds_hold_whichever_is_reached_first() -> None:
    cache = InMemoryCache(max_entries=5, max_bytes=1_000, sizeof=len)
    for i in range(20):
        cache.set(f"small{i}", b"x")
    assert len(cache) == 5 and cache.info()["bytes"] == 5
    for i in range(20):
        cache.set(f"large{i}", b"x" * 300)
    large = [key for key in cache._data if key.startswith("large")]
    assert 1 <= len(large) <= 3 and "large19" in large  # three of 300 bytes at most
    assert len(cache) <= 5 and cache.info()["bytes"] <= 1_000


def test_keys_read_often_outlive_a_stream_of_one_off_values() -> None:
    """Byte pressure evicts by the same policy: a scan does not flush the hot keys."""
    cache = InMemoryCache(max_bytes=10_000, sizeof=len)
    hot = [f"hot{i}" for i in range(20)]
    for round_ in range(50):
        for key in hot:
            if cache.get(key) is None:
                cache.set(key, b"h" * 100)
        for i in range(20):
            cache.set(f"scan{round_}:{i}", b"s" * 200)
    assert sum(cache.get(key) is not None for key in hot) >= 18
    assert cache.evictions > 0
    _check(cache)


def test_churn_never_exceeds_the_bound_and_the_count_returns_to_zero(clock: FakeClock) -> None:
    rng = random.Random(15)
    cache = InMemoryCache(max_entries=300, max_bytes=20_000, sizeof=len, clock=clock)
    keys = [f"k{i}" for i in range(500)]
    for step in range(20_000):
        key, roll = rng.choice(keys), rng.random()
        size = int(rng.paretovariate(1.2) * 40) % 25_000
        try:
            if roll < 0.55:
                cache.set(key, b"v" * size, timeout=rng.choice([None, 1, 5, 60, 0]))
            elif roll < 0.65:
                cache.add(key, b"a" * size, timeout=rng.choice([None, 2]))
            elif roll < 0.75:
                cache.delete(key)
            elif roll < 0.8:
                cache.touch(key, rng.choice([None, 1, 0]))
            elif roll < 0.85:
                cache.set_entry(key, b"e" * size, timeout=3, refs=[rng.choice(keys)])
            else:
                cache.get(key)
        except CacheValueError:
            assert size > 20_000  # refused only when larger than the bound
        if step % 50 == 0:
            clock.advance(0.5)
            _check(cache)
        if step % 5_000 == 4_999:
            cache.cleanup_expired()
            _check(cache)
    assert cache.evictions > 0
    clock.advance(61)
    cache.cleanup_expired()
    for key in list(cache._data):
        cache.delete(key)
    assert cache.info()["bytes"] == 0 and len(cache) == 0
    cache.set("again", b"x" * 10)
    cache.clear()
    assert cache.info()["bytes"] == 0


def test_expired_entries_read_after_their_deadline_give_their_bytes_back(
    clock: FakeClock,
) -> None:
    cache = InMemoryCache(max_bytes=1_000, sizeof=len, clock=clock)
    cache.set("a", b"x" * 100, timeout=1)
    cache.set_many({"b": b"x" * 10, "c": b"x" * 10}, timeout=1)
    clock.advance(2)
    assert cache.get("a", MISSING) is MISSING and cache.get_many(["b", "c"]) == {}
    assert cache.info()["bytes"] == 0


def test_writers_in_threads_keep_the_bound() -> None:
    cache = InMemoryCache(max_bytes=50_000, sizeof=len)

    def write(seed: int) -> None:
        rng = random.Random(seed)
        for i in range(5_000):
            key = f"k{rng.randrange(400)}"
            if rng.random() < 0.2:
                cache.delete(key)
            else:
                cache.set(key, b"x" * rng.randrange(2_000), timeout=None if i % 3 else 60)
            assert cache._bytes <= 50_000

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check(cache)


def test_with_copies_the_size_is_the_encoded_length() -> None:
    engine = InMemoryCache(max_bytes=10_000)
    cache = CopyingCache(engine, JSONSerializer())
    cache.set("doc", {"title": "x" * 100, "tags": ["a", "b"]})
    encoded = JSONSerializer().dumps({"title": "x" * 100, "tags": ["a", "b"]})
    assert engine.info()["bytes"] == sys.getsizeof(encoded) == len(encoded) + 33


@dataclasses.dataclass
class _Point:
    x: float
    label: str


class _Slotted:
    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


def test_the_default_estimate_walks_what_a_value_holds() -> None:
    words = ["w" * 1_000 for _ in range(10)]
    assert estimate(words) >= sys.getsizeof(words) + 10 * 1_000
    assert estimate({"k": words}) > estimate(words)
    assert estimate(_Point(1.5, "p" * 500)) > 500
    assert estimate(_Slotted(b"b" * 800)) > 800
    cycle: list[Any] = []
    cycle.append(cycle)
    assert estimate(cycle) == sys.getsizeof(cycle)  # each object once: no endless walk
    assert estimate(estimate) == sys.getsizeof(estimate)  # a function is not walked
    assert estimate(b"x" * 50) == sys.getsizeof(b"x" * 50)


def _hit_ratio(cache: InMemoryCache, trace: list[str]) -> float:
    hits = 0
    for key in trace:
        if cache.get(key) is None:
            cache.set(key, b"x" * 100)
        else:
            hits += 1
    return hits / len(trace)


@pytest.mark.parametrize(
    ("trace", "entries", "runs"),
    [
        (workloads.zipf(50_000, 40_000), 1_000, 3),
        (workloads.scan_polluted(20_000, 40_000, 10_000, 4_000), 1_000, 3),
        (workloads.loop(1_011, 20_000), 200, 7),
    ],
    ids=["zipf", "scan", "loop"],
)
def test_a_bound_in_bytes_hits_as_often_as_the_same_bound_in_entries(
    trace: list[str], entries: int, runs: int
) -> None:
    """Values of one size: ``max_bytes`` for N of them keeps what ``max_entries=N`` keeps.

    The median of several caches each (several seeds): on a loop a single
    cache settles late about one time in twelve, so seven there.
    """
    by_entries = statistics.median(_hit_ratio(InMemoryCache(entries), trace) for _ in range(runs))
    by_bytes = statistics.median(
        _hit_ratio(InMemoryCache(max_bytes=entries * 100, sizeof=len), trace) for _ in range(runs)
    )
    assert by_bytes >= by_entries - 0.03
