"""The trips to the app of CacheMiddleware: misses, validations, background refreshes.

Concurrent misses of one key ask the app once: in this process through a
single flight, across processes through a fill lock in the backend. A stored
response with validators is validated with a conditional request; a 304
freshens it (RFC 9111 section 4.3). A stale copy is refreshed here in the
background; one inside its stale-if-error window is served when the app fails.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from cache._clock import Clock
from cache.advanced.coordination import AsyncSingleFlight, FillLock
from cache.advanced.envelope import Envelope
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import ContentTypeCacheManager
from cache.backend.base import Entry
from cache.backend.validation import reserved_key
from cache.web import headers as h
from cache.web import keys
from cache.web._capture import Judge, fetch_response, send_stored
from cache.web._routes import ASGIApp, Cacheable, Message, Receive, Send
from cache.web.rfc9111 import exchange
from cache.web.rfc9111.freshness import Defaults, response_directives, store_reason
from cache.web.stored import Captured, plan_store

__all__ = ["Filler", "Settings", "safely"]

log = logging.getLogger("cache.web")

T = TypeVar("T")

#: Request fields that make the app answer relative to the client's copy: the
#: cache sends its own validators, or none, and answers the client itself.
_CLIENT_CONDITIONALS = frozenset({"if-none-match", "if-modified-since"})


async def safely(coro: Awaitable[T], fallback: T) -> T:
    """Return what ``coro`` gives, or ``fallback`` if the cache failed (logged)."""
    try:
        return await coro
    except Exception:  # the cache must never turn a request into a 500
        log.warning("cache operation failed; passing the request through", exc_info=True)
        return fallback


@dataclass(frozen=True, slots=True)
class Settings:
    """The middleware's settings the trips to the app read."""

    max_body_size: int
    stale_if_error: float
    fill_wait: float
    targeted: tuple[str, ...]


class Filler:
    """Fetch responses from the app for the cache, and store them."""

    def __init__(
        self,
        app: ASGIApp,
        manager: ContentTypeCacheManager,
        invalidator: CacheInvalidator,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.app = app
        self.manager = manager
        self.cache = manager.cache
        self.invalidator = invalidator
        self.settings = settings
        self.clock = clock
        # fresh: a request that came while the app was being asked takes that
        # answer only if its stored copy is still valid when it comes (no
        # invalidation since the app was asked); else it asks again.
        self.flight = AsyncSingleFlight(fresh=True)

    def judge(self, request: Cacheable) -> Judge:
        """Return the storability check of responses to ``request`` (RFC 9111 section 3)."""
        authorized = bool(h.get_headers(request.headers, "authorization"))
        targeted = self.settings.targeted

        def check(status: int, headers: h.Headers) -> str | None:
            cc = response_directives(headers, targeted)
            return store_reason(status, headers, cc, authorized=authorized)

        return check

    async def miss(
        self,
        request: Cacheable,
        receive: Receive,
        send: Send,
        key: str,
        stored: Envelope | None = None,
        fallback: bool = False,
    ) -> None:
        """Ask the app once for every concurrent request of ``key``, in and across processes.

        ``stored``: the copy held for the request, validated if it has
        validators; ``fallback``: it may answer if the app fails.
        """
        streamed: list[bool] = []
        asked: list[bool] = []

        async def fetch() -> tuple[Captured | None, str, str]:
            asked.append(True)
            return await self._fetch(request, receive, send, key, stored, fallback, streamed)

        async def recheck(
            outcome: tuple[Captured | None, str, str],
        ) -> tuple[Captured | None, str, str] | None:
            return await self._still_valid(outcome, key)

        outcome = await self.flight.do(key, fetch, recheck)
        leader = bool(asked)
        if streamed:
            return  # the response went straight to this client
        captured, status, stored_as = outcome
        # The leader's answer may vary on request headers: it is this request's
        # only if this request selects the same variant.
        varies = not leader and captured is not None and captured.vary and stored_as
        if varies and request.keys(captured.vary)[1] != stored_as:
            captured = None
        if captured is None:  # the leader's response could not be shared: ask the app ourselves
            await fetch_response(
                self.app, self.settings.max_body_size, request.scope, receive, send, []
            )
            return
        if not leader:
            status = _collapsed(status)
        await send_stored(request, send, captured, status, self.clock())

    async def _still_valid(
        self, outcome: tuple[Captured | None, str, str], key: str
    ) -> tuple[Captured | None, str, str] | None:
        """Return the answer if its stored copy is still valid; else None.

        For a request that came while the app was being asked: it takes the
        answer only if it is what the cache holds now (stored under its key,
        or the stale copy it fell back to, under ``key``) and no
        invalidation made that invalid since; else it asks again.
        """
        captured, _, stored_as = outcome
        if captured is None:
            return None
        entry = await safely(self.cache.aget_entry(stored_as or key), None)
        env = None if entry is None else Envelope.load(entry.value)
        if env is None or entry is None or not self.manager.tags.matches(env.tags, entry.refs):
            return None
        held = Captured.from_record(env.value)
        if (held.status, held.body) != (captured.status, captured.body):
            return None  # not the answer: an uncached one, or replaced since
        return outcome

    async def _fetch(
        self,
        request: Cacheable,
        receive: Receive,
        send: Send,
        key: str,
        stored: Envelope | None,
        fallback: bool,
        streamed: list[bool],
    ) -> tuple[Captured | None, str, str]:
        """Run the app for a single flight's leader; store it; return it, its status, its key."""
        # In-process callers share this run; other processes share it
        # through the fill lock: one of them asks the app, the rest wait.
        fill = FillLock(
            self.cache,
            key,
            lambda entry: self._fresh_envelope(entry, stored),
            self.settings.fill_wait,
        )
        found = await safely(fill.aacquire_or_wait(), None)
        try:
            if found is not None:
                fwd = "miss" if stored is None else "stale"
                status = exchange.cache_status(fwd=fwd, collapsed=True)
                return Captured.from_record(found.value), status, key
            return await self._ask(request, receive, send, stored, fallback, streamed)
        finally:
            await safely(fill.arelease(), None)

    async def _ask(
        self,
        request: Cacheable,
        receive: Receive,
        send: Send,
        stored: Envelope | None,
        fallback: bool,
        streamed: list[bool],
    ) -> tuple[Captured | None, str, str]:
        """Ask the app (conditionally if ``stored`` has validators).

        Return the answer, its Cache-Status and the key it was stored under ("" if not).
        """
        old = None if stored is None else Captured.from_record(stored.value)
        validators = [] if old is None else exchange.conditional_headers(old.headers)
        scope = _forwarded_scope(request, validators)
        hold = {304} if validators else set()
        if fallback:
            hold |= set(range(500, 600))
        requested = self.clock()
        before = await self._versions_before(request)
        fwd = "miss" if old is None else "stale"
        try:
            captured = await fetch_response(
                self.app, self.settings.max_body_size, scope, receive, send, streamed,
                self.judge(request), hold,
            )  # fmt: skip
        except Exception:
            if not fallback or old is None:
                raise
            log.warning("app failed; serving the stale copy (stale-if-error)", exc_info=True)
            return old, self._stale_status(stored, 500), ""
        if captured is None:
            return None, "", ""
        if old is not None and fallback and captured.status >= 500:
            self.manager.stats.record_stale()
            return old, self._stale_status(stored, captured.status), ""
        code = captured.status
        if old is not None and code == 304:
            fwd, captured = (
                "stale",
                Captured(
                    old.status,
                    exchange.updated_headers(old.headers, captured.headers, self.clock()),
                    old.body,
                ),
            )
        kept, answer, key = await self.store(request, captured, requested, before)
        status = exchange.cache_status(fwd=fwd, fwd_status=code, stored=kept is not None)
        return answer, status, key

    async def _versions_before(self, request: Cacheable) -> dict[str, str] | None:
        """Read the policy's and the URL's tag versions before the app is asked.

        A response stored after an invalidation that happened while it was
        being made then carries the old versions, and is never served. None
        if the backend failed: nothing is stored then.
        """
        tags = set(request.policy.tags) | {keys.url_tag(request.url)}
        return await safely(self.manager.tags.aget_versions(tags), None)

    def _stale_status(self, stored: Envelope | None, code: int) -> str:
        ttl = None if stored is None else stored.fresh_until - self.clock()
        return exchange.cache_status(fwd="stale", fwd_status=code, ttl=ttl, detail="stale-if-error")

    def _fresh_envelope(self, entry: Entry, seen: Envelope | None) -> Envelope | None:
        """Return the entry's envelope if another fill just stored it usable, with current tags.

        ``seen``: the envelope this request already judged unusable (e.g.
        ``no-cache``): finding it again is no reason to skip the app.
        """
        env = Envelope.load(entry.value)
        if env is None or env == seen or not self.manager.tags.matches(env.tags, entry.refs):
            return None
        captured = Captured.load(env.value)
        return (
            env if captured is not None and captured.usable(env.fresh_until, self.clock()) else None
        )

    async def store(
        self,
        request: Cacheable,
        captured: Captured,
        requested: float,
        before: dict[str, str] | None,
    ) -> tuple[Captured | None, Captured, str]:
        """Store a response under its own Vary's key if it may be (a merged 304 is judged again).

        ``before``: the tag versions read before the app was asked. Return it
        as stored (or None), as it is to be sent, and its key (or "").
        """
        surrogate = _surrogate_keys(captured.headers)
        policy = request.policy
        now = self.clock()
        defaults = Defaults(
            policy.timeout, policy.stale_while_revalidate, self.settings.stale_if_error
        )
        plan = plan_store(
            captured,
            requested=requested,
            received=now,
            defaults=defaults,
            targeted=self.settings.targeted,
        )
        if (
            plan.keep <= 0
            or before is None
            or self.judge(request)(captured.status, captured.headers)
        ):
            return None, plan.captured, ""
        vary = h.merge_vary((), captured.headers)
        url, key = request.keys(vary)

        async def store() -> bool:
            tags = self.manager.tags
            # The response's own tags are known only now (a residual window).
            versions = {**await tags.aget_versions(set(surrogate) - set(before)), **before}
            record = plan.captured.record(vary, now)
            env = Envelope(record, plan.fresh_until, plan.stale_until, versions)
            if vary:
                await self.cache.aset(reserved_key("vary", url), vary, plan.keep)
            await self.cache.aset_entry(key, env.dump(), plan.keep, tags.refs(versions))
            await self.cache.aindex_add(self.invalidator.index, {key: now})
            self.manager.stats.record_set()
            return True

        stored = await safely(store(), False)
        plan.captured.vary = vary
        return (plan.captured if stored else None), plan.captured, (key if stored else "")

    async def refresh(self, request: Cacheable, key: str, stored: Envelope, token: str) -> None:
        """Refresh a stale entry in the background; a failure keeps the stale one."""

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            return None

        lock = reserved_key("swr", key)
        try:
            # Double-check under the lease: a refresh that ended just before we
            # took it left a fresh entry, with nothing left to do.
            entry = await self.cache.aget_entry(key)
            if self._fresh_envelope(entry, stored) is not None:
                return
            old = Captured.from_record(stored.value)
            validators = exchange.conditional_headers(old.headers)
            scope = dict(_forwarded_scope(request, validators), method="GET")
            requested = self.clock()
            before = await self._versions_before(request)
            captured = await fetch_response(
                self.app, self.settings.max_body_size, scope, receive, discard, [],
                self.judge(request), {304} | set(range(500, 600)),
            )  # fmt: skip
            if captured is not None and captured.status == 304:
                captured = Captured(
                    old.status,
                    exchange.updated_headers(old.headers, captured.headers, self.clock()),
                    old.body,
                )
            if captured is not None and captured.status < 500:
                await self.store(request, captured, requested, before)
        except Exception:
            log.warning("background refresh of %s failed; the stale copy stays", key, exc_info=True)
            self.manager.stats.record_error()
        finally:
            await safely(self.cache.adelete_if_equals(lock, token), None)


def _forwarded_scope(request: Cacheable, validators: list[tuple[str, str]]) -> dict[str, object]:
    """Return the request's scope as the cache sends it: its own validators, not the client's."""
    raw = [
        (k, v)
        for k, v in request.scope["headers"]
        if k.decode("latin-1").lower() not in _CLIENT_CONDITIONALS
        and not (request.route.allow_range and k.lower() == b"range")
    ]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in validators]
    return dict(request.scope, headers=raw)


def _collapsed(status: str) -> str:
    """Return the leader's Cache-Status as a follower's: it shared the leader's trip."""
    if status.endswith("; collapsed"):
        return status
    parts = [p for p in status.split("; ") if p != "stored" and not p.startswith("fwd-status=")]
    at = next((i for i, p in enumerate(parts) if p.startswith("detail=")), len(parts))
    return "; ".join([*parts[:at], "collapsed", *parts[at:]])


def _surrogate_keys(headers: h.Headers) -> list[str]:
    """Return the tags a response names for itself (``Surrogate-Key``, ``Cache-Tag``)."""
    return h.split_list(
        h.get_headers(headers, "surrogate-key") + h.get_headers(headers, "cache-tag"), ", "
    )
