"""One real server: uvicorn on a loopback port, the middleware in front, real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from cache.backend import CacheBackend
from cache.testing import FakeClock
from tests.web.app import build


def test_through_uvicorn(backend: CacheBackend, clock: FakeClock) -> None:
    app, middleware = build(backend, clock)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(middleware, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            first = client.get("/page/live")
            second = client.get("/page/live")
        assert first.status_code == second.status_code == 200
        assert first.headers["cache-status"] == "cache; fwd=miss; fwd-status=200; stored"
        assert second.headers["cache-status"].startswith("cache; hit")
        assert second.text == first.text and app.calls["/page/live"] == 1
    finally:
        server.should_exit = True
        thread.join(10)
