"""Microseconds per cache hit inside CacheMiddleware alone (no HTTP server, no client).

    python -m benchmarks.http_hit

One small JSON response stored under a route with a 300 s policy, then the
same GET sent straight to the middleware's ASGI callable: the best of nine
runs of 3,000 hits, so that a noisy machine inflates it least. Run it on two
checkouts back to back to compare them (``PYTHONPATH=OTHER/src``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cache.advanced import CachePolicy, ContentTypeCacheManager
from cache.backend import InMemoryCache
from cache.web import CacheMiddleware

SCOPE: dict[str, Any] = {
    "type": "http",
    "method": "GET",
    "path": "/items/1",
    "query_string": b"",
    "scheme": "http",
    "headers": [
        (b"host", b"testserver"),
        (b"accept", b"*/*"),
        (b"accept-encoding", b"gzip"),
        (b"user-agent", b"bench"),
        (b"connection", b"keep-alive"),
    ],
}


async def _app(scope: Any, receive: Any, send: Any) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"id": 1, "tags": ["a", "b"]}' * 10})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: Any) -> None:
    return None


def measure(runs: int = 9, hits: int = 3_000) -> float:
    """Return the best microseconds per hit over ``runs`` runs of ``hits`` hits."""
    manager = ContentTypeCacheManager(InMemoryCache())
    manager.register_policy("item", CachePolicy(timeout=300))
    middleware = CacheMiddleware(_app, manager, {"/items/.*": "item"})

    async def run(count: int) -> None:
        for _ in range(count):
            await middleware(SCOPE, _receive, _send)

    asyncio.run(run(10))  # the first is a miss
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        asyncio.run(run(hits))
        best = min(best, (time.perf_counter() - started) / hits * 1e6)
    return best


if __name__ == "__main__":
    print(f"CacheMiddleware hit: {measure():.1f} us (best of 9 x 3,000)")
