"""Django adapter (extra ``django``): the same policies and rules as the ASGI middleware.

In settings::

    MIDDLEWARE = ["cache.web.django.CacheMiddleware", ...]   # first: outermost
    CACHE_MANAGER = "myproject.caching.manager"   # a ContentTypeCacheManager, or its path

and on a view::

    @cache_policy("page")
    def home(request): ...

Views without ``cache_policy`` are never cached. Responses are stored and
answered as in :class:`cache.web.CacheMiddleware` (storable responses only,
bypass of Authorization/Cookie/Range/body requests, Vary and ``vary_on``
variants, ETag, Age, Cache-Status, 304, Surrogate-Key tags, and a successful
unsafe request drops the URL's variants); Django's ``ALLOWED_HOSTS`` is the
host allow-list. A stale entry within the policy's ``stale_while_revalidate``
window is served while one background thread (one across processes, through
a lock in the backend) runs the view again; past it, for
``settings.CACHE_STALE_IF_ERROR`` more seconds (300 by default), it is served
when the view fails. Concurrent misses of one URL run the view once, across
processes too. If the backend fails, requests go to the view uncached.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.module_loading import import_string

from cache.advanced.coordination import FillLock
from cache.advanced.envelope import Envelope
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import CachePolicy, ContentTypeCacheManager
from cache.backend.base import Claim, Entry
from cache.backend.validation import reserved_key
from cache.errors import CacheTypeError
from cache.web import headers as h
from cache.web import keys
from cache.web.stored import Captured, build_response

__all__ = ["CacheMiddleware", "cache_policy"]

log = logging.getLogger("cache.web")

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "cache_content_type"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cache_policy(content_type: str) -> Callable[[F], F]:
    """Cache this view's responses under the policy registered for ``content_type``."""

    def mark(view: F) -> F:
        setattr(view, _ATTR, content_type)
        return view

    return mark


class CacheMiddleware:
    """Django middleware applying the policies of ``settings.CACHE_MANAGER``.

    Optional settings: ``CACHE_STALE_IF_ERROR`` (seconds, default 300) and
    ``CACHE_FILL_WAIT`` (seconds a miss waits for another process already
    running the same view, default 10).
    """

    _refreshes: ClassVar[set[threading.Thread]] = set()
    _refreshes_lock = threading.Lock()

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        manager = settings.CACHE_MANAGER
        if isinstance(manager, str):
            manager = import_string(manager)
        if not isinstance(manager, ContentTypeCacheManager):
            raise CacheTypeError(
                "settings.CACHE_MANAGER must be a ContentTypeCacheManager or its dotted path"
            )
        self.manager = manager
        self.cache = manager.cache
        self.stale_if_error = float(getattr(settings, "CACHE_STALE_IF_ERROR", 300.0))
        self.fill_wait = float(getattr(settings, "CACHE_FILL_WAIT", 10.0))
        self.invalidator = CacheInvalidator(self.cache, registry="http")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Answer from the cache (in process_view), or store what the view returned."""
        try:
            return self._respond(request, self.get_response(request))
        finally:
            fill: FillLock[Envelope] | None = getattr(request, "_cache_fill", None)
            if fill is not None:  # after storing: waiting processes then find the entry
                self._safely(fill.release)

    def _respond(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        pending: tuple[str, CachePolicy] | None = getattr(request, "_cache_pending", None)
        content_type: str | None = getattr(request, "_cache_content_type", None)
        stale: Envelope | None = getattr(request, "_cache_stale", None)
        if pending is not None and stale is not None and response.status_code >= 500:
            self.manager.stats.record_stale()
            status = h.cache_status(
                True, ttl=stale.fresh_until - self._now(), detail="stale-if-error"
            )
            return self._answer_envelope(request, stale, pending[1], status)
        if pending is not None:
            self._safely(lambda: self._store(request, response, *pending))
        elif content_type and request.method in _UNSAFE and 200 <= response.status_code < 400:
            url = self._url(request, content_type)
            self._safely(lambda: self.invalidator.invalidate_prefix(url + "|"))
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        """Serve a cached answer for a view with a policy, or mark the request for storing."""
        content_type = getattr(view, _ATTR, None)
        if content_type is None:
            return None
        request._cache_content_type = content_type
        if request.method not in ("GET", "HEAD"):
            return None
        policy = self.manager.get_policy(content_type)
        if getattr(request, "_cache_refresh", False):  # a background refresh: run the view
            request._cache_pending = (content_type, policy)
            return None
        headers = list(request.headers.items())
        if self._bypass(request, headers) is not None:
            return None
        answer = self._safely(lambda: self._lookup(request, content_type, policy, headers))
        if answer is None:
            request._cache_pending = (content_type, policy)  # the cache failed: store later
        return answer or None

    def _lookup(
        self, request: HttpRequest, content_type: str, policy: CachePolicy, headers: h.Headers
    ) -> HttpResponseBase | bool:
        """Return a cached answer, or False after marking the request for the view."""
        url = self._url(request, content_type)
        vary = self.cache.get(reserved_key("vary", url), [])
        key = self._variant(request, url, policy, headers, vary)
        swr = policy.stale_while_revalidate
        claim = (
            Claim(reserved_key("swr", key), uuid.uuid4().hex, 30.0, swr + self.stale_if_error)
            if swr
            else None
        )
        entry = self.cache.get_entry(key, claim)
        env = self._usable(entry)
        now = self._now()
        claimed = claim is not None and entry.claimed
        if env is not None and env.is_fresh(now):
            if claimed:
                self.cache.delete_if_equals(claim.key, claim.token)  # type: ignore[union-attr]
            self.manager.stats.record_hit()
            status = h.cache_status(True, ttl=env.fresh_until - now)
            return self._answer_envelope(request, env, policy, status)
        if env is not None and env.is_servable(now):
            if claimed:
                self._refresh(request, claim)  # type: ignore[arg-type]
            self.manager.stats.record_stale()
            self.manager.stats.record_hit()
            status = h.cache_status(
                True, ttl=env.fresh_until - now, detail="stale-while-revalidate"
            )
            return self._answer_envelope(request, env, policy, status)
        if claimed:
            self.cache.delete_if_equals(claim.key, claim.token)  # type: ignore[union-attr]
        self.manager.stats.record_miss()
        in_error_window = env is not None and now < env.stale_until + self.stale_if_error
        if in_error_window:
            request._cache_stale = env  # served instead of a failure (stale-if-error)
        fill = FillLock(self.cache, key, self._fresh, self.fill_wait)
        request._cache_fill = fill
        stored = fill.acquire_or_wait()
        if stored is not None:  # another thread or process ran the view just now
            fwd = "stale" if in_error_window else "miss"
            status = h.cache_status(False, fwd=fwd, detail="collapsed")
            return self._answer_envelope(request, stored, policy, status)
        request._cache_pending = (content_type, policy)
        return False

    def _refresh(self, request: HttpRequest, claim: Claim) -> None:
        """Run the view again in a background thread and store its response."""
        fresh = copy.copy(request)
        fresh._cache_refresh = True
        fresh.method = "GET"
        for name in ("_cache_pending", "_cache_stale", "_cache_fill"):
            fresh.__dict__.pop(name, None)

        def run() -> None:
            try:
                response = self.get_response(fresh)
                pending = getattr(fresh, "_cache_pending", None)
                if pending is not None and response.status_code < 500:
                    self._store(fresh, response, *pending)
            except Exception:
                log.warning(
                    "background refresh of %s failed; the stale copy stays",
                    fresh.path,
                    exc_info=True,
                )
                self.manager.stats.record_error()
            finally:
                self._safely(lambda: self.cache.delete_if_equals(claim.key, claim.token))
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

    def _fresh(self, entry: Entry) -> Envelope | None:
        env = self._usable(entry)
        return env if env is not None and env.is_fresh(self._now()) else None

    @staticmethod
    def _safely(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception:  # the cache must never turn a request into a 500
            log.warning("cache operation failed; passing the request through", exc_info=True)
            return None

    @staticmethod
    def _bypass(request: HttpRequest, headers: h.Headers) -> str | None:
        if h.get_headers(headers, "authorization"):
            return "authorization"
        if request.COOKIES:
            return "cookie"
        if h.get_headers(headers, "range"):
            return "range"
        if request.body:
            return "body"
        return None

    @staticmethod
    def _url(request: HttpRequest, content_type: str) -> str:
        return keys.url_key(
            content_type, request.scheme or "http", request.get_host(), request.path
        )

    @staticmethod
    def _variant(
        request: HttpRequest, url: str, policy: CachePolicy, headers: h.Headers, vary: list[str]
    ) -> str:
        query = keys.normalize_query(request.META.get("QUERY_STRING", ""))
        return keys.variant_key(url, query, keys.vary_values(headers, [*policy.vary_on, *vary]))

    def _answer_envelope(
        self, request: HttpRequest, env: Envelope, policy: CachePolicy, status: str
    ) -> HttpResponse:
        captured = Captured.from_record(env.value)
        age = max(0.0, self._now() - (captured.stored_at or 0.0))
        headers = list(request.headers.items())
        code, out, body = build_response(captured, headers, policy, status, age)
        response = HttpResponse(b"" if request.method == "HEAD" else body, status=code)
        for name, value in out:
            if name.lower() != "content-length":
                response[name] = value
        return response

    def _store(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        content_type: str,
        policy: CachePolicy,
    ) -> None:
        if response.streaming or not isinstance(response, HttpResponse):
            return
        out = [(k, v) for k, v in response.items()]
        if response.cookies:
            out.append(("Set-Cookie", "..."))  # Django keeps cookies apart from headers
        reason = h.storable_response(response.status_code, out)
        if reason is not None:
            response["Cache-Status"] = h.cache_status(False, fwd="miss", detail=reason)
            return
        headers = list(request.headers.items())
        url = self._url(request, content_type)
        vary = h.merge_vary((), out)
        key = self._variant(request, url, policy, headers, vary)
        surrogate = h.split_list(
            h.get_headers(out, "surrogate-key") + h.get_headers(out, "cache-tag"), ", "
        )
        ttl = h.response_ttl(out, policy.timeout)
        now = self._now()
        versions = self.manager.tags.get_versions(set(policy.tags) | set(surrogate))
        captured = Captured(response.status_code, out, response.content)
        env = Envelope(
            captured.record(vary, now),
            now + ttl,
            now + ttl + policy.stale_while_revalidate,
            versions,
        )
        keep = ttl + policy.stale_while_revalidate + self.stale_if_error
        if vary:
            self.cache.set(reserved_key("vary", url), vary, keep)
        self.cache.set_entry(key, env.dump(), keep, self.manager.tags.refs(versions))
        self.cache.index_add(self.invalidator.index, {key: now})
        self.manager.stats.record_set()
        for name in ("Surrogate-Key", "Cache-Tag"):
            if name in response:
                del response[name]
        if "Cache-Control" not in response and policy.cache_control:
            response["Cache-Control"] = policy.cache_control
        response["ETag"] = response.get("ETag") or h.strong_etag(response.content)
        response["Cache-Status"] = h.cache_status(False, fwd="miss", detail="stored")
