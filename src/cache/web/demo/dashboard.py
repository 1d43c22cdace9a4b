"""The demo's live dashboard, its JSON, the invalidation buttons, traffic, and Prometheus."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from cache.web.demo.app import Demo

__all__ = ["routes"]

PAGE = (Path(__file__).parent / "dashboard.html").read_text()


def routes(demo: Demo) -> list[Route]:
    """Return the dashboard's routes, bound to ``demo``."""

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def stats(request: Request) -> Response:
        if not demo.history:
            demo.sample()
        types: dict[str, dict[str, int]] = {}
        counts = {} if demo.middleware is None else dict(demo.middleware.outcomes)
        for name, count in counts.items():
            content_type, outcome = name.rsplit(":", 1)
            types.setdefault(content_type, {})[outcome] = count
        history = list(demo.history)
        return JSONResponse(
            {
                "history": history,
                "types": types,
                "warming": demo.warmer.get_warming_status(),
                "traffic": demo.traffic is not None and not demo.traffic.done(),
            }
        )

    async def invalidate(request: Request) -> Response:
        data = await request.json()
        kind, value = data.get("kind"), str(data.get("value", ""))
        try:
            if kind == "tag":
                await demo.tags.ainvalidate_tags([value])
                return JSONResponse({"invalidated": "tag", "tag": value})
            if kind == "prefix":
                count = await asyncio.to_thread(demo.invalidator.invalidate_prefix, value)
            elif kind == "pattern":
                count = await asyncio.to_thread(demo.invalidator.invalidate_pattern, value)
            else:
                return JSONResponse(
                    {"error": "kind must be tag, prefix or pattern"}, status_code=400
                )
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"invalidated": kind, "count": count})

    async def traffic(request: Request) -> Response:
        if demo.traffic is not None and not demo.traffic.done():
            demo.traffic.cancel()
            demo.traffic = None
        else:
            demo.traffic = asyncio.ensure_future(_generate_traffic(demo))
        return JSONResponse({"traffic": demo.traffic is not None})

    async def metrics(request: Request) -> Response:
        from cache.web.demo.metrics import render  # noqa: PLC0415 - needs prometheus-client

        body, content_type = render(demo)
        return Response(body, media_type=content_type)

    return [
        Route("/dashboard", page),
        Route("/dashboard/stats.json", stats),
        Route("/dashboard/invalidate", invalidate, methods=["POST"]),
        Route("/dashboard/traffic", traffic, methods=["POST"]),
        Route("/metrics", metrics),
    ]


async def _generate_traffic(demo: Demo, rate: float = 40.0) -> None:
    """Request popular URLs (Zipf-like) through the cached site until cancelled."""
    assert demo.middleware is not None
    urls = (
        ["/", "/api/posts"]
        + [f"/posts/{n}" for n in range(1, 31)]
        + [f"/authors/{n}" for n in (1, 2, 3)]
    )
    weights = [1 / (rank + 1) for rank in range(len(urls))]
    transport = httpx.ASGITransport(app=demo.middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.local") as client:
        while True:
            url = random.choices(urls, weights)[0]
            lang = random.choice(["en", "fr", "de"])
            await client.get(url, headers={"Accept-Language": lang})
            await asyncio.sleep(1 / rate)
