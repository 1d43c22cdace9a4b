"""The demo with two worker processes on one Redis: every reload of stats.json shows their sum."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from cache.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
PAGES = 12


@pytest.fixture
def two_workers(
    redis_server: RedisServer, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CACHE_DEMO_DB": str(tmp_path / "blog.db")}
    command = [sys.executable, "-m", "demo", "--cache", redis_server.url, "--workers", "2"]
    command += ["--port", str(port), "--latency", "0.001"]
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _ok(url), "the demo did not start")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def _ok(url: str) -> bool:
    try:
        return httpx.get(f"{url}/dashboard/stats.json", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _until(check: Any, message: str, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def _stats(url: str, query: str = "") -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=5) as client:  # a new connection: any worker
        data: dict[str, Any] = client.get(f"/dashboard/stats.json{query}").json()
        return data


def _requests(data: dict[str, Any]) -> int:
    return int(data["totals"]["hits"] + data["totals"]["misses"])


def test_every_reload_shows_the_deployment_and_one_worker_on_request(two_workers: str) -> None:
    for n in range(PAGES):
        with httpx.Client(base_url=two_workers, timeout=5) as client:
            assert client.get(f"/posts/{n % 4 + 1}").status_code == 200
    # Both workers report (each pushes every 2 s), then every reload, whichever
    # worker answers it, shows the sum of their counts.
    _until(lambda: _stats(two_workers)["workers"] == 2, "two workers never reported")

    def eight_reloads_agree() -> list[dict[str, Any]] | None:
        reloads = [_stats(two_workers) for _ in range(8)]
        return reloads if all(_requests(d) == PAGES for d in reloads) else None

    reloads = _until(eight_reloads_agree, "the reloads never all showed the deployment")
    assert {d["view"] for d in reloads} == {"deployment"}
    assert sum(d["types"]["post"]["requests"] for d in reloads) == 8 * PAGES

    def both_workers_alone() -> dict[str, int] | None:
        seen: dict[str, int] = {}
        for _ in range(16):
            mine = _stats(two_workers, "?worker=this")
            seen[mine["worker"]] = _requests(mine)
        return seen if len(seen) == 2 else None

    alone = _until(both_workers_alone, "one worker answered every request", seconds=15)
    assert sum(alone.values()) == PAGES  # each worker's own counts, which add up
