"""The demo's readers: requests to the blog through the cache, for the dashboard's charts."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import httpx

from cache.web import CacheMiddleware

__all__ = ["generate_traffic"]


async def generate_traffic(
    app: CacheMiddleware,
    urls: Sequence[str],
    languages: Sequence[str],
    rate: float = 40.0,
    *,
    base_url: str = "http://localhost",
) -> None:
    """Request ``urls`` (Zipf-like: earlier ones more often) in ``languages`` until cancelled.

    ``base_url`` gives the requests' scheme and ``Host``: the dashboard passes
    its own, which the middleware's ``allowed_hosts`` accepts as it accepts
    the dashboard's.
    """
    weights = [1 / (rank + 1) for rank in range(len(urls))]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        while True:
            url = random.choices(urls, weights)[0]
            await client.get(url, headers={"Accept-Language": random.choice(languages)})
            await asyncio.sleep(1 / rate)
