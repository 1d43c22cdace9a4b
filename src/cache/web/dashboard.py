"""A live dashboard for a :class:`CacheMiddleware`, mountable in any ASGI app (extra ``web``).

::

    from starlette.routing import Mount
    routes.append(Mount("/dashboard", Dashboard(middleware, stats=stats, warmer=warmer)))

It serves a page of live charts (hit rate, requests per second, hit/miss
latency, hit rate per content type), the per-type counts, the warming status
table, a form that invalidates a tag, a key prefix or a key pattern, and,
given a ``traffic`` coroutine function, a button that starts it (as a task)
and stops it (cancelling the task): a load generator for a demonstration.
Mount it behind your own authentication: its buttons invalidate the cache.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.statistics import CacheStatistics
from cache.advanced.warming import CacheWarmer
from cache.errors import CacheTypeError
from cache.web.asgi import CacheMiddleware

__all__ = ["Dashboard"]

_PAGE = (Path(__file__).parent / "dashboard.html").read_text()


class Dashboard:
    """An ASGI app: the dashboard page at its root, JSON and buttons beneath it.

    Args:
        middleware: The middleware whose traffic is shown and whose cache is invalidated.
        stats: The statistics to chart; by default the ``CacheStatistics``
            among the manager's recorders.
        warmer: Its tasks fill the warming table.
        traffic: Run by the "Start traffic" button until "Stop traffic"
            cancels it (e.g. requests sent through the middleware); none
            hides the button.
        hint: A line of HTML under the invalidation form (e.g. the tags in use).
        points: How many one-second samples the charts keep.
    """

    def __init__(
        self,
        middleware: CacheMiddleware,
        *,
        stats: CacheStatistics | None = None,
        warmer: CacheWarmer | None = None,
        traffic: Callable[[], Awaitable[None]] | None = None,
        hint: str = "",
        points: int = 300,
    ) -> None:
        found = stats or middleware.statistics
        if found is None:
            raise CacheTypeError(
                "stats: pass the CacheStatistics to chart, or give the manager one (stats=)"
            )
        self.middleware = middleware
        self.stats = found
        self.warmer = warmer
        self.traffic = traffic
        self.invalidator = CacheInvalidator(middleware.cache, registry="http")
        self.history: deque[dict[str, Any]] = deque(maxlen=points)
        #: The running ``traffic`` task, if any.
        self.traffic_task: asyncio.Task[None] | None = None
        self._sampler: asyncio.Task[None] | None = None
        page = _PAGE.replace("{{hint}}", hint or _default_hint())
        self._page = page.replace("{{traffic}}", "" if traffic is not None else "hidden")
        self._app = Starlette(
            routes=[
                Route("/", self._index),
                Route("/stats.json", self._stats_json),
                Route("/invalidate", self._invalidate, methods=["POST"]),
                Route("/traffic", self._toggle_traffic, methods=["POST"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the dashboard; the first request starts the once-a-second sampler."""
        if scope["type"] == "http" and self._sampler is None:
            self.sample()
            self._sampler = asyncio.ensure_future(self._sample_forever())
        await self._app(scope, receive, send)

    # -- sampling ---------------------------------------------------------------

    def sample(self) -> None:
        """Add a point to the charts' history."""
        snapshot = self.stats.get_stats()
        self.history.append(
            {"t": time.time(), **snapshot, "by_type": dict(self.middleware.outcomes)}
        )

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(1)
            self.sample()

    def close(self) -> None:
        """Stop the sampler and the traffic generator."""
        for task in (self._sampler, self.traffic_task):
            if task is not None:
                task.cancel()
        self._sampler = self.traffic_task = None

    # -- endpoints --------------------------------------------------------------

    async def _index(self, request: Request) -> Response:
        return HTMLResponse(self._page)

    async def _stats_json(self, request: Request) -> Response:
        types: dict[str, dict[str, int]] = {}
        for name, count in self.middleware.outcomes.items():
            content_type, outcome = name.rsplit(":", 1)
            types.setdefault(content_type, {})[outcome] = count
        warming = {} if self.warmer is None else self.warmer.get_warming_status()
        return JSONResponse(
            {
                "history": list(self.history),
                "types": types,
                "warming": warming,
                "traffic": self.traffic_task is not None and not self.traffic_task.done(),
            }
        )

    async def _invalidate(self, request: Request) -> Response:
        try:
            data = await request.json()
        except ValueError:
            return JSONResponse({"error": "send JSON: {kind, value}"}, status_code=400)
        kind, value = data.get("kind"), str(data.get("value", ""))
        try:
            if kind == "tag":
                await self.middleware.manager.tags.ainvalidate_tags([value])
                return JSONResponse({"invalidated": "tag", "tag": value})
            if kind == "prefix":
                count = await asyncio.to_thread(self.invalidator.invalidate_prefix, value)
            elif kind == "pattern":
                count = await asyncio.to_thread(self.invalidator.invalidate_pattern, value)
            else:
                return JSONResponse(
                    {"error": "kind must be tag, prefix or pattern"}, status_code=400
                )
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"invalidated": kind, "count": count})

    async def _toggle_traffic(self, request: Request) -> Response:
        if self.traffic is None:
            return JSONResponse({"error": "no traffic generator given"}, status_code=400)
        if self.traffic_task is not None and not self.traffic_task.done():
            self.traffic_task.cancel()
            self.traffic_task = None
        else:
            self.traffic_task = asyncio.ensure_future(self.traffic())
        return JSONResponse({"traffic": self.traffic_task is not None})


def _default_hint() -> str:
    return html.escape(
        "Prefixes and patterns match keys such as http:TYPE:http://HOST/PATH; "
        "tags are the policies' tags and the Surrogate-Key values."
    )
