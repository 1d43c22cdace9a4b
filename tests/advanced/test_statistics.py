"""CacheStatistics and the instrumented wrapper."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from cache.advanced import CacheStatistics, InstrumentedCache
from cache.backend import CacheBackend, InMemoryCache
from cache.errors import CacheTypeError, CacheValueError
from cache.testing import FakeClock
from cache.testing.contract import BackendContract
from tests.backend.test_proxy import METHODS, call, seed


def test_spec_example(clock: FakeClock) -> None:
    stats = CacheStatistics(clock=clock)
    stats.record_hit(duration=0.001)
    stats.record_miss(duration=0.01)
    stats.record_set()
    stats.record_delete()
    result = stats.get_stats()
    assert result["hit_rate"] == 50.0
    assert result["avg_hit_time_ms"] == 1.0
    assert result["avg_miss_time_ms"] == 10.0
    assert (result["hits"], result["misses"], result["sets"], result["deletes"]) == (1, 1, 1, 1)
    assert result["requests_per_second"] == 2.0  # two requests in the first second
    stats.reset()
    assert stats.get_stats()["hits"] == 0
    assert stats.get_stats()["hit_rate"] == 0.0


def test_requests_per_second_is_over_the_recent_window(clock: FakeClock) -> None:
    stats = CacheStatistics(window=60, clock=clock)
    for _ in range(60):
        for _ in range(3):
            stats.record_hit()
        clock.advance(1)
    assert stats.get_stats()["requests_per_second"] == pytest.approx(3.0, rel=0.05)
    assert stats.get_stats()["uptime_seconds"] == 60.0
    clock.advance(120)  # quiet for two windows
    assert stats.get_stats()["requests_per_second"] == 0.0
    assert stats.get_stats()["hits"] == 180


def test_concurrent_recording_loses_no_count() -> None:
    stats = CacheStatistics()

    def record() -> None:
        for _ in range(5_000):
            stats.record_hit(0.0001)
            stats.record_miss()
            stats.record_set()

    threads = [threading.Thread(target=record) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = stats.get_stats()
    assert (result["hits"], result["misses"], result["sets"]) == (40_000, 40_000, 40_000)


@pytest.mark.parametrize(
    ("bad", "error"),
    [(-1, CacheValueError), ("fast", CacheTypeError), (float("nan"), CacheValueError)],
)
def test_bad_duration(bad: object, error: type[Exception]) -> None:
    stats = CacheStatistics()
    with pytest.raises(error, match="duration"):
        stats.record_hit(duration=bad)  # type: ignore[arg-type]
    assert stats.get_stats()["hits"] == 0


def test_a_wired_cache_records_without_manual_calls(backend: CacheBackend) -> None:
    stats = CacheStatistics()
    cache = InstrumentedCache(backend, stats)
    cache.set("a", 1)
    cache.set_many({"b": 2, "c": 3})
    assert cache.get("a") == 1
    assert cache.get("zz") is None
    assert cache.get_many(["b", "zz"]) == {"b": 2}
    assert cache.add("a", 5) is False
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    result = stats.get_stats()
    assert (result["hits"], result["misses"], result["sets"], result["deletes"]) == (2, 2, 3, 1)
    assert result["hit_rate"] == 50.0


async def test_a_wired_cache_records_async_calls(backend: CacheBackend) -> None:
    stats = CacheStatistics()
    cache = InstrumentedCache(backend, stats)
    await cache.aset("a", 1)
    assert await cache.aget("a") == 1
    assert await cache.aget("b") is None
    assert await cache.adelete("a") is True
    result = stats.get_stats()
    assert (result["hits"], result["misses"], result["sets"], result["deletes"]) == (1, 1, 1, 1)


class _Tally:
    """A recorder that lists what it was told."""

    def __init__(self) -> None:
        self.records: list[str] = []

    def record_hit(self, duration: float = 0.0) -> None:
        self.records.append("hit")

    def record_miss(self, duration: float = 0.0) -> None:
        self.records.append("miss")

    def record_set(self) -> None:
        self.records.append("set")

    def record_delete(self) -> None:
        self.records.append("delete")

    def record_stale(self) -> None:
        self.records.append("stale")

    def record_error(self) -> None:
        self.records.append("error")


def test_every_method_of_the_protocol_is_recorded_or_listed_as_not_recorded() -> None:
    recorded = {name for name in METHODS if name in vars(InstrumentedCache)}
    unlisted = set(METHODS) - recorded - InstrumentedCache.NOT_RECORDED
    assert unlisted == set(), "record these in InstrumentedCache or list them in NOT_RECORDED"
    assert recorded & InstrumentedCache.NOT_RECORDED == set()
    assert set(METHODS) >= InstrumentedCache.NOT_RECORDED  # no stale names


@pytest.mark.parametrize("name", METHODS)
async def test_a_recorded_method_records_and_the_others_do_not(name: str) -> None:
    engine = InMemoryCache()
    seed(engine)
    tally = _Tally()
    await call(InstrumentedCache(engine, tally), name)
    if name in InstrumentedCache.NOT_RECORDED:
        assert tally.records == []
    else:
        assert tally.records != [], f"{name} recorded nothing"


@pytest.fixture
def instrumented(clock: FakeClock) -> Iterator[CacheBackend]:
    engine = InMemoryCache(max_entries=100_000, clock=clock)
    yield InstrumentedCache(engine, CacheStatistics(clock=clock))
    engine.close()


class TestInstrumentedContract(BackendContract):
    """The whole contract holds through the recording wrapper."""

    @pytest.fixture
    def backend(self, instrumented: CacheBackend) -> CacheBackend:
        return instrumented

    @pytest.fixture
    def advance(self, clock: FakeClock) -> Callable[[float], None]:
        return clock.advance
