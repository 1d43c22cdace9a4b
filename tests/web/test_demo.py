"""The demo site: cached pages, an edit that changes them, the dashboard, and the real command."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from demo import create_app

from cache.backend import InMemoryCache
from cache.testing.redis_server import RedisServer, free_port
from tests.web.test_readme_browser import lines


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
        assert dashboard.status_code == 200 and "cache dashboard" in dashboard.text


async def test_a_missing_page_is_not_kept_and_the_edit_form_is_a_page(tmp_path: Path) -> None:
    app = create_app(InMemoryCache(), db_path=str(tmp_path / "blog.db"), latency=0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as client:
        for path in ("/posts/999", "/authors/42"):
            first, second = await client.get(path), await client.get(path)
            assert first.status_code == second.status_code == 404
            assert first.headers["cache-control"] == "no-store"  # no cache, shared or not
            assert "hit" not in second.headers["cache-status"]
            assert "<nav>" in first.text and "Not found" in first.text
        assert app.app.state.demo.invalidator.registered_keys("http:post:") == []

        form = await client.get("/posts/3/edit")
        assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
        assert '<nav><a href="/">Home</a>' in form.text  # the site's navigation
        assert '<a href="/posts/3">back to the post</a>' in form.text
        assert "<label>Title <input name=title" in form.text and "button{" in form.text
        assert (await client.get("/posts/999/edit")).status_code == 404


async def test_the_popular_posts_are_warmed_one_by_one(tmp_path: Path) -> None:
    app = create_app(InMemoryCache(), db_path=str(tmp_path / "blog.db"), latency=0)
    demo = app.app.state.demo
    popular = [p["id"] for p in demo.blog.popular()]
    assert len(popular) == 10 and demo.warmed == popular
    async with app.app.router.lifespan_context(app.app):  # the first warming runs at startup
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as c:
            warming = (await c.get("/dashboard/stats.json")).json()["warming"]
            assert {"data:popular", *(f"data:post:{n}" for n in popular)} <= set(warming)
            assert demo.cache.get(f"data:post:{popular[0]}")["id"] == popular[0]
            # A warmed post renders from the warmed copy, and an edit re-warms it.
            await c.post(f"/posts/{popular[0]}/edit", data={"title": "Warm again", "body": "b"})
            assert demo.cache.get(f"data:post:{popular[0]}")["title"] == "Warm again"
            assert "Warm again" in (await c.get(f"/posts/{popular[0]}")).text


DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


async def test_the_patterns_on_the_cli_page_find_what_it_says_in_the_demo(tmp_path: Path) -> None:
    app = create_app(InMemoryCache(), db_path=str(tmp_path / "blog.db"), latency=0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        for path in (
            "/",
            "/posts/1",
            "/posts/2",
            "/posts/3",
            "/posts/4",
            "/authors/1",
            "/api/posts",
        ):
            assert (await c.get(path)).headers["cache-status"].endswith("stored")
        await c.get("/", headers={"Accept-Language": "fr"})  # a second variant of the home page
        await c.get("/posts/1/edit")
    http = app.app.state.demo.invalidator
    paths = {k: k.split("://127.0.0.1:8000", 1)[1].split("|")[0] for k in http.registered_keys()}
    assert len(paths) == 8

    def found(pattern: str) -> list[str]:
        return sorted(paths[k] for k in http.matching_keys(pattern))

    page = DOCS.read_text()
    documented = re.findall(r"^- `([^`]+)`: ", page.split("checked against the demo", 1)[1], re.M)
    expected = {
        r"/posts/\d+\|": ["/posts/1", "/posts/2", "/posts/3", "/posts/4"],
        r"/posts/(1|2|3)\|": ["/posts/1", "/posts/2", "/posts/3"],
        r"^http:(page|author):": ["/", "/", "/authors/1"],
        r":8000/\|": ["/", "/"],
        r"/posts/1$": [],
    }
    assert documented == list(expected)
    for pattern, paths_found in expected.items():
        assert found(pattern) == paths_found, pattern


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
            "--cache",
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
        assert "2 workers" in process.stdout.readline() + process.stdout.readline()
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


def demo_command(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env or {k: v for k, v in os.environ.items() if k not in ("CACHE_DEMO_DB", "CACHE_URL")},
    )


def test_the_demo_binds_first_and_removes_its_temporary_database() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        refused = demo_command("--port", str(busy))
        out, _ = refused.communicate(timeout=30)
    assert refused.returncode == 2
    assert out.startswith("usage: scripts/demo")
    assert "http://" not in out  # no URL for a site that is not there
    assert f"cannot listen on 127.0.0.1:{busy}" in out and f"--port {busy + 1}" in out

    port = free_port()
    process = demo_command("--port", str(port), "--latency", "0")
    assert process.stdout is not None
    try:
        banner = lines(process, 2)
        assert f"open http://127.0.0.1:{port}/" in banner and "1 worker;" in banner
        database = Path(re.findall(r"the blog in (\S+) \(temporary: removed on exit\)", banner)[0])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            # The port was bound before the banner: the first request may come at once.
            deadline = time.monotonic() + 20
            while True:
                try:
                    assert client.get("/posts/1").status_code == 200
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the demo did not start"
                    time.sleep(0.1)
        assert database.exists()
    finally:
        process.terminate()
        process.wait(15)
        process.stdout.close()
    assert not database.exists() and not database.parent.exists()


def test_the_demo_names_one_cache_option() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "demo", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert shown.startswith("usage: scripts/demo") and "--cache URL" in shown
    assert "--redis" not in shown
    wrong = subprocess.run(
        [sys.executable, "-m", "demo", "--workers", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 2 and "--workers needs --cache redis://" in wrong.stderr
    down = subprocess.run(
        [sys.executable, "-m", "demo", "--cache", f"redis://127.0.0.1:{free_port()}/0"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert down.returncode == 2 and "does not answer" in down.stderr
    assert "redis-server --daemonize yes" in down.stderr and "http://" not in down.stdout


def test_workers_with_a_near_cache_see_an_edit_at_once(
    tmp_path: Path, redis_server: RedisServer, redis_client: object
) -> None:
    """Pages kept in each worker's memory (local_cache): an edit in one purges them in all."""
    port = free_port()
    env = {**os.environ, "CACHE_DEMO_DB": str(tmp_path / "blog.db")}
    url = f"{redis_server.url}?local_cache=1000"
    args = ["--port", str(port), "--latency", "0", "--cache", url, "--workers", "2"]
    process = demo_command(*args, env=env)
    try:
        assert "2 workers" in lines(process, 2)

        def fresh_get(path: str) -> httpx.Response:  # a new connection: either worker
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                return client.get(path)

        deadline = time.monotonic() + 30
        while True:
            try:
                fresh_get("/posts/7")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the demo did not start"
                time.sleep(0.2)
        statuses = [fresh_get("/posts/7").headers["cache-status"] for _ in range(6)]
        assert all(s.startswith("cache; hit") for s in statuses), statuses
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            saved = client.post(
                "/posts/7/edit", data={"title": "Edited in one worker", "body": "b"}
            )
        assert saved.status_code == 303
        pages = [fresh_get("/posts/7").text for _ in range(6)]
        assert all("Edited in one worker" in page for page in pages)
    finally:
        process.terminate()
        process.wait(15)
        process.stdout.close()  # type: ignore[union-attr]
