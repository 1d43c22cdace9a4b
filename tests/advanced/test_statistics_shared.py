"""CacheStatistics: latency percentiles, windows of counts, and counts shared by workers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from cache.advanced import CacheStatistics
from cache.advanced.prometheus import PrometheusRecorder
from cache.advanced.statistics import BOUNDS, percentile, summarize
from cache.backend import CacheBackend, InMemoryCache
from cache.testing import FakeClock


def test_percentiles_of_hits_and_misses(clock: FakeClock) -> None:
    stats = CacheStatistics(clock=clock)
    for n in range(1, 101):  # hits of 0.01 ms to 1 ms, misses of 1 ms to 100 ms
        stats.record_hit(n * 0.00001)
        stats.record_miss(n * 0.001)
    figures = stats.get_stats()
    # Within a bucket's width (a factor of 1.6) of the exact figures.
    assert 0.5 / 1.6 < figures["hit_p50_ms"] < 0.5 * 1.6
    assert 0.95 / 1.6 < figures["hit_p95_ms"] < 0.95 * 1.6
    assert 99 / 1.6 < figures["miss_p99_ms"] < 99 * 1.6
    assert figures["hit_p50_ms"] < figures["hit_p95_ms"] <= figures["hit_p99_ms"]
    assert figures["avg_hit_time_ms"] == pytest.approx(0.505)


def test_untimed_records_are_counted_but_left_out_of_latencies(clock: FakeClock) -> None:
    stats = CacheStatistics(clock=clock)
    for _ in range(9):
        stats.record_hit()  # an adapter that does not time its hits
    stats.record_hit(0.002)
    figures = stats.get_stats()
    assert figures["hits"] == 10
    assert figures["avg_hit_time_ms"] == 2.0  # the one timed hit, not 0.2
    assert 1.0 < figures["hit_p50_ms"] <= 2.6
    prometheus = PrometheusRecorder()
    prometheus.record_hit()
    prometheus.record_hit(0.001)
    assert (
        prometheus.registry.get_sample_value("cache_latency_seconds_count", {"result": "hit"})
        == 1.0
    )
    assert prometheus.registry.get_sample_value("cache_requests_total", {"result": "hit"}) == 2.0


def test_percentile_edges() -> None:
    assert percentile({}, "hit", 0.5) == 0.0
    slow = {f"miss_b{len(BOUNDS)}": 3}  # slower than the last bound
    assert percentile(slow, "miss", 0.99) == BOUNDS[-1]
    window = summarize({"hits": 3, "misses": 1}, seconds=2.0)
    assert window["hit_rate"] == 75.0 and window["requests_per_second"] == 2.0
    assert summarize({}, seconds=0.0)["requests_per_second"] == 0.0


def test_tracked_counts_are_in_the_totals(clock: FakeClock) -> None:
    stats = CacheStatistics(clock=clock)
    outcomes: Counter[str] = Counter({"post:hit": 2})
    stats.track("http", lambda: outcomes)
    outcomes["post:miss"] += 1
    assert stats.totals()["http:post:hit"] == 2 and stats.totals()["http:post:miss"] == 1


@pytest.fixture
def workers(clock: FakeClock) -> Iterator[list[CacheStatistics]]:
    made = [CacheStatistics(clock=clock, wall=lambda: 1_700_000_000.0) for _ in range(2)]
    yield made
    for stats in made:
        stats.close()


def test_workers_counts_add_up_in_the_backend(
    backend: CacheBackend, workers: list[CacheStatistics]
) -> None:
    first, second = workers
    outcomes: list[Counter[str]] = [Counter(), Counter()]
    for stats, counts in zip(workers, outcomes, strict=True):
        stats.track("http", lambda counts=counts: counts)  # type: ignore[misc]
    for _ in range(3):
        first.record_hit(0.001)
        outcomes[0]["post:hit"] += 1
    second.record_hit(0.001)
    second.record_miss(0.05)
    outcomes[1]["post:miss"] += 1
    outcomes[1]["author:hit"] += 1
    first.push(backend, "web")
    second.push(backend, "web")
    second.push(backend, "web")  # nothing new: adds nothing
    totals = CacheStatistics.shared_totals(backend, "web")
    assert (totals["hits"], totals["misses"]) == (4, 1)
    assert totals["http:post:hit"] == 3 and totals["http:post:miss"] == 1
    assert totals["http:author:hit"] == 1
    assert sum(totals[f"hit_b{i}"] for i in range(len(BOUNDS) + 1)) == 4
    shared = CacheStatistics.shared_stats(backend, "web")
    assert shared["hit_rate"] == 80.0 and shared["avg_hit_time_ms"] == 1.0
    assert CacheStatistics.shared_workers(backend, "web", now=1_700_000_001.0) == 2
    each = CacheStatistics.worker_totals(backend, "web", now=1_700_000_001.0)
    assert each[first.worker]["hits"] == 3 and each[second.worker]["misses"] == 1
    assert each[second.worker]["http:author:hit"] == 1  # one worker, on request
    assert CacheStatistics.shared_workers(backend, "web", now=1_700_000_100.0) == 0  # gone quiet
    assert first.shared == (backend, "web")
    assert CacheStatistics().shared is None  # alone, it counts this process only


def test_share_pushes_now_and_close_pushes_the_rest(
    backend: CacheBackend, workers: list[CacheStatistics]
) -> None:
    stats = workers[0]
    stats.record_hit(0.001)
    stats.share(backend, "app", every=3600)  # the thread would push again in an hour
    assert CacheStatistics.shared_stats(backend, "app")["hits"] == 1
    stats.record_miss(0.001)
    stats.close()
    assert CacheStatistics.shared_stats(backend, "app")["misses"] == 1


def test_a_reset_does_not_push_the_tracked_counts_twice(
    backend: CacheBackend, workers: list[CacheStatistics]
) -> None:
    stats = workers[0]
    outcomes: Counter[str] = Counter({"post:hit": 5})
    stats.track("http", lambda: outcomes)
    stats.record_hit(0.001)
    stats.push(backend, "web")
    stats.reset()  # the statistics' own counts restart; the middleware's do not
    stats.record_hit(0.001)
    stats.push(backend, "web")
    totals = CacheStatistics.shared_totals(backend, "web")
    assert totals["hits"] == 2 and totals["http:post:hit"] == 5


class _Failing(InMemoryCache):
    """An engine whose increments fail after ``allowed`` of them."""

    def __init__(self, allowed: int) -> None:
        super().__init__()
        self.allowed = allowed

    def incr(self, key: str, delta: int = 1) -> int:
        self.allowed -= 1
        if self.allowed < 0:
            raise ConnectionError("the backend is down")
        return super().incr(key, delta)


def test_a_failing_periodic_push_is_logged_once_and_closing_does_not_raise(
    caplog: pytest.LogCaptureFixture, workers: list[CacheStatistics]
) -> None:
    stats = workers[0]
    stats.record_hit(0.001)
    backend = _Failing(allowed=100)
    stats.share(backend, "web", every=0.01)
    backend.allowed = 0
    for _ in range(500):
        stats.record_hit(0.001)  # something new to push, which fails
        if "pushing statistics" in caplog.text:
            break
        threading.Event().wait(0.01)
    stats.close()
    assert caplog.text.count("pushing statistics to 'web' failed") == 1
    assert "the last push of statistics failed" in caplog.text
