"""The miss path of CacheMiddleware: ask the app once per key, store what may be shared.

Concurrent misses of one key ask the app once: in this process through a
single flight, across processes through a fill lock in the backend. A stale
entry is refreshed here in the background; one past its windows but inside
stale-if-error is served when the app fails.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from cache._clock import Clock
from cache.advanced.coordination import AsyncSingleFlight, FillLock
from cache.advanced.envelope import Envelope
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import ContentTypeCacheManager
from cache.backend.base import Claim, Entry
from cache.backend.validation import reserved_key
from cache.web import headers as h
from cache.web._capture import fetch_response, send_stored
from cache.web._routes import ASGIApp, Cacheable, Message, Receive, Send
from cache.web.stored import Captured

__all__ = ["Filler", "safely", "send_envelope"]

log = logging.getLogger("cache.web")

T = TypeVar("T")


async def safely(coro: Awaitable[T], fallback: T) -> T:
    """Return what ``coro`` gives, or ``fallback`` if the cache failed (logged)."""
    try:
        return await coro
    except Exception:  # the cache must never turn a request into a 500
        log.warning("cache operation failed; passing the request through", exc_info=True)
        return fallback


async def send_envelope(
    request: Cacheable, send: Send, env: Envelope, status: str, now: float
) -> None:
    """Answer ``request`` with the response stored in ``env``."""
    captured = Captured.from_record(env.value)
    age = max(0.0, now - (captured.stored_at or 0.0))
    await send_stored(request, send, captured, status, age)


class Filler:
    """Fetch responses from the app for the cache, and store them."""

    def __init__(
        self,
        app: ASGIApp,
        manager: ContentTypeCacheManager,
        invalidator: CacheInvalidator,
        *,
        max_body_size: int,
        stale_if_error: float,
        fill_wait: float,
        clock: Clock,
    ) -> None:
        self.app = app
        self.manager = manager
        self.cache = manager.cache
        self.invalidator = invalidator
        self.max_body_size = max_body_size
        self.stale_if_error = stale_if_error
        self.fill_wait = fill_wait
        self.clock = clock
        self.flight = AsyncSingleFlight()

    async def miss(
        self,
        request: Cacheable,
        receive: Receive,
        send: Send,
        key: str,
        stale: Envelope | None = None,
    ) -> None:
        """Ask the app once for every concurrent request of ``key``, in and across processes.

        ``stale``: an entry past its windows but inside stale-if-error, served
        when the app fails.
        """
        leader = not self.flight.in_flight(key)
        streamed: list[bool] = []
        captured = await self.flight.do(
            key, lambda: self._fetch(request, receive, send, key, stale, streamed)
        )
        if streamed:
            return  # the response went straight to this client
        if captured is None:  # the leader's response could not be shared: ask the app ourselves
            await fetch_response(
                self.app, self.max_body_size, request.scope, receive, send, [], share=False
            )
            return
        now = self.clock()
        if stale is not None and captured.status >= 500:
            self.manager.stats.record_stale()
            status = h.cache_status(True, ttl=stale.fresh_until - now, detail="stale-if-error")
            await send_envelope(request, send, stale, status, now)
            return
        collapsed = not leader or captured.stored_at is not None
        fwd = "miss" if stale is None else "stale"
        status = h.cache_status(False, fwd=fwd, detail="collapsed" if collapsed else "stored")
        age = 0.0 if captured.stored_at is None else max(0.0, now - captured.stored_at)
        await send_stored(request, send, captured, status, age)

    async def _fetch(
        self,
        request: Cacheable,
        receive: Receive,
        send: Send,
        key: str,
        stale: Envelope | None,
        streamed: list[bool],
    ) -> Captured | None:
        """Run the app for the leader of a single flight, and store its answer."""
        # In-process callers share this run; other processes share it
        # through the fill lock: one of them asks the app, the rest wait.
        fill = FillLock(self.cache, key, self._fresh_envelope, self.fill_wait)
        stored = await safely(fill.aacquire_or_wait(), None)
        try:
            if stored is not None:
                return Captured.from_record(stored.value)
            try:
                captured = await fetch_response(
                    self.app,
                    self.max_body_size,
                    request.scope,
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
                await self.store(request, captured)
            return captured
        finally:
            await safely(fill.arelease(), None)

    def _fresh_envelope(self, entry: Entry) -> Envelope | None:
        """Return the entry's envelope if it is fresh and its tags are current."""
        env = Envelope.load(entry.value)
        if env is None or not env.is_fresh(self.clock()):
            return None
        return env if self.manager.tags.matches(env.tags, entry.refs) else None

    async def store(self, request: Cacheable, captured: Captured) -> None:
        """Store a response under the key its own Vary names (known only now)."""
        surrogate = h.split_list(
            h.get_headers(captured.headers, "surrogate-key")
            + h.get_headers(captured.headers, "cache-tag"),
            ", ",
        )
        vary = h.merge_vary((), captured.headers)
        url, key = request.keys(vary)
        policy = request.policy
        ttl = h.response_ttl(captured.headers, policy.timeout)
        now = self.clock()

        async def store() -> None:
            tags = self.manager.tags
            versions = await tags.aget_versions(set(policy.tags) | set(surrogate))
            record = captured.record(vary, now)
            env = Envelope(record, now + ttl, now + ttl + policy.stale_while_revalidate, versions)
            keep = ttl + policy.stale_while_revalidate + self.stale_if_error
            if vary:
                await self.cache.aset(reserved_key("vary", url), vary, keep)
            await self.cache.aset_entry(key, env.dump(), keep, tags.refs(versions))
            await self.cache.aindex_add(self.invalidator.index, {key: now})
            self.manager.stats.record_set()

        if ttl > 0:
            await safely(store(), None)

    async def refresh(self, request: Cacheable, key: str, claim: Claim) -> None:
        """Refresh a stale entry in the background; a failure keeps the stale one."""

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            return None

        try:
            # Double-check under the lock: a refresh that ended just before we
            # claimed it leaves the entry fresh, with nothing left to do.
            current = Envelope.load((await self.cache.aget_entry(key)).value)
            if current is not None and current.is_fresh(self.clock()):
                return
            scope = dict(request.scope, method="GET")
            captured = await fetch_response(
                self.app, self.max_body_size, scope, receive, discard, []
            )
            if captured is not None and captured.status < 500:
                await self.store(request, captured)
        except Exception:
            log.warning("background refresh of %s failed; the stale copy stays", key, exc_info=True)
            self.manager.stats.record_error()
        finally:
            await safely(self.cache.adelete_if_equals(claim.key, claim.token), None)
