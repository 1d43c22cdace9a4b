"""A small Starlette app for the middleware tests: query flags shape its responses."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from cache.advanced import CachePolicy, ContentTypeCacheManager
from cache.backend import CacheBackend
from cache.testing import FakeClock
from cache.web import CacheMiddleware
from cache.web import Route as CacheRoute


class App:
    """The app and the counts of what reached it."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.fail = False
        self.status_override: int | None = None
        routes = [
            Route("/page/{name}", self.page, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/api/{name}", self.page),
            Route("/private/{name}", self.page),
            Route("/other/{name}", self.page),
        ]
        self.starlette = Starlette(routes=routes)

    async def page(self, request: Request) -> Response:
        name = request.url.path
        if request.method != "GET":
            self.calls[f"{request.method} {name}"] += 1
            return PlainTextResponse("done")
        self.calls[name] += 1
        q = request.query_params
        if "slow" in q:
            await asyncio.sleep(float(q["slow"]))
        if self.fail:
            raise RuntimeError("the app is down")
        if self.status_override:
            return PlainTextResponse("error", status_code=self.status_override)
        if "stream" in q:

            async def chunks() -> AsyncIterator[bytes]:
                for i in range(3):
                    yield f"chunk{i};".encode()

            return StreamingResponse(chunks(), media_type="text/plain")
        body = f"{name} #{self.calls[name]}"
        if "big" in q:
            body += "x" * 5_000
        headers = {}
        if "cc" in q:
            headers["Cache-Control"] = q["cc"]
        if "vary" in q:
            headers["Vary"] = q["vary"]
        if "tags" in q:
            headers["Surrogate-Key"] = q["tags"]
        if "lm" in q:
            headers["Last-Modified"] = "Wed, 21 Oct 2026 07:28:00 GMT"
        lang = request.headers.get("accept-language", "")
        response = PlainTextResponse(
            f"{body} lang={lang}", status_code=int(q.get("status", 200)), headers=headers
        )
        if "cookie" in q:
            response.set_cookie("session", "abc")
        return response


def build(
    backend: CacheBackend, clock: FakeClock, **options: object
) -> tuple[App, CacheMiddleware]:
    app = App()
    manager = ContentTypeCacheManager(backend, clock=clock)
    manager.register_policy(
        "page", CachePolicy(timeout=60, tags={"pages"}, vary_on=["Accept-Language"])
    )
    manager.register_policy("api", CachePolicy(timeout=10, tags={"api"}, stale_while_revalidate=30))
    routes = [
        CacheRoute("/page/.*", "page"),
        CacheRoute("/api/.*", "api"),
        CacheRoute("/private/.*", "page", allow_authorization=True, allow_cookies=True),
    ]
    options.setdefault("max_body_size", 1_000)
    middleware = CacheMiddleware(app.starlette, manager, routes, clock=clock, **options)  # type: ignore[arg-type]
    return app, middleware
