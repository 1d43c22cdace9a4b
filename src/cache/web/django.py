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
host allow-list. Stale-while-revalidate is not done here yet: stale entries
are misses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.module_loading import import_string

from cache.advanced._envelope import Envelope
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import CachePolicy, ContentTypeCacheManager
from cache.backend._keys import reserved_key
from cache.errors import CacheTypeError
from cache.web import headers as h
from cache.web import keys
from cache.web._stored import Captured, build_response

__all__ = ["CacheMiddleware", "cache_policy"]

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
    """Django middleware applying the policies of ``settings.CACHE_MANAGER``."""

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
        self.invalidator = CacheInvalidator(self.cache, registry="http")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Answer from the cache (in process_view), or store what the view returned."""
        response = self.get_response(request)
        pending: tuple[str, CachePolicy] | None = getattr(request, "_cache_pending", None)
        content_type: str | None = getattr(request, "_cache_content_type", None)
        if pending is not None:
            self._store(request, response, *pending)
        elif content_type and request.method in _UNSAFE and 200 <= response.status_code < 400:
            url = keys.url_key(
                content_type, request.scheme or "http", request.get_host(), request.path
            )
            self.invalidator.invalidate_prefix(url + "|")
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
        headers = list(request.headers.items())
        reason = self._bypass(request, headers)
        if reason is not None:
            return None
        policy = self.manager.get_policy(content_type)
        url = self._url(request, content_type)
        vary = self.cache.get(reserved_key("vary", url), [])
        key = self._variant(request, url, policy, headers, vary)
        entry = self.cache.get_entry(key)
        env = Envelope.load(entry.value)
        now = self.manager._clock()
        if (
            env is not None
            and env.is_fresh(now)
            and self.manager.tags.matches(env.tags, entry.refs)
        ):
            self.manager.stats.record_hit()
            record = env.value
            captured = Captured.from_record(record)
            status = h.cache_status(True, ttl=env.fresh_until - now)
            age = max(0.0, now - float(record["t"]))
            return self._answer(request, captured, headers, policy, status, age)
        self.manager.stats.record_miss()
        request._cache_pending = (content_type, policy)
        return None

    # -- helpers -------------------------------------------------------------------

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

    def _answer(
        self,
        request: HttpRequest,
        captured: Captured,
        headers: h.Headers,
        policy: CachePolicy,
        status: str,
        age: float,
    ) -> HttpResponse:
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
        now = self.manager._clock()
        versions = self.manager.tags.get_versions(set(policy.tags) | set(surrogate))
        captured = Captured(response.status_code, out, response.content)
        env = Envelope(
            captured.record(vary, now),
            now + ttl,
            now + ttl + policy.stale_while_revalidate,
            versions,
        )
        keep = ttl + policy.stale_while_revalidate
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
