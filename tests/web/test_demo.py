"""The demo site: cached pages, an edit that changes them, the dashboard, and the real command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from demo import create_app

from cache.backend import InMemoryCache
from cache.testing.redis_server import RedisServer, free_port


async def test_pages_are_cached_and_an_edit_shows_at_once(tmp_path: Path) -> None:
    app = create_app(InMemoryCache(), db_path=str(tmp_path / "blog.db"), latency=0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as client:
        first = await client.get("/posts/3")
        second = await client.get("/posts/3")
        assert first.headers["cache-status"].endswith("; stored")
        assert first.headers["cache-control"] == "no-cache"  # browsers ask again each time
        assert second.headers["cache-status"].startswith("cache; hit")
        assert second.text == first.text and "Notes on" in first.text
        home = await client.get("/", headers={"Accept-Language": "fr"})
        assert "Bonjour" in home.text and (
            await client.get("/", headers={"Accept-Language": "fr"})
        ).headers["cache-status"].startswith("cache; hit")

        edited = await client.post(
            "/posts/3/edit",
            data={"title": "Freshly edited title", "body": "new"},
            follow_redirects=False,
        )
        assert edited.status_code == 303
        after = await client.get("/posts/3")
        assert "Freshly edited title" in after.text  # the tag post:3 purged the cached page
        home_after = await client.get("/", headers={"Accept-Language": "fr"})
        assert "Freshly edited title" in home_after.text  # and the home page listing it

        api = await client.get("/api/posts")
        assert api.headers["cache-control"] == "public, max-age=5"

        stats = (await client.get("/dashboard/stats.json")).json()
        assert stats["types"]["post"]["hit"] >= 1 and "data:popular" in stats["warming"]
        purge = await client.post(
            "/dashboard/invalidate", json={"kind": "prefix", "value": "http:post:"}
        )
        assert purge.json()["count"] >= 1
        bad = await client.post("/dashboard/invalidate", json={"kind": "pattern", "value": "("})
        assert bad.status_code == 400
        metrics = (await client.get("/metrics")).text
        assert (
            "cache_hits_total" in metrics
            and 'cache_http_requests_total{content_type="post"' in metrics
        )
        dashboard = await client.get("/dashboard/")
        assert "<canvas id=hit_rate" in dashboard.text


def test_the_demo_command_serves_the_site(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CACHE_DEMO_DB": str(tmp_path / "blog.db")}
    process = subprocess.Popen(
        [sys.executable, "-m", "demo", "--port", str(port), "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in banner
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/posts/1", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the demo did not start"
                time.sleep(0.1)
        assert response.status_code == 200 and "cache-status" in response.headers
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()  # type: ignore[union-attr]


def test_workers_share_the_cache_in_redis(
    tmp_path: Path, redis_server: RedisServer, redis_client: object
) -> None:
    port = free_port()
    env = {**os.environ, "CACHE_DEMO_DB": str(tmp_path / "blog.db")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo",
            "--port",
            str(port),
            "--latency",
            "0",
            "--redis",
            redis_server.url,
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        assert "2 worker(s)" in process.stdout.readline()
        deadline = time.monotonic() + 30
        statuses = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while True:
                try:
                    client.get("/posts/7")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the demo did not start"
                    time.sleep(0.2)
            # New connections land on either worker: every answer is a hit from the shared cache.
            for _ in range(6):
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as fresh:
                    statuses.append(fresh.get("/posts/7").headers["cache-status"])
        assert all(s.startswith("cache; hit") for s in statuses), statuses
    finally:
        process.terminate()
        process.wait(15)
        process.stdout.close()  # type: ignore[union-attr]
