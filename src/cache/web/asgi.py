"""CacheMiddleware: HTTP response caching for any ASGI app, as a shared cache (RFC 9111)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Any

from cache._clock import Clock
from cache.advanced.envelope import Envelope
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import CachePolicy, ContentTypeCacheManager
from cache.advanced.statistics import CacheStatistics
from cache.backend.base import Claim, Entry
from cache.backend.validation import check_count, check_keys, check_seconds, reserved_key
from cache.errors import CacheTypeError, UnknownContentTypeError
from cache.web import headers as h
from cache.web import keys
from cache.web._fill import Filler, safely, send_envelope
from cache.web._purge import purge
from cache.web._routes import (
    UNSAFE,
    ASGIApp,
    Cacheable,
    Message,
    Receive,
    Route,
    Scope,
    Send,
    check_routes,
    decode_headers,
    encode_headers,
)

__all__ = ["CacheMiddleware", "Route"]

log = logging.getLogger("cache.web")


class CacheMiddleware:
    """Cache an ASGI app's responses under the policies of a ``ContentTypeCacheManager``.

    Args:
        app: The ASGI app.
        manager: Holds the policies, the backend and the tag versions.
        routes: ``{path regex: content type}`` or a list of :class:`Route`;
            a path that matches none is passed through, never cached.
        allowed_hosts: Hosts whose responses may be cached (others pass
            through); ``None`` caches any host, each under its own keys.
        max_body_size: Larger responses are streamed through, not stored.
        stale_if_error: Seconds past the stale window during which a stored
            response is served if the app fails (raises or answers 5xx).
        fill_wait: On a miss, seconds to wait for another process already
            fetching the same response (through a lock in the backend)
            before asking the app here too.
        purge_path: The path of an invalidation endpoint, off unless
            ``purge_token`` is given too: ``POST purge_path`` with
            ``Authorization: Bearer <token>`` and JSON
            ``{"tags": [...], "prefix": "/posts/", "pattern": "..."}``.
        purge_token: The endpoint's bearer token (16 characters or more).
        clock: Wall-clock seconds (deadlines are shared between processes).
    """

    def __init__(
        self,
        app: ASGIApp,
        manager: ContentTypeCacheManager,
        routes: Mapping[str, str] | Sequence[Route],
        *,
        allowed_hosts: Iterable[str] | None = None,
        max_body_size: int = 1_000_000,
        stale_if_error: float = 300.0,
        fill_wait: float = 10.0,
        purge_path: str | None = None,
        purge_token: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        if not isinstance(manager, ContentTypeCacheManager):
            raise CacheTypeError(f"manager must be a ContentTypeCacheManager, got {manager!r:.60}")
        self.app, self.manager, self.cache = app, manager, manager.cache
        self.routes = check_routes(routes)
        hosts = None if allowed_hosts is None else check_keys(allowed_hosts, "allowed_hosts")
        self.allowed_hosts = None if hosts is None else {keys.normalize_host(x, "") for x in hosts}
        if (purge_path is None) != (purge_token is None) or (
            purge_token is not None and len(purge_token) < 16
        ):
            raise CacheTypeError(
                "purge_path and purge_token go together; the token needs 16+ characters"
            )
        self.purge_path, self.purge_token = purge_path, purge_token
        self.clock = clock
        self.invalidator = CacheInvalidator(self.cache, registry="http", clock=clock)
        #: The miss path: asks the app once per key and stores what may be shared.
        self.filler = Filler(
            app,
            manager,
            self.invalidator,
            max_body_size=check_count(max_body_size, "max_body_size") or 0,
            stale_if_error=check_seconds(stale_if_error, "stale_if_error", allow_zero=True),
            fill_wait=check_seconds(fill_wait, "fill_wait", allow_zero=True),
            clock=clock,
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Requests passed to the app uncached, by reason (Prometheus reads it).
        self.bypasses: Counter[str] = Counter()
        #: Requests by "<content type>:<hit|stale|miss|bypass>" (the dashboard reads it).
        self.outcomes: Counter[str] = Counter()

    @property
    def max_body_size(self) -> int:
        """Bytes: larger responses are streamed through, not stored."""
        return self.filler.max_body_size

    @property
    def stale_if_error(self) -> float:
        """Seconds past the stale window during which a stored response stands in for a failure."""
        return self.filler.stale_if_error

    @property
    def fill_wait(self) -> float:
        """Seconds a miss waits for another process already fetching the same response."""
        return self.filler.fill_wait

    @property
    def statistics(self) -> CacheStatistics | None:
        """The ``CacheStatistics`` the manager records to (itself, or among its ``Recorders``)."""
        return _find_statistics(self.manager.stats)

    # -- ASGI ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve from the cache, or through the app (storing what may be shared)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if self.purge_path is not None and path == self.purge_path:
            await self._purge(scope, receive, send)
            return
        route = next((r for r in self.routes if r.regex.fullmatch(path)), None)
        if route is None:
            await self.app(scope, receive, send)
            return
        request_headers = decode_headers(scope["headers"])
        if method in UNSAFE:
            await self._unsafe(scope, receive, send, route, request_headers)
            return
        reason = self._bypass_reason(scope, route, request_headers)
        policy: CachePolicy | None = None
        if reason is None:
            try:
                policy = self.manager.get_policy(route.content_type)
            except UnknownContentTypeError:
                log.warning("route %r names an unregistered content type", route.pattern)
                reason = "no-policy"
        if reason is not None or policy is None:
            self.bypasses[reason or "no-policy"] += 1
            self.outcomes[f"{route.content_type}:bypass"] += 1
            status = h.cache_status(False, fwd="bypass", detail=reason)
            await self.app(scope, receive, self._with_headers(send, [("cache-status", status)]))
            return
        await self._cached(Cacheable(scope, route, policy, request_headers), receive, send)

    def _bypass_reason(self, scope: Scope, route: Route, headers: h.Headers) -> str | None:
        """Return why this request must go to the app uncached, or None."""
        host = keys.normalize_host(h.get_header(headers, "host"), scope.get("scheme", "http"))
        length = h.get_header(headers, "content-length")
        has_body = (length not in (None, "0")) or bool(h.get_headers(headers, "transfer-encoding"))
        request_cc = h.parse_cache_control(h.get_header(headers, "cache-control"))
        checks = [
            ("method", scope["method"] not in ("GET", "HEAD")),
            ("host", self.allowed_hosts is not None and host not in self.allowed_hosts),
            (
                "authorization",
                not route.allow_authorization and bool(h.get_headers(headers, "authorization")),
            ),
            ("cookie", not route.allow_cookies and bool(h.get_headers(headers, "cookie"))),
            ("range", not route.allow_range and bool(h.get_headers(headers, "range"))),
            ("body", not route.allow_body and has_body),
            ("no-store", "no-store" in request_cc),
        ]
        return next((reason for reason, applies in checks if applies), None)

    @staticmethod
    def _with_headers(send: Send, extra: list[tuple[str, str]]) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + encode_headers(extra)
            await send(message)

        return wrapped

    # -- the cached path ----------------------------------------------------------

    async def _cached(self, request: Cacheable, receive: Receive, send: Send) -> None:
        """Answer from a fresh or stale entry, or ask the app (the miss path)."""
        key, claim, entry, env = await self._lookup(request)
        content_type = request.route.content_type
        now = self.clock()
        claimed = claim is not None and entry is not None and entry.claimed
        if env is not None and env.is_fresh(now):
            if claimed:
                await safely(self.cache.adelete_if_equals(claim.key, claim.token), None)  # type: ignore[union-attr]
            await self._hit(request, send, env, now, "hit")
            return
        if env is not None and env.is_servable(now):
            if claimed:
                self._spawn(self.filler.refresh(request, key, claim))  # type: ignore[arg-type]
            self.manager.stats.record_stale()
            await self._hit(request, send, env, now, "stale")
            return
        if claimed:
            await safely(self.cache.adelete_if_equals(claim.key, claim.token), None)  # type: ignore[union-attr]
        started = time.perf_counter()
        self.outcomes[f"{content_type}:miss"] += 1
        stale = env if env is not None and now < env.stale_until + self.stale_if_error else None
        await self.filler.miss(request, receive, send, key, stale)
        self.manager.stats.record_miss(time.perf_counter() - started)

    async def _hit(
        self, request: Cacheable, send: Send, env: Envelope, now: float, outcome: str
    ) -> None:
        """Answer from a fresh entry (``hit``) or a stale one being refreshed (``stale``)."""
        self.manager.stats.record_hit()
        self.outcomes[f"{request.route.content_type}:{outcome}"] += 1
        detail = "stale-while-revalidate" if outcome == "stale" else None
        status = h.cache_status(True, ttl=env.fresh_until - now, detail=detail)
        await send_envelope(request, send, env, status, self.clock())

    async def _lookup(
        self, request: Cacheable
    ) -> tuple[str, Claim | None, Entry | None, Envelope | None]:
        """Read the request's variant: its key, the refresh claim, the entry and its envelope.

        With a stale-while-revalidate window, the read also claims the refresh
        of a stale entry (one request across processes refreshes it). The
        envelope is None if the entry is missing or its tags were invalidated.
        """
        url, _ = request.keys(())
        vary = await safely(self.cache.aget(reserved_key("vary", url), []), [])
        _, key = request.keys(vary)
        swr = request.policy.stale_while_revalidate
        window = swr + self.stale_if_error
        claim = Claim(reserved_key("swr", key), uuid.uuid4().hex, 30.0, window) if swr else None
        entry = await safely(self.cache.aget_entry(key, claim), None)
        env = None if entry is None else Envelope.load(entry.value)
        if (
            env is not None
            and entry is not None
            and not self.manager.tags.matches(env.tags, entry.refs)
        ):
            env = None
        return key, claim, entry, env

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_for_refreshes(self) -> None:
        """Wait for the background refreshes running now (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- invalidation -----------------------------------------------------------------

    async def _unsafe(
        self, scope: Scope, receive: Receive, send: Send, route: Route, headers: h.Headers
    ) -> None:
        """Forward a POST/PUT/PATCH/DELETE; if it succeeds, drop every cached variant of its URL."""
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status and 200 <= status[0] < 400:
            scheme = scope.get("scheme", "http")
            host = keys.normalize_host(h.get_header(headers, "host"), scheme)
            url = keys.url_key(route.content_type, scheme, host, scope["path"])
            await safely(asyncio.to_thread(self.invalidator.invalidate_prefix, url + "|"), 0)

    async def _purge(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.purge_token is not None  # the route exists only with a token
        await purge(scope, receive, send, self.purge_token, self.manager, self.invalidator)


def _find_statistics(recorder: object) -> CacheStatistics | None:
    """Return the CacheStatistics a recorder is or holds (through ``Recorders``)."""
    if isinstance(recorder, CacheStatistics):
        return recorder
    for inner in getattr(recorder, "recorders", ()):
        found = _find_statistics(inner)
        if found is not None:
            return found
    return None
