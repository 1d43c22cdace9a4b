"""The demo's readers: requests to the blog through the cache, for the dashboard's charts."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import httpx

from cache.web import CacheMiddleware

__all__ = ["generate_traffic"]


async def generate_traffic(
    app: CacheMiddleware, urls: Sequence[str], languages: Sequence[str], rate: float = 40.0
) -> None:
    """Request ``urls`` (Zipf-like: earlier ones more often) in ``languages`` until cancelled."""
    weights = [1 / (rank + 1) for rank in range(len(urls))]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard.local") as client:
        while True:
            url = random.choices(urls, weights)[0]
            await client.get(url, headers={"Accept-Language": random.choice(languages)})
            await asyncio.sleep(1 / rate)
