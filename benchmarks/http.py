"""Requests per second of one small app: uncached, behind CacheMiddleware, with fastapi-cache2.

    python -m benchmarks.http [--quick]

The app (FastAPI) answers ``/items/{id}`` with a JSON document after a 5 ms
"query". Requests go through httpx's in-process ASGI transport, 8 at a time,
over 20 URLs that are all cached after their first request: what is measured
is the cost of a cache hit as the app's users see it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx
from fastapi import FastAPI

from cache.advanced import CachePolicy, ContentTypeCacheManager
from cache.backend import InMemoryCache
from cache.web import CacheMiddleware

URLS = [f"/items/{n}" for n in range(20)]


def _document(item_id: int) -> dict[str, Any]:
    return {"id": item_id, "tags": [f"t{i}" for i in range(20)], "price": item_id * 1.5}


def plain_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        await asyncio.sleep(0.005)
        return _document(item_id)

    return app


def fastapi_cache_app() -> FastAPI:
    from fastapi_cache import FastAPICache
    from fastapi_cache.backends.inmemory import InMemoryBackend
    from fastapi_cache.decorator import cache

    FastAPICache.init(InMemoryBackend(), prefix="bench")
    app = FastAPI()

    @app.get("/items/{item_id}")
    @cache(expire=60)
    async def item(item_id: int) -> dict[str, Any]:
        await asyncio.sleep(0.005)
        return _document(item_id)

    return app


def middleware_app() -> Any:
    manager = ContentTypeCacheManager(InMemoryCache())
    manager.register_policy("item", CachePolicy(timeout=60))
    return CacheMiddleware(plain_app(), manager, {"/items/[0-9]+": "item"})


async def _rate(app: Any, requests: int, concurrency: int = 8) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for url in URLS:  # warm: every later request is a hit
            assert (await client.get(url)).status_code == 200

        async def worker(n: int) -> None:
            for i in range(n, requests, concurrency):
                await client.get(URLS[i % len(URLS)])

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        return requests / (time.perf_counter() - started)


def report(quick: bool) -> str:
    """Return a markdown table of requests/s and ratios."""
    requests = 400 if quick else 4_000
    rates = {
        "uncached app": asyncio.run(_rate(plain_app(), requests)),
        "fastapi-cache2 @cache (in memory)": asyncio.run(_rate(fastapi_cache_app(), requests)),
        "CacheMiddleware (InMemoryCache)": asyncio.run(_rate(middleware_app(), requests)),
    }
    base = rates["uncached app"]
    peer = rates["fastapi-cache2 @cache (in memory)"]
    lines = [
        "### HTTP: requests/s of one app, cache hits (in-process ASGI, 8 concurrent)\n",
        "| setup | requests/s | vs uncached | vs fastapi-cache2 |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {rate:,.0f} | {rate / base:.2f}x | {rate / peer:.2f}x |"
        for name, rate in rates.items()
    ]
    return "\n".join(lines)


def main() -> None:
    """Print the report."""
    parser = argparse.ArgumentParser(description="HTTP caching benchmark")
    parser.add_argument("--quick", action="store_true")
    print(report(parser.parse_args().quick))


if __name__ == "__main__":
    main()
