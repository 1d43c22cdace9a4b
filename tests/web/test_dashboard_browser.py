"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from demo import create_app
from playwright.sync_api import sync_playwright

from cache.backend import InMemoryCache

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    app = create_app(InMemoryCache(), db_path=str(tmp_path / "blog.db"), latency=0.001)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the demo did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_dashboard_charts_move_and_invalidation_works(demo_url: str, tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), (
        "chromium is missing: scripts/test installs it (apt-get install chromium)"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{demo_url}/dashboard/")
            page.click("#traffic")  # start the built-in traffic generator
            page.wait_for_function(
                "document.getElementById('traffic').textContent === 'Stop traffic'", timeout=10_000
            )
            # The charts draw from live history: several points, and hits counted.
            page.wait_for_function(
                "Number(document.getElementById('hit_rate').dataset.points) >= 3", timeout=15_000
            )
            page.wait_for_function(
                "/hits [1-9]/.test(document.getElementById('summary').textContent)", timeout=15_000
            )
            drawn = page.evaluate(
                "(() => { const c = document.getElementById('hit_rate');"
                " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })()"
            )
            assert drawn > 100  # pixels of a line, not an empty canvas
            page.wait_for_function(
                "document.getElementById('legend').textContent.includes('post')", timeout=10_000
            )  # the per-content-type chart has a line per type
            assert page.locator("#types tr").count() >= 2  # a row per content type
            assert "data:popular" in page.locator("#warming").inner_text()

            page.select_option("select[name=kind]", "tag")
            page.fill("input[name=value]", "posts")
            page.click("#invalidate")
            page.wait_for_function(
                "document.getElementById('result').textContent.includes('invalidated')",
                timeout=10_000,
            )
            assert '"tag":"posts"' in page.locator("#result").inner_text()
            page.click("#traffic")  # stop it
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            browser.close()
