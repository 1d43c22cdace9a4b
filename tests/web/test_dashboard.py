"""The dashboard and the Prometheus endpoint, mounted in an app of their own (not the demo)."""

from __future__ import annotations

import asyncio
import functools

import httpx
import pytest
from demo.traffic import generate_traffic
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from cache.advanced import CacheStatistics, CacheWarmer
from cache.advanced.prometheus import PrometheusRecorder, Recorders
from cache.backend import CacheBackend, InMemoryCache, RedisCache
from cache.errors import CacheTypeError
from cache.testing import FakeClock
from cache.web.dashboard import Dashboard, engine_figures
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
        assert page.status_code == 200 and "<div id=hit_rate>" in page.text
        assert '<script src="/ops/cache/static/uplot/uPlot.iife.min.js">' in page.text
        assert "<button id=traffic hidden>" in page.text  # no traffic generator: no button
        script = await client.get("/ops/cache/static/uplot/uPlot.iife.min.js")
        assert script.status_code == 200 and "uPlot" in script.text
        assert (await client.get("/ops/cache/static/uplot/LICENSE")).status_code == 200
        dashboard.sample()  # the first point: the charts count from here
        await client.get("/page/d")
        dashboard.sample()
        data = (await client.get("/ops/cache/stats.json")).json()
        assert data["view"] == "worker" and data["window"] == 10.0
        assert data["types"]["page"] == {
            "miss": 1,
            "hit": 3,
            "requests": 4,
            "hit_rate": 75.0,
        }
        assert data["totals"]["hits"] == 3 and data["totals"]["misses"] == 1
        assert data["history"][-1]["types"] == {"page": 100.0}  # the window: one hit
        assert data["history"][-1]["hit_rate"] == 100.0
        assert data["engine"]["state"] == "up" and data["engine"]["engine"].startswith(
            ("InMemoryCache", "RedisCache")
        )
        assert data["warming"]["data:x"]["state"] == "idle"
        purge = await client.post("/ops/cache/invalidate", json={"kind": "tag", "value": "pages"})
        assert purge.json() == {"invalidated": "tag", "tag": "pages"}
        await client.get("/page/d")
        assert app.calls["/page/d"] == 2  # the tag purge reached the stored page
        prefix = await client.post(
            "/ops/cache/invalidate", json={"kind": "prefix", "value": "http:page:"}
        )
        assert prefix.json() == {"invalidated": "prefix", "count": 1}
        await client.get("/page/d")
        by_url = await client.post(  # a URL, as `cache inspect URL` takes it
            "/ops/cache/invalidate", json={"kind": "url", "value": "http://testserver/page/d"}
        )
        assert by_url.json() == {"invalidated": "url", "count": 1}
        not_url = await client.post("/ops/cache/invalidate", json={"kind": "url", "value": "x"})
        assert not_url.status_code == 400 and "not a URL" in not_url.json()["error"]
        bad = await client.post("/ops/cache/invalidate", json={"kind": "nope"})
        assert bad.status_code == 400 and "kind must be" in bad.json()["error"]
        events = (await client.get("/ops/cache/stats.json")).json()["events"]
        assert [(e["kind"], e["value"]) for e in events] == [
            ("tag", "pages"),
            ("prefix", "http:page:"),
            ("url", "http://testserver/page/d"),
        ]  # the markers on the charts' time axis
        assert (await client.post("/ops/cache/traffic")).status_code == 400
        metrics = (await client.get("/ops/metrics")).text
        assert "cache_hits_total 3.0" in metrics
        assert 'cache_http_requests_total{content_type="page",outcome="hit"} 3.0' in metrics
        assert (
            'cache_latency_seconds_count{result="miss"} 3.0' in metrics
        )  # the first GET, after the tag, after the prefix
        assert metrics.count("# TYPE cache_errors_total counter") == 1  # one family, not two
        assert "cache_engine_up 1.0" in metrics
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


async def test_the_traffic_carries_the_dashboards_host_which_allowed_hosts_accepts(
    clock: FakeClock,
) -> None:
    app, middleware = build(InMemoryCache(clock=clock), clock, allowed_hosts=["shop.example:8099"])
    middleware.manager.stats = CacheStatistics()
    traffic = functools.partial(generate_traffic, middleware, ["/page/t"], ["en"], rate=200)
    dashboard = Dashboard(middleware, traffic=traffic)
    transport = httpx.ASGITransport(app=dashboard)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://shop.example:8099"
    ) as client:
        assert (await client.post("/traffic")).json() == {"traffic": True}
        for _ in range(500):
            if middleware.outcomes["page:hit"] >= 2:
                break
            await asyncio.sleep(0.01)
        await client.post("/traffic")
    assert middleware.outcomes["page:hit"] >= 2 and middleware.outcomes["page:bypass"] == 0
    assert app.calls["/page/t"] == 1  # stored once, then served from the cache
    dashboard.close()


def test_rates_and_hit_rates_are_over_the_window_not_since_start(clock: FakeClock) -> None:
    _, middleware = build(InMemoryCache(clock=clock), clock)
    stats = CacheStatistics(clock=clock)
    wall = FakeClock(1_700_000_000.0)
    dashboard = Dashboard(middleware, stats=stats, window=10, clock=wall)
    for _ in range(60):  # a minute of 30 hits a second
        for _ in range(30):
            stats.record_hit(0.0002)
        dashboard.sample()
        wall.advance(1)
    history = dashboard.views["this"].history
    assert history[-1]["hit_rate"] == 100.0
    assert history[-1]["requests_per_second"] == pytest.approx(30.0)
    for _ in range(5):  # an invalidation: half of the requests miss for 5 s
        for n in range(30):
            if n % 2:
                stats.record_hit(0.0002)
            else:
                stats.record_miss(0.02)
        dashboard.sample()
        wall.advance(1)
    # Since start the hit rate is still 96 % (1875 of 1950); over the last 10 s it is 75 %.
    assert stats.get_stats()["hit_rate"] == 96.15
    assert history[-1]["hit_rate"] == pytest.approx(75.0)
    assert history[-1]["requests_per_second"] == pytest.approx(30.0)
    assert history[-1]["span"] == 10.0
    assert 0.1 < history[-1]["hit_p50_ms"] < 0.3 and 10 < history[-1]["miss_p95_ms"] < 30
    assert history[-1]["t"] == wall() - 1
    for _ in range(11):  # quiet: the window empties, the chart shows a gap, not 0 %
        dashboard.sample()
        wall.advance(1)
    assert history[-1]["hit_rate"] is None and history[-1]["requests_per_second"] == 0.0


def test_engine_figures_say_whether_the_engine_answers(clock: FakeClock) -> None:
    memory = engine_figures(InMemoryCache(max_entries=10, clock=clock))
    assert memory["state"] == "up" and memory["entries"] == 0 and memory["evictions"] == 0
    down = RedisCache("redis://127.0.0.1:1/0")
    try:
        figures = engine_figures(down)
    finally:
        down.close()
    assert figures["state"] == "unreachable" and "errors" in figures  # its own counters


def test_a_dashboard_needs_statistics(backend: CacheBackend, clock: FakeClock) -> None:
    _, middleware = build(backend, clock)
    with pytest.raises(CacheTypeError, match="stats"):
        Dashboard(middleware)


async def test_invalidations_made_anywhere_become_markers(clock: FakeClock) -> None:
    _, inner = build(InMemoryCache(), clock)
    inner.manager.stats = CacheStatistics()
    dashboard = Dashboard(inner)
    transport = httpx.ASGITransport(app=inner)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get("/page/m")
        await inner.manager.tags.ainvalidate_tags(["post:1"])  # the app's own code, async
        await asyncio.to_thread(inner.manager.tags.invalidate_tag, "post:2")  # and from a thread
        await client.delete("/page/m")  # an unsafe request: the middleware's invalidator
        for _ in range(50):  # the async marker is written off the event loop
            if len(dashboard.events) == 3:
                break
            await asyncio.sleep(0.01)
    assert [(e["kind"], e["value"]) for e in dashboard.events] == [
        ("tag", "post:1"),
        ("tag", "post:2"),
        ("prefix", "http:page:http://testserver/page/m|"),
    ]
    dashboard.close()
    inner.manager.tags.invalidate_tag("post:3")  # closed: no longer listening
    assert len(dashboard.events) == 3
