"""The demo blog: Starlette pages behind CacheMiddleware, every feature of the library in use."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from cache.advanced import (
    CacheInvalidator,
    CachePolicy,
    CacheStatistics,
    CacheTag,
    CacheWarmer,
    ContentTypeCacheManager,
)
from cache.advanced.prometheus import PrometheusRecorder, Recorders
from cache.backend import CacheBackend, InMemoryCache
from cache.web import CacheMiddleware
from cache.web import Route as CacheRoute
from cache.web.dashboard import Dashboard
from demo.store import Blog
from demo.traffic import generate_traffic

__all__ = ["Demo", "create_app"]

_GREETING = {"fr": "Bonjour", "de": "Hallo", "en": "Hello"}
#: What the dashboard's "Start traffic" readers request, the most read first.
_READ = [
    "/",
    "/api/posts",
    *(f"/posts/{n}" for n in range(1, 31)),
    *(f"/authors/{n}" for n in (1, 2, 3)),
]


def _lang(request: Request) -> str:
    header = request.headers.get("accept-language", "en")
    return next((code for code in _GREETING if header.lower().startswith(code)), "en")


_STYLE = (
    "body{font:16px system-ui;max-width:46rem;margin:2rem auto;padding:0 1rem}"
    "nav a{margin-right:1rem}.meta{color:#666;font-size:.85rem}"
    "form{display:grid;gap:.75rem}label{display:grid;gap:.25rem;font-weight:600}"
    "input,textarea{font:inherit;font-weight:400;padding:.4rem;border:1px solid #bbb;"
    "border-radius:4px}"
    "button{justify-self:start;font:inherit;padding:.4rem 1.2rem;border:0;border-radius:4px;"
    "background:#2563eb;color:#fff;cursor:pointer}"
)


def _page(title: str, body: str, started: float, status: int = 200) -> HTMLResponse:
    took = (time.perf_counter() - started) * 1000
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        '<nav><a href="/">Home</a><a href="/api/posts">API</a>'
        '<a href="/dashboard/">Dashboard</a></nav>'
        f"<h1>{html.escape(title)}</h1>{body}"
        f"<p class=meta>rendered at {time.strftime('%H:%M:%S')} in {took:.0f} ms "
        "(a cached page keeps this line: see the Cache-Status and Age headers)</p></body></html>",
        status_code=status,
    )


def _not_found(what: str, started: float) -> HTMLResponse:
    """Return a 404 page that no cache keeps: the next request asks the site again."""
    response = _page("Not found", f"<p>There is no {html.escape(what)} here.</p>", started, 404)
    response.headers["Cache-Control"] = "no-store"
    return response


def _register_policies(manager: ContentTypeCacheManager) -> None:
    """Register the demo's policies: one per content type of its routes."""
    # Two lifetimes: this cache keeps a page for `timeout` seconds (and
    # drops it the moment it is invalidated); browsers get `no-cache`, so
    # they ask again on each visit and an edit shows at once (a 304 when
    # nothing changed).
    browsers = "no-cache"
    manager.register_policy(
        "page",
        CachePolicy(
            timeout=300, tags={"pages"}, vary_on=["Accept-Language"], cache_control=browsers
        ),
    )
    manager.register_policy(
        "post", CachePolicy(timeout=600, tags={"posts"}, cache_control=browsers)
    )
    manager.register_policy(
        "author", CachePolicy(timeout=600, tags={"authors"}, cache_control=browsers)
    )
    manager.register_policy(
        "api",
        CachePolicy(
            timeout=10,
            tags={"api"},
            stale_while_revalidate=60,
            cache_control="public, max-age=5",  # API clients may reuse it briefly
        ),
    )


class Demo:
    """The demo's parts, reachable from tests and the dashboard."""

    def __init__(self, cache: CacheBackend, blog: Blog) -> None:
        self.stats = CacheStatistics()
        self.prometheus = PrometheusRecorder()
        recorder = Recorders(self.stats, self.prometheus)
        # HTTP hits and misses are recorded by the middleware (through the
        # manager's recorder); wrapping the engine too would count every read
        # of a tag version as a request.
        self.cache = cache
        self.blog = blog
        self.tags = CacheTag(self.cache)
        self.invalidator = CacheInvalidator(self.cache, registry="http")
        self.manager = ContentTypeCacheManager(self.cache, tag_manager=self.tags, stats=recorder)
        _register_policies(self.manager)
        self.warmer = CacheWarmer(self.cache, stats=recorder)
        self.warmer.register_warming_task(
            "data:popular", self.blog.popular, timeout=120, schedule="* * * * *"
        )
        # Each popular post is warmed too: its page renders from the cache.
        self.warmed = [int(p["id"]) for p in self.blog.popular()]
        for post_id in self.warmed:
            self.warmer.register_warming_task(
                f"data:post:{post_id}",
                functools.partial(self.blog.post, post_id),
                timeout=120,
                schedule="* * * * *",
            )
        self.middleware: CacheMiddleware | None = None
        self.dashboard: Dashboard | None = None

    # -- pages ------------------------------------------------------------------

    def popular(self) -> list[dict[str, Any]]:
        """Return the popular posts: warmed every minute by the warmer, read from the cache."""
        value = self.cache.get("data:popular")
        if value is None:
            value = self.blog.popular()
            self.cache.set("data:popular", value, 120)
        return list(value)

    def post_data(self, post_id: int) -> dict[str, Any] | None:
        """Return a post: warmed in the cache if it is popular, else from the database."""
        value = self.cache.get(f"data:post:{post_id}") if post_id in self.warmed else None
        return dict(value) if value is not None else self.blog.post(post_id)

    async def home(self, request: Request) -> Response:
        """Render the home page: the popular posts, greeted in the reader's language."""
        started = time.perf_counter()
        posts = await asyncio.to_thread(self.popular)
        items = "".join(
            f'<li><a href="/posts/{p["id"]}">{html.escape(p["title"])}</a> by '
            f'<a href="/authors/{p["author_id"]}">{html.escape(p["author"])}</a></li>'
            for p in posts
        )
        greeting = _GREETING[_lang(request)]
        response = _page(f"{greeting}! Popular posts", f"<ul>{items}</ul>", started)
        response.headers["Surrogate-Key"] = " ".join(f"post:{p['id']}" for p in posts)
        return response

    async def post(self, request: Request) -> Response:
        """Render one post; tagged with the post and its author."""
        started = time.perf_counter()
        post_id = int(request.path_params["id"])
        post = await asyncio.to_thread(self.post_data, post_id)
        if post is None:
            return _not_found(f"post {post_id}", started)
        body = (
            f'<p class=meta>by <a href="/authors/{post["author_id"]}">'
            f"{html.escape(post['author'])}</a>"
            f' · <a href="/posts/{post_id}/edit">edit</a></p><p>{html.escape(post["body"])}</p>'
        )
        response = _page(post["title"], body, started)
        response.headers["Surrogate-Key"] = f"post:{post_id} author:{post['author_id']}"
        return response

    async def author(self, request: Request) -> Response:
        """Render an author's page; tagged with the author and their posts."""
        started = time.perf_counter()
        author_id = int(request.path_params["id"])
        author = await asyncio.to_thread(self.blog.author, author_id)
        if author is None:
            return _not_found(f"author {author_id}", started)
        items = "".join(
            f'<li><a href="/posts/{p["id"]}">{html.escape(p["title"])}</a></li>'
            for p in author["posts"]
        )
        response = _page(author["name"], f"<ul>{items}</ul>", started)
        response.headers["Surrogate-Key"] = f"author:{author_id} " + " ".join(
            f"post:{p['id']}" for p in author["posts"]
        )
        return response

    async def api_posts(self, request: Request) -> Response:
        """Return the posts as JSON (the API: stale-while-revalidate)."""
        posts = await asyncio.to_thread(self.blog.popular, 30)
        response = JSONResponse({"posts": posts, "generated_at": time.time()})
        response.headers["Surrogate-Key"] = " ".join(f"post:{p['id']}" for p in posts)
        return response

    async def edit_form(self, request: Request) -> Response:
        """Render the edit form of a post (never cached)."""
        started, post_id = time.perf_counter(), int(request.path_params["id"])
        post = await asyncio.to_thread(self.blog.post, post_id)
        if post is None:
            return _not_found(f"post {post_id}", started)
        form = (
            f'<p class=meta><a href="/posts/{post_id}">back to the post</a> · saving '
            f"invalidates the tag <code>post:{post_id}</code>: every page showing it</p>"
            f'<form method=post action="/posts/{post_id}/edit">'
            f'<label>Title <input name=title value="{html.escape(post["title"])}"></label>'
            f"<label>Text <textarea name=body rows=10>{html.escape(post['body'])}</textarea>"
            "</label><button>Save</button></form>"
        )
        response = _page(f"Edit: {post['title']}", form, started)
        response.headers["Cache-Control"] = "no-store"  # always the current text
        return response

    async def edit(self, request: Request) -> Response:
        """Save a post, then purge every page that shows it by its tag."""
        post_id = int(request.path_params["id"])
        form = parse_qs((await request.body()).decode())  # a urlencoded form: no extra dependency
        title, body = form.get("title", [""])[0], form.get("body", [""])[0]
        await asyncio.to_thread(self.blog.update_post, post_id, title, body)
        # The warmed data first (the list shows titles too), so pages render the new text ...
        await self.warmer.warm_cache(key="data:popular")
        if post_id in self.warmed:
            await self.warmer.warm_cache(key=f"data:post:{post_id}")
        # ... then every page showing this post, by its tag post:<id>: one write purges them all.
        await self.tags.ainvalidate_tags([f"post:{post_id}"])
        return RedirectResponse(f"/posts/{post_id}", status_code=303)


def create_app(
    cache: CacheBackend | None = None, *, db_path: str | None = None, latency: float = 0.05
) -> CacheMiddleware:
    """Build the demo site; the cache defaults to an ``InMemoryCache``."""
    path = db_path or os.environ.get("CACHE_DEMO_DB") or str(Path(tempfile.mkdtemp()) / "blog.db")
    demo = Demo(cache or InMemoryCache(max_entries=50_000), Blog(path, latency))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await demo.warmer.warm_cache()
        demo.warmer.start()
        # This worker's counts join the deployment's (cache stats --group demo, the
        # dashboard); the last push happens when the worker stops.
        demo.stats.share(demo.cache, "demo", every=2.0)
        yield
        demo.stats.close()
        demo.warmer.stop()
        if demo.dashboard is not None:
            demo.dashboard.close()

    routes = [
        Route("/", demo.home),
        Route("/posts/{id:int}", demo.post),
        Route("/posts/{id:int}/edit", demo.edit_form, methods=["GET"]),
        Route("/posts/{id:int}/edit", demo.edit, methods=["POST"]),
        Route("/authors/{id:int}", demo.author),
        Route("/api/posts", demo.api_posts),
    ]
    site = Starlette(routes=routes, lifespan=lifespan)
    middleware = CacheMiddleware(
        site,
        demo.manager,
        [
            CacheRoute("/", "page"),
            CacheRoute("/posts/[0-9]+", "post"),
            CacheRoute("/authors/[0-9]+", "author"),
            CacheRoute("/api/posts", "api"),
        ],
    )
    demo.middleware = middleware
    demo.dashboard = _dashboard(middleware, demo)
    site.router.routes.append(Mount("/dashboard", demo.dashboard))
    site.router.routes.append(_metrics_route(middleware, demo))
    site.state.demo = demo
    return middleware  # lifespan events pass through it to the site


def _dashboard(middleware: CacheMiddleware, demo: Demo) -> Dashboard:
    """Return the live dashboard, whose "Start traffic" button sends readers through the cache."""
    return Dashboard(
        middleware,
        stats=demo.stats,
        warmer=demo.warmer,
        traffic=functools.partial(generate_traffic, middleware, _READ, list(_GREETING)),
        hint="Tags: <code>post:ID</code>, <code>author:ID</code>, <code>pages</code>, "
        "<code>posts</code>, <code>api</code>. Prefixes and patterns (regular expressions) "
        "match stored keys, <code>http:post:http://HOST/posts/1|DIGEST</code>: prefix "
        "<code>http:post:</code> is every post, pattern <code>/posts/(1|2|3)\\|</code> "
        "three of them (as <code>cache keys</code> lists them).",
    )


def _metrics_route(middleware: CacheMiddleware, demo: Demo) -> Route:
    """``/metrics`` for Prometheus."""
    from cache.web.metrics import MetricsEndpoint  # noqa: PLC0415 - needs prometheus-client

    return Route(
        "/metrics", MetricsEndpoint(middleware, stats=demo.stats, recorder=demo.prometheus)
    )
