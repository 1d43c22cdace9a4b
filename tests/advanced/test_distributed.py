"""Several real processes sharing one server: one refresh, one fill, one warm per tick.

Each test runs on Redis, then on Valkey (issue 16).
"""

from __future__ import annotations

import datetime
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
import redis

from cache.advanced import CacheStatistics, StaleWhileRevalidateCache
from cache.backend import RedisCache
from cache.testing.redis_server import RedisServer
from tests import distributed_workers as workers
from tests.server_kinds import SERVERS, session_server

PROCESSES = 4


@pytest.fixture(params=SERVERS)
def redis_server(request: pytest.FixtureRequest, redis_server: RedisServer) -> RedisServer:
    """The session Redis server, then the session Valkey server."""
    return session_server(request, str(request.param), redis_server)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(
        PROCESSES, mp_context=multiprocessing.get_context("spawn")
    ) as executor:
        assert all(executor.map(workers.ready, range(PROCESSES)))  # started and imported
        yield executor


def _together(pool: ProcessPoolExecutor, fn: object, *args: object) -> list[object]:
    start_at = time.time() + 0.5
    futures = [pool.submit(fn, *args, start_at, pid) for pid in range(PROCESSES)]  # type: ignore[arg-type]
    return [f.result(timeout=60) for f in futures]


def test_stale_entry_is_refreshed_once_across_processes(
    pool: ProcessPoolExecutor, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    cache = RedisCache(redis_server.url)
    past = StaleWhileRevalidateCache(cache, clock=lambda: time.time() - 30)
    past.get_with_swr("feed", lambda: "old", timeout=10, stale_timeout=600)  # stale for 580 s now
    past.close()
    results = _together(pool, workers.read_with_swr, redis_server.url, "feed")
    assert results == [("old", True)] * PROCESSES  # nobody waited
    assert int(redis_client.get("calls")) == 1  # one refresh in all processes
    refreshed, stale = StaleWhileRevalidateCache(cache).get_with_swr("feed", lambda: "x", 10, 600)
    assert refreshed.startswith("from-") and stale is False
    cache.close()


def test_cold_miss_runs_the_generator_once_across_processes(
    pool: ProcessPoolExecutor, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    results = _together(pool, workers.read_with_swr, redis_server.url, "cold")
    assert int(redis_client.get("calls")) == 1
    values = {value for value, _ in results}  # type: ignore[misc]
    assert len(values) == 1  # everyone got the one generated value
    assert all(stale is False for _, stale in results)  # type: ignore[misc]


def test_a_scheduled_tick_is_warmed_by_one_process(
    pool: ProcessPoolExecutor, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    tick = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc).timestamp()
    ran = list(
        pool.map(workers.warm_scheduled_tick, [redis_server.url] * PROCESSES, [tick] * PROCESSES)
    )
    assert sorted(map(len, ran)) == [0, 0, 0, 1]
    assert int(redis_client.get("warm_calls")) == 1


def test_statistics_aggregate_across_processes(
    pool: ProcessPoolExecutor, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    hits, misses = [10, 20, 30, 40], [5, 5, 5, 5]
    list(pool.map(workers.record_and_push, [redis_server.url] * PROCESSES, hits, misses))
    cache = RedisCache(redis_server.url)
    shared = CacheStatistics.shared_stats(cache, group="web")
    assert (shared["hits"], shared["misses"]) == (100, 20)
    assert shared["hit_rate"] == 83.33
    assert shared["avg_hit_time_ms"] == pytest.approx(1.0, abs=0.01)
    assert shared["avg_miss_time_ms"] == pytest.approx(10.0, abs=0.01)
    cache.close()


@pytest.mark.parametrize("worker", [workers.call_cached, workers.acall_cached])
def test_a_cached_function_misses_once_across_processes(
    pool: ProcessPoolExecutor,
    redis_server: RedisServer,
    redis_client: redis.Redis,
    worker: object,
) -> None:
    results = _together(pool, worker, redis_server.url)
    assert int(redis_client.get("decorated_calls")) == 1  # one call in all processes
    assert len(set(results)) == 1  # everyone got the one stored result
