"""A live dashboard for a :class:`CacheMiddleware`, mountable in any ASGI app (extra ``web``).

::

    from starlette.routing import Mount
    routes.append(Mount("/dashboard", Dashboard(middleware, stats=stats, warmer=warmer)))

It serves a page of live charts drawn with uPlot (served from the package,
no CDN): hit rate and requests per second over the last ``window`` seconds,
p50/p95/p99 latencies of hits and misses, hit rate per content type, with
the invalidations made from the page as markers on the time axis; the
engine's own figures (entries, memory, evictions, errors, reachable or
not), the content types by traffic, the warming status table, a form that
invalidates a tag, a key prefix or a key pattern, and, given a ``traffic``
coroutine function, a button that starts it (as a task) and stops it
(cancelling the task): a load generator for a demonstration.

Once the statistics are shared (``stats.share(cache, group)`` or
``stats.push``), the page shows the whole deployment (the sum of every
worker's counts); ``?worker=this`` shows the worker that answers.
Mount it behind your own authentication: its buttons invalidate the cache.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from cache._clock import Clock
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.statistics import CacheStatistics, summarize, window_of
from cache.advanced.warming import CacheWarmer
from cache.backend.base import CacheBackend
from cache.backend.validation import check_seconds, reserved_key
from cache.errors import CacheTypeError
from cache.web import keys
from cache.web.asgi import CacheMiddleware

__all__ = ["Dashboard", "engine_figures", "track_middleware"]

_HERE = Path(__file__).parent
_PAGE = (_HERE / "dashboard.html").read_text()
log = logging.getLogger("cache.web")
#: Invalidations kept as markers (per dashboard, and per group in the backend).
_EVENTS = 50


def track_middleware(stats: CacheStatistics, middleware: CacheMiddleware) -> None:
    """Count the middleware's requests by content type and outcome, and its bypasses, in ``stats``.

    They are then pushed with the other counts: as ``http:<type>:<outcome>``
    and ``bypass:<reason>``.
    """
    stats.track("http", lambda: middleware.outcomes)
    stats.track("bypass", lambda: middleware.bypasses)


def engine_figures(cache: CacheBackend) -> dict[str, Any]:
    """Return the engine's ``info()`` and its ``state``: "up", or "unreachable"."""
    try:
        info = dict(cache.info())
    except Exception as exc:  # an engine that fails must not break the page
        return {"state": "unreachable", "error": type(exc).__name__}
    # RedisCache answers with its own counters alone when the server is down.
    state = "up" if "engine" in info else "unreachable"
    return {"state": state, **info}


def by_type(counts: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Return, per content type, its requests by outcome, all of them and its hit rate."""
    types: dict[str, dict[str, Any]] = {}
    for name, count in counts.items():
        if name.startswith("http:"):
            content_type, outcome = name[5:].rsplit(":", 1)
            types.setdefault(content_type, {})[outcome] = count
    for row in types.values():
        hits = row.get("hit", 0) + row.get("stale", 0)
        served = hits + row.get("miss", 0)
        row["requests"] = served + row.get("bypass", 0)
        row["hit_rate"] = round(100 * hits / served, 2) if served else None
    return dict(sorted(types.items(), key=lambda kv: -kv[1]["requests"]))


class _View:
    """The samples of one view (this worker, or the deployment) and its chart points."""

    def __init__(self, points: int, window: float) -> None:
        self.window = window
        self.samples: deque[tuple[float, dict[str, int]]] = deque(maxlen=int(window) + 30)
        self.history: deque[dict[str, Any]] = deque(maxlen=points)
        self.totals: dict[str, int] = {}

    def add(self, now: float, totals: dict[str, int]) -> None:
        if self.samples:
            previous = self.samples[-1][1]
            if totals.get("hits", 0) + totals.get("misses", 0) < previous.get(
                "hits", 0
            ) + previous.get("misses", 0):  # counts went back: a reset or a failed read
                self.samples.clear()
        self.samples.append((now, totals))
        self.totals = totals
        counts, span = window_of(self.samples, self.window)
        point = summarize(counts, span)
        if not point["total_requests"]:
            point["hit_rate"] = None  # no request in the window: a gap, not 0 %
        point["t"] = now
        point["span"] = round(span, 3)
        point["types"] = {k: v["hit_rate"] for k, v in by_type(counts).items()}
        self.history.append(point)


class Dashboard:
    """An ASGI app: the dashboard page at its root, JSON, static files and buttons beneath it.

    Args:
        middleware: The middleware whose traffic is shown and whose cache is invalidated.
        stats: The statistics to chart; by default the ``CacheStatistics``
            among the manager's recorders.
        warmer: Its tasks fill the warming table.
        traffic: Run by the "Start traffic" button until "Stop traffic"
            cancels it (e.g. requests sent through the middleware); none
            hides the button. If it takes a ``base_url`` keyword it gets the
            scheme and ``Host`` of the request that pressed the button, so
            that its requests carry a host the middleware accepts
            (``allowed_hosts``).
        hint: A line of HTML under the invalidation form (e.g. the tags in use).
        points: How many one-second samples the charts keep.
        window: Seconds over which rates, hit rates and percentiles are computed.
        clock: Wall-clock seconds (the charts' time axis).
    """

    def __init__(
        self,
        middleware: CacheMiddleware,
        *,
        stats: CacheStatistics | None = None,
        warmer: CacheWarmer | None = None,
        traffic: Callable[..., Awaitable[None]] | None = None,
        hint: str = "",
        points: int = 300,
        window: float = 10.0,
        clock: Clock = time.time,
    ) -> None:
        found = stats or middleware.statistics
        if found is None:
            raise CacheTypeError(
                "stats: pass the CacheStatistics to chart, or give the manager one (stats=)"
            )
        self.middleware, self.stats, self.warmer = middleware, found, warmer
        self.traffic = traffic
        self.window = check_seconds(window, "window", allow_zero=False)
        self.clock = clock
        track_middleware(found, middleware)
        #: For invalidations by URL, marked as such (not as the pattern they become).
        self.invalidator = CacheInvalidator(middleware.cache, registry="http")
        # Every applied invalidation becomes a marker: the app's own (an edit that
        # invalidates a tag), the purge endpoint's, an unsafe request's, this page's.
        middleware.manager.tags.on_invalidate(self._noted)
        middleware.invalidator.on_invalidate(self._noted)
        self.views = {"this": _View(points, self.window), "all": _View(points, self.window)}
        #: Invalidations seen here: ``{"t", "kind", "value"}``, oldest first.
        self.events: deque[dict[str, Any]] = deque(maxlen=_EVENTS)
        self.engine: dict[str, Any] = {}
        self.workers = 1
        #: Each reporting worker's figures since it started, as of its last push.
        self.per_worker: list[dict[str, Any]] = []
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
                Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the dashboard; the first request starts the once-a-second sampler."""
        if scope["type"] == "http" and self._sampler is None:
            self._sampler = asyncio.ensure_future(self._sample_forever())
        await self._app(scope, receive, send)

    # -- sampling ---------------------------------------------------------------

    @property
    def shared(self) -> tuple[CacheBackend, str] | None:
        """Where the statistics are shared (backend, group), or None: this worker alone."""
        return self.stats.shared

    def sample(self) -> None:
        """Add a point to the charts: this worker's, the deployment's, the engine's figures."""
        now = self.clock()
        self.views["this"].add(now, self.stats.totals())
        shared = self.shared
        if shared is not None:
            try:
                totals = CacheStatistics.shared_totals(*shared)
                self.workers = CacheStatistics.shared_workers(*shared, now=now)
                self.per_worker = _per_worker(CacheStatistics.worker_totals(*shared, now=now))
            except Exception:  # the page goes on with this worker's figures
                log.warning("reading the shared statistics failed", exc_info=True)
            else:
                self.views["all"].add(now, totals)
        self.engine = engine_figures(self.middleware.cache)

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(1)

    def close(self) -> None:
        """Stop the sampler and the traffic generator."""
        for task in (self._sampler, self.traffic_task):
            if task is not None:
                task.cancel()
        self._sampler = self.traffic_task = None
        self.middleware.manager.tags.off_invalidate(self._noted)
        self.middleware.invalidator.off_invalidate(self._noted)

    # -- invalidation markers ---------------------------------------------------

    def _noted(self, kind: str, value: str) -> None:
        """Mark an invalidation applied anywhere in this process, off the event loop."""
        if kind == "tag" and value.startswith("http-url:"):
            return  # the middleware's own tag of a URL: its prefix marker says it better
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a thread: the invalidating call may wait for the marker
            self._mark(kind, value)
            return
        loop.run_in_executor(None, self._mark, kind, value)

    def _mark(self, kind: str, value: str) -> None:
        """Note an invalidation here and, when shared, for every worker's dashboard."""
        now = self.clock()
        self.events.append({"t": now, "kind": kind, "value": value})
        if self.shared is not None:
            cache, group = self.shared
            member = f"{now:017.3f}|{kind}|{value[:200]}"
            key = reserved_key("stats", group, "events")
            try:
                cache.index_add(key, {member: now})
                cache.index_trim(key, _EVENTS)
            except Exception:  # a marker is not worth an error in the request that invalidated
                log.warning("could not share an invalidation marker", exc_info=True)

    def _events(self) -> list[dict[str, Any]]:
        if self.shared is None:
            return list(self.events)
        cache, group = self.shared
        found = []
        for member in cache.index_iter(reserved_key("stats", group, "events")):
            t, kind, value = member.split("|", 2)
            found.append({"t": float(t), "kind": kind, "value": value})
        return found

    # -- endpoints --------------------------------------------------------------

    async def _index(self, request: Request) -> Response:
        base = html.escape(request.scope.get("root_path", ""), quote=True)
        return HTMLResponse(self._page.replace("{{base}}", base))

    async def _stats_json(self, request: Request) -> Response:
        this = request.query_params.get("worker") == "this" or self.shared is None
        view = self.views["this" if this else "all"]
        if not view.history:
            await asyncio.to_thread(self.sample)
        warming = {} if self.warmer is None else self.warmer.get_warming_status()
        events = await asyncio.to_thread(self._events)
        return JSONResponse(
            {
                "view": "worker" if this else "deployment",
                "worker": self.stats.worker,
                "group": None if self.shared is None else self.shared[1],
                "workers": 1 if this else self.workers,
                "per_worker": [] if this else self.per_worker,
                "window": self.window,
                "history": list(view.history),
                "totals": summarize(view.totals),
                "types": by_type(view.totals),
                "engine": self.engine,
                "events": events,
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
                answer: dict[str, Any] = {"invalidated": "tag", "tag": value}
            elif kind == "prefix":
                shared = self.middleware.invalidator  # its listener marks the chart
                count = await asyncio.to_thread(shared.invalidate_prefix, value)
                answer = {"invalidated": kind, "count": count}
            elif kind == "pattern":
                shared = self.middleware.invalidator
                count = await asyncio.to_thread(shared.invalidate_pattern, value)
                answer = {"invalidated": kind, "count": count}
            elif kind == "url":
                # A URL names every stored variant of it, as `cache inspect URL` does.
                pattern = keys.url_pattern(value)
                if pattern is None:
                    raise ValueError(f"{value!r} is not a URL (http://host/path) or a URL key")
                count = await asyncio.to_thread(self.invalidator.invalidate_pattern, pattern)
                await asyncio.to_thread(self._mark, kind, value)
                answer = {"invalidated": kind, "count": count}
            else:
                return JSONResponse(
                    {"error": "kind must be tag, prefix, pattern or url"}, status_code=400
                )
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(answer)

    async def _toggle_traffic(self, request: Request) -> Response:
        if self.traffic is None:
            return JSONResponse({"error": "no traffic generator given"}, status_code=400)
        if self.traffic_task is not None and not self.traffic_task.done():
            self.traffic_task.cancel()
            self.traffic_task = None
        else:
            self.traffic_task = asyncio.ensure_future(self._start_traffic(request))
        return JSONResponse({"traffic": self.traffic_task is not None})

    def _start_traffic(self, request: Request) -> Awaitable[None]:
        assert self.traffic is not None
        if "base_url" not in inspect.signature(self.traffic).parameters:
            return self.traffic()
        host = request.headers.get("host") or "localhost"
        return self.traffic(base_url=f"{request.url.scheme}://{host}")


def _per_worker(found: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    rows = []
    for worker, totals in sorted(found.items()):
        figures = summarize(totals)
        rows.append({"worker": worker, **{k: figures[k] for k in _WORKER_FIGURES}})
    return rows


#: The figures of the per-worker table.
_WORKER_FIGURES = ("total_requests", "hit_rate", "errors", "hit_p95_ms", "miss_p95_ms")


def _default_hint() -> str:
    return html.escape(
        "Prefixes and patterns match keys such as http:TYPE:http://HOST/PATH; "
        "tags are the policies' tags and the Surrogate-Key values."
    )
