"""InMemoryCache: the backend contract plus what only the embedded engine promises."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from cache._types import MISSING
from cache.backend import DEFAULT_MAX_ENTRIES, InMemoryCache
from cache.errors import CacheTypeError, CacheValueError, InvalidTimeoutError
from cache.testing import FakeClock
from cache.testing.contract import BackendContract


@pytest.fixture
def backend(clock: FakeClock) -> Iterator[InMemoryCache]:
    engine = InMemoryCache(max_entries=100_000, clock=clock)
    yield engine
    engine.close()


@pytest.fixture
def advance(clock: FakeClock) -> Callable[[float], None]:
    return clock.advance


class TestInMemoryContract(BackendContract):
    """Every protocol method, sync and async, on the embedded engine."""


def test_defaults_are_documented_values() -> None:
    cache = InMemoryCache()
    assert cache.max_entries == DEFAULT_MAX_ENTRIES == 10_000
    assert cache.default_timeout is None


def test_default_timeout_applies_when_timeout_is_none(clock: FakeClock) -> None:
    cache = InMemoryCache(default_timeout=10, clock=clock)
    cache.set("k", 1)
    cache.set("explicit", 1, timeout=100)
    cache.incr("n")
    clock.advance(11)
    assert cache.get("k", MISSING) is MISSING
    assert cache.get("n", MISSING) is MISSING
    assert cache.get("explicit") == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_entries": 0}, CacheValueError, "max_entries"),
        ({"max_entries": "10"}, CacheTypeError, "max_entries"),
        ({"max_entries": True}, CacheTypeError, "max_entries"),
        ({"default_timeout": 0}, InvalidTimeoutError, "default_timeout"),
        ({"default_timeout": -5}, InvalidTimeoutError, "default_timeout"),
        ({"default_timeout": "1h"}, CacheTypeError, "default_timeout"),
        ({"sweep_interval": 0}, CacheValueError, "sweep_interval"),
    ],
)
def test_bad_construction_names_the_argument(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        InMemoryCache(**kwargs)  # type: ignore[arg-type]


def test_values_are_stored_by_reference() -> None:
    cache = InMemoryCache()
    value = [1]
    cache.set("k", value)
    value.append(2)
    assert cache.get("k") == [1, 2]
    assert cache.get("k") is value


def test_bound_is_never_exceeded() -> None:
    cache = InMemoryCache(max_entries=50)
    for i in range(1_000):
        cache.set(f"k{i}", i)
        assert len(cache) <= 50
    assert len(cache) == 50
    assert cache.evictions == 950


def test_max_entries_of_one() -> None:
    cache = InMemoryCache(max_entries=1)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get_many(["a", "b"]) == {"b": 2}


def test_hot_key_survives_a_scan_of_one_off_keys() -> None:
    cache = InMemoryCache(max_entries=100)
    cache.set("hot", "h")
    for i in range(10_000):
        if i % 10 == 0:
            assert cache.get("hot") == "h", f"evicted after {i} one-off keys"
        cache.set(f"scan:{i}", i)
    assert cache.get("hot") == "h"


def test_lru_like_recency_still_hits_after_churn() -> None:
    # A key re-read soon after its eviction comes back through the ghost list
    # into the main area and stays, where plain FIFO would drop it again.
    cache = InMemoryCache(max_entries=10)
    for i in range(10):
        cache.set(f"k{i}", i)
    for i in range(10, 20):
        cache.set(f"k{i}", i)  # k0..k9 pushed out, unread: they are ghosts now
    cache.set("k0", 0)
    for i in range(20, 30):
        cache.set(f"k{i}", i)
        cache.get("k0")
    assert cache.get("k0") == 0


def test_expired_entries_are_reclaimed_first_by_eviction(clock: FakeClock) -> None:
    cache = InMemoryCache(max_entries=10, clock=clock)
    for i in range(5):
        cache.set(f"short{i}", i, timeout=1)
    for i in range(5):
        cache.set(f"long{i}", i)
        cache.get(f"long{i}")
    clock.advance(2)
    for i in range(5):
        cache.set(f"new{i}", i)
    assert cache.evictions == 0  # only expired entries made room
    assert all(cache.get(f"long{i}") == i for i in range(5))


def test_cleanup_expired_counts(clock: FakeClock) -> None:
    cache = InMemoryCache(clock=clock)
    for i in range(7):
        cache.set(f"e{i}", i, timeout=5)
    cache.set("stay", 1)
    clock.advance(4)
    assert cache.cleanup_expired() == 0
    clock.advance(2)
    assert cache.cleanup_expired() == 7
    assert len(cache) == 1


def test_delete_churn_does_not_grow_queues() -> None:
    cache = InMemoryCache(max_entries=1_000)
    for i in range(50_000):
        cache.set(f"k{i}", i)
        cache.delete(f"k{i}")
    assert len(cache) == 0
    policy = cache._policy
    assert sum(map(len, policy._queues)) <= 64  # dead entries were compacted


def test_background_sweeper_removes_expired(clock: FakeClock) -> None:
    cache = InMemoryCache(clock=clock, sweep_interval=0.01)
    try:
        cache.set("k", 1, timeout=1)
        clock.advance(2)
        deadline = time.monotonic() + 5
        while len(cache) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(cache) == 0
    finally:
        cache.close()


def test_threads_hammering_keep_counts_and_bound() -> None:
    cache = InMemoryCache(max_entries=500)
    errors: list[BaseException] = []
    stop = threading.Event()
    sizes: list[int] = []

    def worker(n: int) -> None:
        try:
            for i in range(3_000):
                cache.set(f"w{n}:{i % 700}", i)
                cache.get(f"w{(n + 1) % 4}:{i % 700}")
                cache.incr("total")
                cache.add(f"once:{i % 50}", n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def watch() -> None:
        while not stop.wait(0.0005):
            sizes.append(len(cache))

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert errors == []
    assert max(sizes) <= 500
    # "total" is hot (read-modify-written 12,000 times) so it is never evicted.
    assert cache.get("total") == 12_000
