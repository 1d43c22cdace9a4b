"""The README's five minutes with the demo, step by step, in headless Chromium.

Steps 1 to 4 run against the demo served by uvicorn on a loopback port, in
memory; step 5 runs the real command (``python -m demo``, what ``scripts/demo``
runs) on a Redis server with two workers, and the README's CLI commands
against it. The README's URLs and commands are read from the README itself,
with the test's ports put in.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from cache.testing.redis_server import RedisServer, free_port
from tests.web.browser import CHROMIUM, FLAGS, serve_demo

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
STEPS = README.split("## Five minutes with the demo", 1)[1].split("\n## ", 1)[0]


def step(number: int) -> str:
    """Return the text of the README's step ``number``."""
    return re.split(r"^\d\. ", STEPS, flags=re.M)[number]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """The demo served by uvicorn on a loopback port, as scripts/demo serves it."""
    with serve_demo(tmp_path, latency=0.01) as url:
        yield url


def rendered(page: Page) -> str:
    return page.locator("p.meta").last.inner_text()


def test_steps_1_to_4_tags_swr_and_the_dashboard(site: str) -> None:
    assert "http://127.0.0.1:8000/" in STEPS
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            # 1. A cached page: the first load is stored, a reload is a hit with the same line.
            assert "cache; fwd=miss; fwd-status=200; stored" in step(1)
            first = page.goto(f"{site}/posts/1")
            assert first is not None and first.headers["cache-status"].endswith("; stored")
            line = rendered(page)
            assert line.startswith("rendered at") and " ms " in line
            again = page.reload()
            assert again is not None and again.headers["cache-status"].startswith("cache; hit")
            assert rendered(page) == line and "age" in again.headers

            # 2. Tags: edit, save; the post and the home page show the new title at once.
            assert "**edit**" in step(2) and "**Save**" in step(2) and "**Home**" in step(2)
            page.click("a[href$='/edit']")
            page.fill("input[name=title]", "Edited from the README")
            page.click("text=Save")
            assert page.locator("h1").inner_text() == "Edited from the README"
            page.click("nav >> text=Home")
            assert "Edited from the README" in page.locator("ul").inner_text()

            # 3. Stale-while-revalidate: after 10 s the same document at once, then a new one.
            assert "/api/posts" in step(3) and "10 s" in step(3)
            page.goto(f"{site}/api/posts")
            generated = json.loads(page.locator("body").inner_text())["generated_at"]
            time.sleep(10.5)
            stale = page.reload()
            assert (
                stale is not None
                and "detail=stale-while-revalidate" in (stale.headers["cache-status"])
            )
            assert json.loads(page.locator("body").inner_text())["generated_at"] == generated
            deadline = time.monotonic() + 10
            while json.loads(page.locator("body").inner_text())["generated_at"] == generated:
                assert time.monotonic() < deadline, "the API was not refreshed"
                time.sleep(0.3)
                page.reload()

            # 4. The dashboard: traffic, the warming table of the popular posts, an invalidation.
            assert "**Start traffic**" in step(4) and "`data:post:N`" in step(4)
            page.goto(f"{site}/dashboard/")
            page.click("#traffic")
            page.wait_for_function(
                "document.getElementById('traffic').textContent === 'Stop traffic'",
                timeout=10_000,
            )
            page.wait_for_function(
                "document.getElementById('warming').textContent.includes('data:post:1')",
                timeout=10_000,
            )
            page.select_option("select[name=kind]", "tag")
            page.fill("input[name=value]", "posts")
            page.click("#invalidate")
            page.wait_for_function(
                "document.getElementById('result').textContent.includes('invalidated')",
                timeout=10_000,
            )
            page.click("#traffic")
        finally:
            browser.close()


def lines(process: subprocess.Popen[str], count: int, seconds: float = 30) -> str:
    """Return the first ``count`` lines the process prints, failing after ``seconds``."""
    found: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stream = process.stdout
    threading.Thread(
        target=lambda: [found.put(stream.readline()) for _ in range(count)], daemon=True
    ).start()
    return "".join(found.get(timeout=seconds) for _ in range(count))


def cli(command: str, redis_url: str, port: int) -> subprocess.CompletedProcess[str]:
    """Run one of the README's ``.venv/bin/cache`` lines with the test's server and port."""
    line = command.replace("redis://localhost:6379/0", redis_url).replace(":8000", f":{port}")
    args = shlex.split(line)
    assert args[0] == ".venv/bin/cache"
    if "stats" in args:
        args += ["--count", "1", "--json"]  # the README's runs until ^C
    return subprocess.run(
        [sys.executable, "-m", "cache", *args[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_step_5_redis_with_workers_and_the_cli(
    redis_server: RedisServer, redis_client: object
) -> None:
    commands = re.findall(r"^\s+(scripts/demo .*|\.venv/bin/cache .*)$", step(5), flags=re.M)
    assert len(commands) == 4 and commands[0].startswith("scripts/demo --cache")
    port = free_port()
    demo_args = shlex.split(commands[0])[1:]
    demo_args = [a.replace("redis://localhost:6379/0", redis_server.url) for a in demo_args]
    demo_args[demo_args.index("--workers") + 1] = "2"  # two are enough here
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "CACHE_DEMO_DB")}
    process = subprocess.Popen(
        [sys.executable, "-m", "demo", *demo_args, "--port", str(port), "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    try:
        banner = lines(process, 3)
        printed = f"--url '{redis_server.url}?namespace=demo' stats --group demo"
        assert printed in banner, banner  # the URL the README's commands use, as the demo says
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                statuses = []
                deadline = time.monotonic() + 30
                for _ in range(4):  # new browser contexts, new connections: any worker answers
                    page = browser.new_context().new_page()
                    while True:
                        try:
                            response = page.goto(f"http://127.0.0.1:{port}/posts/1")
                            break
                        except Exception:
                            assert time.monotonic() < deadline, "the demo did not start"
                            time.sleep(0.2)
                    assert response is not None
                    statuses.append(response.headers["cache-status"])
                assert statuses[0].endswith("stored") and all(
                    s.startswith("cache; hit") for s in statuses[1:]
                ), statuses

                deadline = time.monotonic() + 15
                while True:  # each worker pushes its counts every 2 s
                    stats = cli(commands[1], redis_server.url, port)
                    assert stats.returncode == 0, stats.stderr
                    if json.loads(stats.stdout)["app"]["hits"] >= 1:
                        break
                    assert time.monotonic() < deadline, stats.stdout
                    time.sleep(0.5)
                keys = cli(commands[2], redis_server.url, port)
                assert keys.returncode == 0, keys.stderr
                (key,) = keys.stdout.split()
                assert key.startswith(f"http:post:http://127.0.0.1:{port}/posts/1|")
                done = cli(commands[3], redis_server.url, port)
                assert done.returncode == 0 and "invalidated 1 tag: post:1" in done.stdout
                page = browser.new_context().new_page()
                after = page.goto(f"http://127.0.0.1:{port}/posts/1")
                assert after is not None and "fwd=miss" in after.headers["cache-status"]
            finally:
                browser.close()
    finally:
        process.terminate()
        process.wait(15)
        process.stdout.close()
