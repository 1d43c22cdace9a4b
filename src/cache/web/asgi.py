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
from cache.backend.validation import check_count, check_keys, check_seconds, reserved_key
from cache.errors import CacheTypeError, UnknownContentTypeError
from cache.web import headers as h
from cache.web import keys
from cache.web._capture import send_stored
from cache.web._fill import Filler, Settings, safely
from cache.web._purge import purge
from cache.web._routes import (
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
from cache.web.rfc9111 import exchange
from cache.web.rfc9111.decide import Action, decide
from cache.web.rfc9111.directives import Directives, request_directives
from cache.web.rfc9111.exchange import FORWARDED_HEADERS, METHOD_OVERRIDES, SAFE_METHODS
from cache.web.stored import Captured

__all__ = ["CacheMiddleware", "Route"]

log = logging.getLogger("cache.web")


class CacheMiddleware:
    """Cache an ASGI app's responses as a shared cache (RFC 9111) under per-content-type policies.

    The app's own headers govern what is stored and for how long
    (``s-maxage``, ``max-age``, ``Expires``, ``Age``, ``no-store``,
    ``private``, ``no-cache``, ``must-revalidate``, and its ``stale-*``
    directives); a route's policy supplies the lifetime of responses that
    state none, its tags, ``vary_on`` and the ``Cache-Control`` sent on.

    Args:
        app: The ASGI app.
        manager: Holds the policies, the backend and the tag versions.
        routes: ``{path regex: content type}`` or a list of :class:`Route`;
            a path that matches none is passed through, never cached.
        allowed_hosts: Hosts whose responses may be cached (others pass
            through); ``None`` caches any host, each under its own keys. A
            name without a port allows it on any port (``"localhost"``
            allows ``localhost:8099``), as Django's ``ALLOWED_HOSTS`` does.
        max_body_size: Larger responses are streamed through, not stored.
        stale_if_error: Seconds past the stale window during which a stored
            response is served if the app fails (raises or answers 5xx),
            unless the response forbids it (``must-revalidate``,
            ``proxy-revalidate``, ``no-cache``, ``s-maxage``) or gives its own
            ``stale-if-error``.
        fill_wait: On a miss, seconds to wait for another process already
            fetching the same response (through a lock in the backend)
            before asking the app here too.
        purge_path: The path of an invalidation endpoint, off unless
            ``purge_token`` is given too: ``POST purge_path`` with
            ``Authorization: Bearer <token>`` and JSON
            ``{"tags": [...], "prefix": "/posts/", "pattern": "..."}``.
        purge_token: The endpoint's bearer token (16 characters or more).
        targeted_cache_control: Response fields aimed at this cache, first
            present and valid one wins over ``Cache-Control`` (RFC 9213).
        key_headers: Request headers made part of every key. By default the
            forwarding headers apps reflect into links and redirects
            (``X-Forwarded-Host``, ``Forwarded``, ...): a value an attacker
            sends is stored under that value only (no cache poisoning).
        bypass_headers: A request carrying one of these goes to the app
            uncached; by default the method overrides
            (``X-HTTP-Method-Override``, ...).
        request_directives: Honour the request's ``Cache-Control``
            (``no-cache``, ``max-age``, ``min-fresh``, ``max-stale``,
            ``only-if-cached``) and ``Pragma: no-cache``; off by default, as
            any client could then make every request reach the app.
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
        targeted_cache_control: Iterable[str] = ("CDN-Cache-Control",),
        key_headers: Iterable[str] = FORWARDED_HEADERS,
        bypass_headers: Iterable[str] = METHOD_OVERRIDES,
        request_directives: bool = False,
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
        self.key_headers = _names(key_headers, "key_headers")
        bypass = _names(bypass_headers, "bypass_headers")
        self.bypass_headers = tuple(n for n in bypass if n not in self.key_headers)
        self.request_directives = bool(request_directives)
        self.clock = clock
        self.invalidator = CacheInvalidator(self.cache, registry="http", clock=clock)
        settings = Settings(
            max_body_size=check_count(max_body_size, "max_body_size") or 0,
            stale_if_error=check_seconds(stale_if_error, "stale_if_error", allow_zero=True),
            fill_wait=check_seconds(fill_wait, "fill_wait", allow_zero=True),
            targeted=_names(targeted_cache_control, "targeted_cache_control"),
        )
        #: The trips to the app: misses, validations and refreshes.
        self.filler = Filler(app, manager, self.invalidator, settings, clock)
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Requests passed to the app uncached, by reason (Prometheus reads it).
        self.bypasses: Counter[str] = Counter()
        #: Requests by "<content type>:<hit|stale|miss|bypass>" (the dashboard reads it).
        self.outcomes: Counter[str] = Counter()

    @property
    def max_body_size(self) -> int:
        """Bytes: larger responses are streamed through, not stored."""
        return self.filler.settings.max_body_size

    @property
    def stale_if_error(self) -> float:
        """Seconds past the stale window during which a stored response stands in for a failure."""
        return self.filler.settings.stale_if_error

    @property
    def fill_wait(self) -> float:
        """Seconds a miss waits for another process already fetching the same response."""
        return self.filler.settings.fill_wait

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
        if method not in SAFE_METHODS:
            await self._unsafe(scope, receive, send)
            return
        route = self._route(path)
        if route is None or method not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        request_headers = decode_headers(scope["headers"])
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
            status = exchange.cache_status(fwd="bypass", detail=reason)
            await self.app(scope, receive, self._with_headers(send, [("cache-status", status)]))
            return
        request = Cacheable(scope, route, policy, request_headers, self.key_headers)
        await self._cached(request, receive, send)

    def _route(self, path: str) -> Route | None:
        return next((r for r in self.routes if r.regex.fullmatch(path)), None)

    def _bypass_reason(self, scope: Scope, route: Route, headers: h.Headers) -> str | None:
        """Return why this request must go to the app uncached, or None."""
        host = keys.normalize_host(h.get_header(headers, "host"), scope.get("scheme", "http"))
        allowed = self.allowed_hosts
        if allowed is not None and host not in allowed and keys.without_port(host) not in allowed:
            return "host"
        return exchange.bypass_reason(
            headers,
            bypass=self.bypass_headers,
            authorization=route.allow_authorization,
            cookies=route.allow_cookies,
            body=route.allow_body,
        )

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
        """Answer from the stored response, validate it, or ask the app (RFC 9111 section 4)."""
        started = time.perf_counter()  # hits and misses are timed from the lookup on
        key, env = await self._lookup(request)
        content_type = request.route.content_type
        now = self.clock()
        old = None if env is None else Captured.from_record(env.value)
        facts = (
            None if old is None or env is None else old.facts(env.fresh_until, env.stale_until, now)
        )
        decision = decide(facts, now, self._request_directives(request.headers))
        action = decision.action
        if action is Action.SERVE or (action is Action.SERVE_STALE and old is not None):
            stale = action is Action.SERVE_STALE
            if stale:
                await self._refresh(request, key, env)
            detail = "stale-while-revalidate" if stale else None
            status = exchange.cache_status(hit=True, ttl=decision.ttl, detail=detail)
            await send_stored(request, send, old, status, now)  # type: ignore[arg-type]
            self._count(request, "stale" if stale else "hit", time.perf_counter() - started)
            return
        if action is Action.GATEWAY_TIMEOUT:
            await self._only_if_cached(send)
            return
        self.outcomes[f"{content_type}:miss"] += 1
        await self.filler.miss(request, receive, send, key, env, decision.fallback)
        self.manager.stats.record_miss(time.perf_counter() - started)

    def _count(self, request: Cacheable, outcome: str, duration: float) -> None:
        self.manager.stats.record_hit(duration)
        if outcome == "stale":
            self.manager.stats.record_stale()
        self.outcomes[f"{request.route.content_type}:{outcome}"] += 1

    def _request_directives(self, headers: h.Headers) -> Directives | None:
        """Return the request's Cache-Control if honoured (RFC 9111 section 5.2.1), else None."""
        if not self.request_directives:
            return None
        return request_directives(
            h.get_headers(headers, "cache-control"), h.get_headers(headers, "pragma")
        )

    async def _refresh(self, request: Cacheable, key: str, env: Envelope | None) -> None:
        """Start one background refresh of a stale entry (one across processes)."""
        token = uuid.uuid4().hex
        if env is not None and await safely(
            self.cache.alease(reserved_key("swr", key), token, _REFRESH_LEASE), False
        ):
            self._spawn(self.filler.refresh(request, key, env, token))

    async def _only_if_cached(self, send: Send) -> None:
        status = exchange.cache_status(fwd="request", detail="only-if-cached")
        headers = [("cache-status", status), ("content-length", "0")]
        await send(
            {"type": "http.response.start", "status": 504, "headers": encode_headers(headers)}
        )
        await send({"type": "http.response.body", "body": b""})

    async def _lookup(self, request: Cacheable) -> tuple[str, Envelope | None]:
        """Return the request's variant key and its envelope (None if missing or invalidated)."""
        vary = await safely(self.cache.aget(reserved_key("vary", request.url), []), [])
        _, key = request.keys(vary)
        entry = await safely(self.cache.aget_entry(key), None)
        env = None if entry is None else Envelope.load(entry.value)
        if (
            env is not None
            and entry is not None
            and not self.manager.tags.matches(env.tags, entry.refs)
        ):
            env = None
        return key, env

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_for_refreshes(self) -> None:
        """Wait for the background refreshes running now (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- invalidation -----------------------------------------------------------------

    async def _unsafe(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward an unsafe request; if it succeeds, drop what it changed (RFC 9111 section 4.4).

        The URL's variants go, and those of ``Location`` and
        ``Content-Location`` on the same host, before the response's end
        reaches the client: its next request never sees the old copy. If the
        backend cannot apply it, the response still goes out; the failure is
        logged and counted as an error (``record_error``).
        """
        started: list[Message] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.append(message)
            elif (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and started
                and 200 <= started[0]["status"] < 400
            ):
                await self._invalidate(scope, decode_headers(started[0].get("headers", [])))
            await send(message)

        await self.app(scope, receive, watch)

    async def _invalidate(self, scope: Scope, response_headers: h.Headers) -> None:
        scheme = scope.get("scheme", "http")
        host = keys.normalize_host(h.get_header(decode_headers(scope["headers"]), "host"), scheme)
        urls = [
            keys.url_key(route.content_type, scheme, host, path)
            for path in exchange.invalidation_targets(scope["path"], host, response_headers)
            if (route := self._route(path)) is not None
        ]
        if not urls:
            return
        try:
            # The URL's tag first: a response being fetched now stores stale versions.
            await self.manager.tags.ainvalidate_tags([keys.url_tag(url) for url in urls])
            for url in urls:
                await asyncio.to_thread(self.invalidator.invalidate_prefix, url + "|")
        except (
            Exception
        ):  # the client's request succeeded: it gets its answer, the failure is counted
            log.warning("invalidating %s after an unsafe request failed", urls, exc_info=True)
            self.manager.stats.record_error()

    async def _purge(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.purge_token is not None  # the route exists only with a token
        await purge(scope, receive, send, self.purge_token, self.manager, self.invalidator)


#: Seconds one process holds the refresh of a stale entry (its lease).
_REFRESH_LEASE = 30.0


def _names(names: Iterable[str], argument: str) -> tuple[str, ...]:
    """Return header names, lower-cased, refusing anything that is not a list of names."""
    return tuple(name.lower() for name in check_keys(names, argument))


def _find_statistics(recorder: object) -> CacheStatistics | None:
    """Return the CacheStatistics a recorder is or holds (through ``Recorders``)."""
    if isinstance(recorder, CacheStatistics):
        return recorder
    for inner in getattr(recorder, "recorders", ()):
        found = _find_statistics(inner)
        if found is not None:
            return found
    return None
