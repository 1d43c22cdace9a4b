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
from cache.advanced.coordination import AsyncSingleFlight, FillLock
from cache.advanced.envelope import Envelope
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import CachePolicy, ContentTypeCacheManager
from cache.backend.base import Claim, Entry
from cache.backend.validation import reserved_key
from cache.errors import CacheTypeError, UnknownContentTypeError
from cache.web import headers as h
from cache.web import keys
from cache.web._capture import fetch_response
from cache.web._purge import purge
from cache.web._routes import (
    UNSAFE,
    ASGIApp,
    Message,
    Receive,
    Route,
    Scope,
    Send,
    decode_headers,
    encode_headers,
)
from cache.web._stored import Captured, build_response

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
        self.app = app
        self.manager = manager
        self.cache = manager.cache
        self.routes = (
            [Route(p, t) for p, t in routes.items()]
            if isinstance(routes, Mapping)
            else list(routes)
        )
        self.allowed_hosts = (
            None if allowed_hosts is None else {keys.normalize_host(x, "") for x in allowed_hosts}
        )
        self.max_body_size = max_body_size
        self.stale_if_error = stale_if_error
        self.fill_wait = fill_wait
        if (purge_path is None) != (purge_token is None) or (
            purge_token is not None and len(purge_token) < 16
        ):
            raise CacheTypeError(
                "purge_path and purge_token go together; the token needs 16+ characters"
            )
        self.purge_path, self.purge_token = purge_path, purge_token
        self._clock = clock
        self.invalidator = CacheInvalidator(self.cache, registry="http", clock=clock)
        self._flight = AsyncSingleFlight()
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Requests passed to the app uncached, by reason (Prometheus reads it).
        self.bypasses: Counter[str] = Counter()
        #: Requests by "<content type>:<hit|stale|miss|bypass>" (the dashboard reads it).
        self.outcomes: Counter[str] = Counter()

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
        await self._cached(scope, receive, send, route, policy, request_headers)

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

    def _keys(
        self,
        scope: Scope,
        route: Route,
        policy: CachePolicy,
        headers: h.Headers,
        vary: Sequence[str],
    ) -> tuple[str, str]:
        scheme = scope.get("scheme", "http")
        host = keys.normalize_host(h.get_header(headers, "host"), scheme)
        url = keys.url_key(route.content_type, scheme, host, scope["path"])
        query = keys.normalize_query(scope.get("query_string", b""))
        names = [*policy.vary_on, *vary]
        return url, keys.variant_key(url, query, keys.vary_values(headers, names))

    async def _safely(self, coro: Awaitable[Any], fallback: Any) -> Any:
        try:
            return await coro
        except Exception:  # the cache must never turn a request into a 500
            log.warning("cache operation failed; passing the request through", exc_info=True)
            return fallback

    async def _cached(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        policy: CachePolicy,
        headers: h.Headers,
    ) -> None:
        url, _ = self._keys(scope, route, policy, headers, ())
        vary = await self._safely(self.cache.aget(reserved_key("vary", url), []), [])
        url, key = self._keys(scope, route, policy, headers, vary)
        swr, sie = policy.stale_while_revalidate, self.stale_if_error
        claim = Claim(reserved_key("swr", key), uuid.uuid4().hex, 30.0, swr + sie) if swr else None
        entry = await self._safely(self.cache.aget_entry(key, claim), None)
        env = None if entry is None else Envelope.load(entry.value)
        if (
            env is not None
            and entry is not None
            and not self.manager.tags.matches(env.tags, entry.refs)
        ):
            env = None
        now = self._clock()
        claimed = claim is not None and entry is not None and entry.claimed
        if env is not None and env.is_fresh(now):
            if claimed:
                await self._safely(self.cache.adelete_if_equals(claim.key, claim.token), None)  # type: ignore[union-attr]
            self.manager.stats.record_hit()
            self.outcomes[f"{route.content_type}:hit"] += 1
            await self._serve(
                scope, send, env, headers, policy, h.cache_status(True, ttl=env.fresh_until - now)
            )
            return
        if env is not None and env.is_servable(now):
            if claimed:
                self._spawn(self._refresh(scope, route, policy, headers, key, url, claim))  # type: ignore[arg-type]
            self.manager.stats.record_stale()
            self.manager.stats.record_hit()
            self.outcomes[f"{route.content_type}:stale"] += 1
            status = h.cache_status(
                True, ttl=env.fresh_until - now, detail="stale-while-revalidate"
            )
            await self._serve(scope, send, env, headers, policy, status)
            return
        if claimed:
            await self._safely(self.cache.adelete_if_equals(claim.key, claim.token), None)  # type: ignore[union-attr]
        started = time.perf_counter()
        self.outcomes[f"{route.content_type}:miss"] += 1
        stale = env if env is not None and now < env.stale_until + sie else None
        await self._miss(scope, receive, send, route, policy, headers, key, url, stale)
        self.manager.stats.record_miss(time.perf_counter() - started)

    async def _miss(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        policy: CachePolicy,
        headers: h.Headers,
        key: str,
        url: str,
        stale: Envelope | None = None,
    ) -> None:
        """Ask the app once for every concurrent request of ``key``, in and across processes.

        ``stale``: an entry past its windows but inside stale-if-error, served
        when the app fails.
        """
        leader = key not in self._flight._calls
        streamed: list[bool] = []

        async def fetch() -> Captured | None:
            # In-process callers share this run; other processes share it
            # through the fill lock: one of them asks the app, the rest wait.
            fill = FillLock(self.cache, key, self._fresh_envelope, self.fill_wait)
            stored = await self._safely(fill.aacquire_or_wait(), None)
            try:
                if stored is not None:
                    return Captured.from_record(stored.value)
                try:
                    captured = await fetch_response(
                        self.app,
                        self.max_body_size,
                        scope,
                        receive,
                        send,
                        streamed,
                        hold_errors=stale is not None,
                    )
                except Exception:
                    if stale is None:
                        raise
                    log.warning("app failed; serving stale (stale-if-error)", exc_info=True)
                    return Captured(500, [], b"")
                if captured is not None and (stale is None or captured.status < 500):
                    await self._store(scope, route, policy, headers, captured)
                return captured
            finally:
                await self._safely(fill.arelease(), None)

        captured = await self._flight.do(key, fetch)
        if streamed:
            return  # the response went straight to this client
        if captured is None:  # the leader's response could not be shared: ask the app ourselves
            await fetch_response(
                self.app, self.max_body_size, scope, receive, send, [], share=False
            )
            return
        if stale is not None and captured.status >= 500:
            self.manager.stats.record_stale()
            status = h.cache_status(
                True, ttl=stale.fresh_until - self._clock(), detail="stale-if-error"
            )
            await self._serve(scope, send, stale, headers, policy, status)
            return
        fwd = "miss" if stale is None else "stale"
        await self._send_fetched(scope, send, captured, headers, policy, fwd, leader)

    def _fresh_envelope(self, entry: Entry) -> Envelope | None:
        """Return the entry's envelope if it is fresh and its tags are current."""
        env = Envelope.load(entry.value)
        if env is None or not env.is_fresh(self._clock()):
            return None
        return env if self.manager.tags.matches(env.tags, entry.refs) else None

    async def _send_fetched(
        self,
        scope: Scope,
        send: Send,
        captured: Captured,
        headers: h.Headers,
        policy: CachePolicy,
        fwd: str,
        leader: bool,
    ) -> None:
        """Send what the app answered this request, or what another request fetched."""
        collapsed = not leader or captured.stored_at is not None
        status = h.cache_status(False, fwd=fwd, detail="collapsed" if collapsed else "stored")
        age = 0.0 if captured.stored_at is None else max(0.0, self._clock() - captured.stored_at)
        await self._send_captured(scope, send, captured, headers, policy, status, age)

    async def _store(
        self,
        scope: Scope,
        route: Route,
        policy: CachePolicy,
        headers: h.Headers,
        captured: Captured,
    ) -> None:
        """Store a response under the key its own Vary names (known only now)."""
        surrogate = h.split_list(
            h.get_headers(captured.headers, "surrogate-key")
            + h.get_headers(captured.headers, "cache-tag"),
            ", ",
        )
        vary = h.merge_vary((), captured.headers)
        url, key = self._keys(scope, route, policy, headers, vary)
        ttl = h.response_ttl(captured.headers, policy.timeout)
        now = self._clock()

        async def store() -> None:
            versions = await self.manager.tags.aget_versions(set(policy.tags) | set(surrogate))
            record = captured.record(vary, now)
            env = Envelope(record, now + ttl, now + ttl + policy.stale_while_revalidate, versions)
            keep = ttl + policy.stale_while_revalidate + self.stale_if_error
            if vary:
                await self.cache.aset(reserved_key("vary", url), vary, keep)
            await self.cache.aset_entry(key, env.dump(), keep, self.manager.tags.refs(versions))
            await self.cache.aindex_add(self.invalidator.index, {key: now})
            self.manager.stats.record_set()

        if ttl > 0:
            await self._safely(store(), None)

    async def _refresh(
        self,
        scope: Scope,
        route: Route,
        policy: CachePolicy,
        headers: h.Headers,
        key: str,
        url: str,
        claim: Claim,
    ) -> None:
        """Refresh a stale entry in the background; a failure keeps the stale one."""

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            return None

        try:
            # Double-check under the lock: a refresh that ended just before we
            # claimed it leaves the entry fresh, with nothing left to do.
            current = Envelope.load((await self.cache.aget_entry(key)).value)
            if current is not None and current.is_fresh(self._clock()):
                return
            captured = await fetch_response(
                self.app, self.max_body_size, dict(scope, method="GET"), receive, discard, []
            )
            if captured is not None and captured.status < 500:
                await self._store(scope, route, policy, headers, captured)
        except Exception:
            log.warning("background refresh of %s failed; the stale copy stays", key, exc_info=True)
            self.manager.stats.record_error()
        finally:
            await self._safely(self.cache.adelete_if_equals(claim.key, claim.token), None)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_for_refreshes(self) -> None:
        """Wait for the background refreshes running now (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- answering ------------------------------------------------------------------

    async def _serve(
        self,
        scope: Scope,
        send: Send,
        env: Envelope,
        headers: h.Headers,
        policy: CachePolicy,
        status: str,
    ) -> None:
        record = env.value
        age = max(0.0, self._clock() - float(record["t"]))
        await self._send_captured(
            scope, send, Captured.from_record(record), headers, policy, status, age
        )

    async def _send_captured(
        self,
        scope: Scope,
        send: Send,
        captured: Captured,
        request_headers: h.Headers,
        policy: CachePolicy,
        status: str,
        age: float,
    ) -> None:
        code, out, body = build_response(captured, request_headers, policy, status, age)
        await send({"type": "http.response.start", "status": code, "headers": encode_headers(out)})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

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
            await self._safely(asyncio.to_thread(self.invalidator.invalidate_prefix, url + "|"), 0)

    async def _purge(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.purge_token is not None  # the route exists only with a token
        await purge(scope, receive, send, self.purge_token, self.manager, self.invalidator)
