"""Django adapter (extra ``django``): the ASGI middleware's rules, from the same decision core.

In settings, ``MIDDLEWARE = ["cache.django.CacheMiddleware", ...]`` (first: outermost) and
``CACHE_MANAGER`` (a ContentTypeCacheManager or its dotted path; by default the manager of a
``cache.django.CacheBackend`` in ``CACHES``); on a view, ``@cache_policy("page")``. Views
without ``cache_policy`` are never cached. The rest is :class:`cache.web.CacheMiddleware`'s
behaviour, from the same :mod:`cache.web.rfc9111` decisions; Django's ``ALLOWED_HOSTS`` is the
host allow-list, and a stale-while-revalidate refresh runs the view in one background thread
(one across processes). Optional settings, as the ASGI middleware's arguments:
``CACHE_STALE_IF_ERROR`` (300), ``CACHE_FILL_WAIT`` (10), ``CACHE_TARGETED_CACHE_CONTROL``
(``["CDN-Cache-Control"]``), ``CACHE_KEY_HEADERS``, ``CACHE_BYPASS_HEADERS``,
``CACHE_REQUEST_DIRECTIVES`` (False).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from cache.advanced.coordination import FillLock
from cache.advanced.envelope import Envelope
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import CachePolicy, ContentTypeCacheManager
from cache.backend.base import Entry
from cache.backend.validation import reserved_key
from cache.errors import CacheTypeError
from cache.web import headers as h
from cache.web import keys
from cache.web.rfc9111 import exchange
from cache.web.rfc9111.decide import Action, decide
from cache.web.rfc9111.directives import Directives, request_directives
from cache.web.rfc9111.freshness import Defaults, response_directives, store_reason
from cache.web.stored import Captured, build_response, plan_store

__all__ = ["CacheMiddleware", "cache_policy"]

log = logging.getLogger("cache.web")

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "cache_content_type"
_CONDITIONAL_META = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")


def cache_policy(content_type: str) -> Callable[[F], F]:
    """Cache this view's responses under the policy registered for ``content_type``."""

    def mark(view: F) -> F:
        setattr(view, _ATTR, content_type)
        return view

    return mark


class CacheMiddleware:
    """Django middleware applying the policies of ``settings.CACHE_MANAGER``."""

    _refreshes: ClassVar[set[threading.Thread]] = set()
    _refreshes_lock = threading.Lock()

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        manager = getattr(settings, "CACHE_MANAGER", None)
        if manager is None:  # the manager of a cache.django.CacheBackend in CACHES
            alias = getattr(settings, "CACHE_MIDDLEWARE_ALIAS", "default")
            manager = getattr(caches[alias], "manager", None)
        if isinstance(manager, str):
            manager = import_string(manager)
        if not isinstance(manager, ContentTypeCacheManager):
            raise CacheTypeError(
                "settings.CACHE_MANAGER must be a ContentTypeCacheManager or its dotted path, "
                "or CACHES[CACHE_MIDDLEWARE_ALIAS] a cache.django.CacheBackend"
            )
        self.manager = manager
        self.cache = manager.cache
        self.stale_if_error = float(getattr(settings, "CACHE_STALE_IF_ERROR", 300.0))
        self.fill_wait = float(getattr(settings, "CACHE_FILL_WAIT", 10.0))
        targeted = getattr(settings, "CACHE_TARGETED_CACHE_CONTROL", ["CDN-Cache-Control"])
        self.targeted = tuple(n.lower() for n in targeted)
        keyed = getattr(settings, "CACHE_KEY_HEADERS", exchange.FORWARDED_HEADERS)
        self.key_headers = tuple(n.lower() for n in keyed)
        bypass = getattr(settings, "CACHE_BYPASS_HEADERS", exchange.METHOD_OVERRIDES)
        self.bypass = tuple(n.lower() for n in bypass if n.lower() not in self.key_headers)
        self.request_directives = bool(getattr(settings, "CACHE_REQUEST_DIRECTIVES", False))
        self.invalidator = CacheInvalidator(self.cache, registry="http")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Answer from the cache (in process_view), or store what the view returned."""
        try:
            response = self.get_response(request)
            if request.method not in exchange.SAFE_METHODS:
                if 200 <= response.status_code < 400:
                    self._safely(lambda: self._invalidate(request, response))
                return response
            return self._respond(request, response)
        finally:
            fill: FillLock[Envelope] | None = getattr(request, "_cache_fill", None)
            if fill is not None:  # after storing: waiting processes then find the entry
                self._safely(fill.release)
            if getattr(request, "_cache_miss", False):
                self.manager.stats.record_miss(time.perf_counter() - request._cache_started)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        """Serve a cached answer for a view with a policy, or mark the request for storing."""
        content_type = getattr(view, _ATTR, None)
        if content_type is None or request.method not in ("GET", "HEAD"):
            return None
        policy = self.manager.get_policy(content_type)
        request._cache_headers = list(request.headers.items())
        request._cache_started = time.perf_counter()
        refresh = getattr(request, "_cache_refresh", False)  # a background refresh: run the view
        if not refresh and self._bypass(request, request._cache_headers) is not None:
            return None
        answer = (
            None if refresh else self._safely(lambda: self._lookup(request, content_type, policy))
        )
        if answer is None:  # a refresh, or the cache failed: store later
            self._pend(request, content_type, policy)
        return answer or None

    def _pend(self, request: HttpRequest, content_type: str, policy: CachePolicy) -> None:
        """Mark the request for storing, with the tag versions read before the view runs."""
        url = self._url(request, content_type, request.path)
        tags = set(policy.tags) | {keys.url_tag(url)}
        before = self._safely(lambda: self.manager.tags.get_versions(tags))
        request._cache_pending = (content_type, policy, self._now(), before)

    # -- reading -----------------------------------------------------------------------

    def _lookup(
        self, request: HttpRequest, content_type: str, policy: CachePolicy
    ) -> HttpResponseBase | bool:
        """Return a cached answer, or False after marking the request for the view."""
        headers = request._cache_headers
        url = self._url(request, content_type, request.path)
        key = self._variant(
            request, url, policy, headers, self.cache.get(reserved_key("vary", url), [])
        )
        entry = self.cache.get_entry(key)
        env = self._usable(entry)
        now = self._now()
        old = None if env is None else Captured.from_record(env.value)
        facts = (
            None if old is None or env is None else old.facts(env.fresh_until, env.stale_until, now)
        )
        decision = decide(facts, now, self._request_cc(headers))
        if old is not None and decision.action in (Action.SERVE, Action.SERVE_STALE):
            stale = decision.action is Action.SERVE_STALE
            if stale and self.cache.lease(
                reserved_key("swr", key), token := uuid.uuid4().hex, 30.0
            ):
                self._refresh(request, key, old, token)
            detail = "stale-while-revalidate" if stale else None
            status = exchange.cache_status(hit=True, ttl=decision.ttl, detail=detail)
            answer = self._answer(request, old, policy, status)
            self.manager.stats.record_hit(time.perf_counter() - request._cache_started)
            if stale:
                self.manager.stats.record_stale()
            return answer
        if decision.action is Action.GATEWAY_TIMEOUT:
            response = HttpResponse(status=504)
            response["Cache-Status"] = exchange.cache_status(fwd="request", detail="only-if-cached")
            return response
        request._cache_miss = True  # recorded with its duration once the view answered
        fill = FillLock(self.cache, key, lambda found: self._fresh(found, env), self.fill_wait)
        request._cache_fill = fill
        stored = fill.acquire_or_wait()
        if stored is not None:  # another thread or process ran the view just now
            status = exchange.cache_status(fwd="miss" if old is None else "stale", collapsed=True)
            return self._answer(request, Captured.from_record(stored.value), policy, status)
        request._cache_stale = (old, decision.fallback, env)
        _condition(request, old)
        self._pend(request, content_type, policy)
        return False

    def _request_cc(self, headers: h.Headers) -> Directives | None:
        if not self.request_directives:
            return None
        found = h.index(headers)
        return request_directives(found.get("cache-control", []), found.get("pragma", []))

    # -- writing -----------------------------------------------------------------------

    def _respond(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        pending: tuple[Any, ...] | None = getattr(request, "_cache_pending", None)
        if pending is None:
            return response
        policy = pending[1]
        old, fallback, env = getattr(request, "_cache_stale", (None, False, None))
        code = response.status_code
        if old is not None and fallback and code >= 500:
            self.manager.stats.record_stale()
            ttl = None if env is None else env.fresh_until - self._now()
            detail = "stale-if-error"
            status = exchange.cache_status(fwd="stale", fwd_status=code, ttl=ttl, detail=detail)
            return self._answer(request, old, policy, status)
        captured = _captured(response)
        if captured is None:
            return response
        fwd = "miss" if old is None else "stale"
        if old is not None and code == 304:
            merged = exchange.updated_headers(old.headers, captured.headers, self._now())
            captured = Captured(old.status, merged, old.body)
        reason = self._reason(request, captured)
        stored = None if reason else self._safely(lambda: self._store(request, captured, pending))
        if stored is None:
            response["Cache-Status"] = exchange.cache_status(fwd=fwd, detail=reason)
            return response
        status = exchange.cache_status(fwd=fwd, fwd_status=code, stored=True)
        return self._answer(request, stored, policy, status)

    def _reason(self, request: HttpRequest, captured: Captured) -> str | None:
        """Return why the response may not be stored (RFC 9111 section 3), or None."""
        cc = response_directives(captured.headers, self.targeted)
        authorized = bool(h.get_headers(request._cache_headers, "authorization"))
        return store_reason(captured.status, captured.headers, cc, authorized=authorized)

    def _store(
        self, request: HttpRequest, captured: Captured, pending: tuple[Any, ...]
    ) -> Captured | None:
        content_type, policy, requested, before = pending
        if before is None:
            return None
        now = self._now()
        defaults = Defaults(policy.timeout, policy.stale_while_revalidate, self.stale_if_error)
        plan = plan_store(
            captured, requested=requested, received=now, defaults=defaults, targeted=self.targeted
        )
        if plan.keep <= 0:
            return None
        out = captured.headers
        url = self._url(request, content_type, request.path)
        vary = h.merge_vary((), out)
        key = self._variant(request, url, policy, request._cache_headers, vary)
        surrogate = h.split_list(
            h.get_headers(out, "surrogate-key") + h.get_headers(out, "cache-tag"), ", "
        )
        # The response's own tags are known only now (a residual window).
        versions = {**self.manager.tags.get_versions(set(surrogate) - set(before)), **before}
        env = Envelope(
            plan.captured.record(vary, now), plan.fresh_until, plan.stale_until, versions
        )
        if vary:
            self.cache.set(reserved_key("vary", url), vary, plan.keep)
        self.cache.set_entry(key, env.dump(), plan.keep, self.manager.tags.refs(versions))
        self.cache.index_add(self.invalidator.index, {key: now})
        self.manager.stats.record_set()
        return plan.captured

    def _invalidate(self, request: HttpRequest, response: HttpResponseBase) -> None:
        """Drop the variants of the URL and of its Location targets (RFC 9111 section 4.4)."""
        host = keys.normalize_host(request.get_host(), request.scheme or "http")
        for path in exchange.invalidation_targets(request.path, host, list(response.items())):
            try:
                content_type = getattr(resolve(path).func, _ATTR, None)
            except Resolver404:
                continue
            if content_type is not None:
                url = self._url(request, content_type, path)
                self.manager.tags.invalidate_tag(keys.url_tag(url))  # fetches in flight too
                self.invalidator.invalidate_prefix(url + "|")

    def _refresh(self, request: HttpRequest, key: str, old: Captured, token: str) -> None:
        """Run the view again (conditionally) in a background thread and store its response."""
        fresh = copy.copy(request)
        fresh.META = dict(request.META)
        fresh._cache_refresh = True
        fresh.method = "GET"
        for name in ("_cache_pending", "_cache_stale", "_cache_fill"):
            fresh.__dict__.pop(name, None)
        _condition(fresh, old)
        fresh._cache_stale = (old, True, None)

        def run() -> None:
            try:
                response = self.get_response(fresh)
                if response.status_code < 500:
                    self._respond(fresh, response)
            except Exception:
                log.warning("refresh of %s failed; the stale copy stays", fresh.path, exc_info=True)
                self.manager.stats.record_error()
            finally:
                self._safely(lambda: self.cache.delete_if_equals(reserved_key("swr", key), token))
                connections.close_all()  # this thread's database connections
                with self._refreshes_lock:
                    self._refreshes.discard(thread)

        thread = threading.Thread(target=run, name="cache-refresh", daemon=True)
        with self._refreshes_lock:
            self._refreshes.add(thread)
        thread.start()

    @classmethod
    def wait_for_refreshes(cls, timeout: float | None = None) -> None:
        """Wait for the background refreshes running now (tests and shutdown)."""
        with cls._refreshes_lock:
            threads = list(cls._refreshes)
        for thread in threads:
            thread.join(timeout)

    # -- helpers -------------------------------------------------------------------

    def _now(self) -> float:
        return self.manager.clock()

    def _usable(self, entry: Entry) -> Envelope | None:
        env = Envelope.load(entry.value)
        if env is None or not self.manager.tags.matches(env.tags, entry.refs):
            return None
        return env

    def _fresh(self, entry: Entry, seen: Envelope | None) -> Envelope | None:
        """Return the entry's envelope if another fill just stored it usable (not ``seen``)."""
        env = self._usable(entry)
        if env is None or env == seen:
            return None
        captured = Captured.load(env.value)
        return (
            env if captured is not None and captured.usable(env.fresh_until, self._now()) else None
        )

    @staticmethod
    def _safely(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception:  # the cache must never turn a request into a 500
            log.warning("cache operation failed; passing the request through", exc_info=True)
            return None

    def _bypass(self, request: HttpRequest, headers: h.Headers) -> str | None:
        if request.COOKIES or request.body:  # as Django parsed them
            return "cookie" if request.COOKIES else "body"
        # Cookies as Django parsed them (its test client sends an empty Cookie line).
        return exchange.bypass_reason(headers, bypass=self.bypass, cookies=True)

    @staticmethod
    def _url(request: HttpRequest, content_type: str, path: str) -> str:
        host = keys.normalize_host(request.get_host(), request.scheme or "http")
        return keys.url_key(content_type, request.scheme or "http", host, path)

    def _variant(
        self,
        request: HttpRequest,
        url: str,
        policy: CachePolicy,
        headers: h.Headers,
        vary: list[str],
    ) -> str:
        query = keys.normalize_query(request.META.get("QUERY_STRING", ""))
        names = [*policy.vary_on, *vary, *self.key_headers]
        return keys.variant_key(url, query, keys.vary_values(headers, names))

    def _answer(
        self, request: HttpRequest, captured: Captured, policy: CachePolicy, status: str
    ) -> HttpResponse:
        code, out, body = build_response(
            captured, request._cache_headers, policy, status, self._now()
        )
        response = HttpResponse(b"" if request.method == "HEAD" else body, status=code)
        lines: dict[str, list[str]] = {}
        for name, value in out:
            if name.lower() == "set-cookie":
                response.cookies.load(value)
            elif name.lower() != "content-length":
                lines.setdefault(name, []).append(value)
        for name, values in lines.items():
            response[name] = ", ".join(values)
        return response


def _condition(request: HttpRequest, old: Captured | None) -> None:
    """Replace the client's validators in ``request`` with those of ``old`` (or none)."""
    request.__dict__.pop("headers", None)  # Django caches request.headers from META
    for name in _CONDITIONAL_META:
        request.META.pop(name, None)
    if old is not None:
        for name, value in exchange.conditional_headers(old.headers):
            request.META["HTTP_" + name.upper().replace("-", "_")] = value


def _captured(response: HttpResponseBase) -> Captured | None:
    """Return a complete Django response as a Captured (cookies as Set-Cookie lines)."""
    if response.streaming or not isinstance(response, HttpResponse):
        return None
    out = list(response.items())
    out += [("Set-Cookie", morsel.OutputString()) for morsel in response.cookies.values()]
    return Captured(response.status_code, out, response.content)
