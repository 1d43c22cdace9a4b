"""Two workers over one Redis: the dashboard and /metrics show their sum, or one on request."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from cache.advanced import CacheStatistics
from cache.backend import RedisCache
from cache.testing import FakeClock
from cache.testing.redis_server import RedisServer
from cache.web.dashboard import Dashboard
from cache.web.metrics import MetricsEndpoint
from tests.web.app import build


class Worker:
    """One worker process's objects: its engine, middleware, statistics, dashboard, /metrics."""

    def __init__(self, url: str, clock: FakeClock) -> None:
        self.cache = RedisCache(url, strict=True)
        self.app, self.middleware = build(self.cache, clock)
        self.stats = CacheStatistics()
        self.middleware.manager.stats = self.stats
        self.dashboard = Dashboard(self.middleware)
        self.site = Starlette(
            routes=[
                Mount("/dashboard", self.dashboard),
                Route("/metrics", MetricsEndpoint(self.middleware)),
                Mount("/", self.middleware),
            ]
        )

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.site)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def close(self) -> None:
        self.dashboard.close()
        self.stats.close()
        self.cache.close()


@pytest.fixture
def workers(
    redis_server: RedisServer, redis_client: redis.Redis, clock: FakeClock
) -> Iterator[list[Worker]]:
    made = [Worker(redis_server.url, clock), Worker(redis_server.url, clock)]
    yield made
    for worker in made:
        worker.close()


async def _get(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


async def test_stats_json_and_metrics_show_every_worker_and_one_on_request(
    workers: list[Worker],
) -> None:
    first, second = workers
    async with first.client() as a, second.client() as b:
        for _ in range(3):
            await _get(a, "/page/x")  # a miss, then two hits
        for _ in range(2):
            await _get(b, "/page/x")  # two hits: stored by the first
        await _get(b, "/api/y")  # a miss
        for worker in workers:  # each worker pushes its counts (share() does it periodically)
            worker.stats.push(worker.cache, "web")
        first.dashboard.sample()
        both = (await a.get("/dashboard/stats.json")).json()
        assert both["view"] == "deployment" and both["group"] == "web" and both["workers"] == 2
        assert (both["totals"]["hits"], both["totals"]["misses"]) == (4, 2)
        assert both["types"]["page"]["hit"] == 4 and both["types"]["api"]["miss"] == 1
        rows = {row["worker"]: row for row in both["per_worker"]}
        assert rows[first.stats.worker]["total_requests"] == 3
        assert rows[second.stats.worker]["total_requests"] == 3
        assert rows[second.stats.worker]["hit_rate"] == pytest.approx(66.67)
        mine = (await a.get("/dashboard/stats.json?worker=this")).json()
        assert mine["view"] == "worker" and mine["workers"] == 1
        assert (mine["totals"]["hits"], mine["totals"]["misses"]) == (2, 1)
        assert "api" not in mine["types"]
        metrics = (await a.get("/metrics")).text
        assert "cache_hits_total 4.0" in metrics and "cache_misses_total 2.0" in metrics
        assert 'cache_http_requests_total{content_type="page",outcome="hit"} 4.0' in metrics
        this = (await a.get("/metrics?worker=this")).text
        assert "cache_hits_total 2.0" in this and "cache_misses_total 1.0" in this
        # A marker made on one worker's dashboard shows on the other's.
        await a.post("/dashboard/invalidate", json={"kind": "tag", "value": "pages"})
        events = (await b.get("/dashboard/stats.json")).json()["events"]
        assert [(e["kind"], e["value"]) for e in events] == [("tag", "pages")]
        # The CLI reads the same counters (cache stats --group web).
        assert CacheStatistics.shared_stats(second.cache, "web")["hits"] == 4


async def test_the_deployment_window_moves_with_every_workers_pushes(
    workers: list[Worker],
) -> None:
    first, second = workers
    wall = FakeClock(1_700_000_000.0)
    first.dashboard.clock = wall
    first.stats.push(first.cache, "web")
    first.dashboard.sample()
    for _ in range(10):
        second.stats.record_hit(0.001)
    second.stats.push(second.cache, "web")
    wall.advance(2)
    first.dashboard.sample()
    point = first.dashboard.views["all"].history[-1]
    assert point["hits"] == 10 and point["requests_per_second"] == 5.0
    assert first.dashboard.views["this"].history[-1]["hits"] == 0
