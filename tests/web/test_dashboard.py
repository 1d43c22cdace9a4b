"""The dashboard and the Prometheus endpoint, mounted in an app of their own (not the demo)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from cache.advanced import CacheStatistics, CacheWarmer
from cache.advanced.prometheus import PrometheusRecorder, Recorders
from cache.backend import CacheBackend, InMemoryCache
from cache.errors import CacheTypeError
from cache.testing import FakeClock
from cache.web.dashboard import Dashboard
from cache.web.metrics import MetricsEndpoint
from tests.web.app import build


async def test_dashboard_and_metrics_mount_in_any_app(
    backend: CacheBackend, clock: FakeClock
) -> None:
    stats, prometheus = CacheStatistics(), PrometheusRecorder()
    app, inner = build(backend, clock)
    inner.manager.stats = Recorders(stats, prometheus)
    warmer = CacheWarmer(backend)
    warmer.register_warming_task("data:x", lambda: 1, timeout=60, schedule="*/5 * * * *")
    dashboard = Dashboard(inner, warmer=warmer)  # finds the statistics among the recorders
    outer = Starlette(
        routes=[
            Mount("/ops/cache", dashboard),
            Route("/ops/metrics", MetricsEndpoint(inner, recorder=prometheus)),
            Mount("/", inner),
        ]
    )
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(3):
            await client.get("/page/d")
        page = await client.get("/ops/cache/")
        assert page.status_code == 200 and "<canvas id=hit_rate" in page.text
        assert "<button id=traffic hidden>" in page.text  # no traffic generator: no button
        dashboard.sample()
        data = (await client.get("/ops/cache/stats.json")).json()
        assert data["types"]["page"] == {"miss": 1, "hit": 2}
        assert data["history"][-1]["hits"] == 2 and data["history"][-1]["misses"] == 1
        assert data["warming"]["data:x"]["state"] == "idle"
        purge = await client.post("/ops/cache/invalidate", json={"kind": "tag", "value": "pages"})
        assert purge.json() == {"invalidated": "tag", "tag": "pages"}
        await client.get("/page/d")
        assert app.calls["/page/d"] == 2  # the tag purge reached the stored page
        prefix = await client.post(
            "/ops/cache/invalidate", json={"kind": "prefix", "value": "http:page:"}
        )
        assert prefix.json() == {"invalidated": "prefix", "count": 1}
        bad = await client.post("/ops/cache/invalidate", json={"kind": "nope"})
        assert bad.status_code == 400 and "kind must be" in bad.json()["error"]
        assert (await client.post("/ops/cache/traffic")).status_code == 400
        metrics = (await client.get("/ops/metrics")).text
        assert "cache_hits_total 2.0" in metrics
        assert 'cache_http_requests_total{content_type="page",outcome="hit"} 2.0' in metrics
        assert 'cache_latency_seconds_bucket{le="0.0001",result="hit"}' in metrics
        assert 'cache_latency_seconds_count{result="miss"} 2.0' in metrics
    dashboard.close()


async def test_the_traffic_button_starts_and_stops_the_given_generator(clock: FakeClock) -> None:
    _, middleware = build(InMemoryCache(clock=clock), clock)
    middleware.manager.stats = CacheStatistics()
    running = asyncio.Event()
    stopped: list[bool] = []

    async def traffic() -> None:
        running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    dashboard = Dashboard(middleware, traffic=traffic)
    transport = httpx.ASGITransport(app=dashboard)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert "<button id=traffic >" in (await client.get("/")).text  # shown
        assert (await client.post("/traffic")).json() == {"traffic": True}
        await asyncio.wait_for(running.wait(), 5)
        assert (await client.get("/stats.json")).json()["traffic"] is True
        assert (await client.post("/traffic")).json() == {"traffic": False}
        await asyncio.sleep(0.01)
        assert stopped == [True]
        assert (await client.get("/stats.json")).json()["traffic"] is False
    dashboard.close()


def test_a_dashboard_needs_statistics(backend: CacheBackend, clock: FakeClock) -> None:
    _, middleware = build(backend, clock)
    with pytest.raises(CacheTypeError, match="stats"):
        Dashboard(middleware)
