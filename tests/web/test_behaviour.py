"""One behaviour suite for both adapters: the ASGI middleware and the Django adapter.

The same origin (a function of method, path and request headers) sits behind
``cache.web.CacheMiddleware`` in an ASGI app and behind
``cache.web.django.CacheMiddleware`` in a Django app; each scenario runs
against both, through their real request paths, and asserts what the client
and the origin saw.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client as DjangoClient
from django.urls import re_path

import tests.web.test_django
from cache.advanced import CachePolicy, ContentTypeCacheManager
from cache.backend import InMemoryCache
from cache.testing import FakeClock
from cache.web import CacheMiddleware, Route
from cache.web.django import CacheMiddleware as DjangoMiddleware
from cache.web.django import cache_policy

Headers = list[tuple[str, str]]


@dataclass
class Origin:
    """What the app answers, per path, and what reached it."""

    answers: dict[str, tuple[int, Headers, bytes]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    seen: list[Headers] = field(default_factory=list)

    def answer(self, method: str, path: str, headers: Headers) -> tuple[int, Headers, bytes]:
        self.calls[f"{method} {path}"] += 1
        self.seen.append(headers)
        status, out, body = self.answers.get(path, (200, [], b"body"))
        etag = dict((k.lower(), v) for k, v in out).get("etag")
        inm = dict((k.lower(), v) for k, v in headers).get("if-none-match")
        if etag is not None and inm == etag:
            return 304, [("Test-Header", "updated")], b""
        reflected = dict((k.lower(), v) for k, v in headers).get("x-forwarded-host")
        if reflected:
            body += f" link=https://{reflected}/".encode()
        return status, out, body + f" #{self.calls[f'{method} {path}']}".encode()


ORIGIN = Origin()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


Send = Callable[..., Response]


def _asgi(clock: FakeClock) -> Send:
    async def app(scope: dict, receive: Callable, send: Callable) -> None:  # type: ignore[type-arg]
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        status, out, body = ORIGIN.answer(scope["method"], scope["path"], headers)
        raw = [(k.lower().encode(), v.encode()) for k, v in out]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    middleware = CacheMiddleware(app, _manager(clock), [Route("/r/.*", "page")], clock=clock)
    transport = httpx.ASGITransport(app=middleware)
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    loop = asyncio.new_event_loop()
    LOOPS.append(loop)

    def request(method: str, path: str, headers: dict[str, str] | None = None) -> Response:
        r = loop.run_until_complete(client.request(method, path, headers=headers or {}))
        return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

    request.settle = lambda: loop.run_until_complete(middleware.wait_for_refreshes())  # type: ignore[attr-defined]
    return request


#: The event loops the ASGI side ran on, closed after each test.
LOOPS: list[asyncio.AbstractEventLoop] = []


@cache_policy("page")
def _view(request: HttpRequest, rest: str) -> HttpResponse:
    status, out, body = ORIGIN.answer(
        request.method or "GET", request.path, list(request.headers.items())
    )
    response = HttpResponse(body, status=status)
    for name, value in out:
        response[name] = value
    return response


def _django(clock: FakeClock) -> Send:
    settings.CACHE_MANAGER = _manager(clock)
    client = DjangoClient()

    def request(method: str, path: str, headers: dict[str, str] | None = None) -> Response:
        r = client.generic(method, path, headers=headers or {})
        return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

    request.settle = DjangoMiddleware.wait_for_refreshes  # type: ignore[attr-defined]
    return request


def _manager(clock: FakeClock) -> ContentTypeCacheManager:
    manager = ContentTypeCacheManager(InMemoryCache(clock=clock), clock=clock)
    manager.register_policy("page", CachePolicy(timeout=60))
    return manager


tests.web.test_django.urlpatterns.append(re_path(r"^r/(?P<rest>.*)$", _view))


@pytest.fixture(params=["asgi", "django"])
def site(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Send]:
    ORIGIN.answers.clear()
    ORIGIN.calls.clear()
    ORIGIN.seen.clear()
    yield (_asgi if request.param == "asgi" else _django)(clock)
    while LOOPS:
        LOOPS.pop().close()


def test_max_age_then_stale(site: Send, clock: FakeClock) -> None:
    ORIGIN.answers["/r/a"] = (200, [("Cache-Control", "max-age=10")], b"a")
    assert site("GET", "/r/a").body == b"a #1"
    hit = site("GET", "/r/a")
    assert hit.body == b"a #1" and hit.headers["cache-status"].startswith("cache; hit")
    assert "date" in hit.headers and "age" in hit.headers
    clock.advance(11)
    assert site("GET", "/r/a").body == b"a #2"


def test_expires_in_the_past_and_an_old_age_are_never_reused(site: Send) -> None:
    ORIGIN.answers["/r/e"] = (200, [("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")], b"e")
    ORIGIN.answers["/r/g"] = (200, [("Cache-Control", "max-age=60"), ("Age", "120")], b"g")
    for path in ("/r/e", "/r/g"):
        site("GET", path)
        site("GET", path)
        assert ORIGIN.calls[f"GET {path}"] == 2


def test_a_stale_response_is_revalidated_and_a_304_updates_it(site: Send, clock: FakeClock) -> None:
    ORIGIN.answers["/r/v"] = (200, [("Cache-Control", "max-age=5"), ("ETag", '"v1"')], b"v")
    site("GET", "/r/v")
    clock.advance(6)
    again = site("GET", "/r/v")
    assert ("If-None-Match", '"v1"') in [(k.title(), v) for k, v in ORIGIN.seen[-1]]
    assert again.status == 200 and again.body == b"v #1"  # the stored body, freshened
    assert again.headers["test-header"] == "updated"
    assert "fwd=stale; fwd-status=304" in again.headers["cache-status"]
    assert site("GET", "/r/v").headers["cache-status"].startswith("cache; hit")


def test_must_revalidate_forbids_serving_stale_on_failure(site: Send, clock: FakeClock) -> None:
    ORIGIN.answers["/r/m"] = (200, [("Cache-Control", "max-age=5, must-revalidate")], b"m")
    site("GET", "/r/m")
    clock.advance(6)
    ORIGIN.answers["/r/m"] = (503, [], b"down")
    assert site("GET", "/r/m").status == 503


def test_no_store_private_and_cdn_cache_control(site: Send) -> None:
    ORIGIN.answers["/r/n"] = (200, [("Cache-Control", "no-store")], b"n")
    ORIGIN.answers["/r/p"] = (200, [("Cache-Control", "private, max-age=60")], b"p")
    ORIGIN.answers["/r/c"] = (
        200,
        [("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=60")],
        b"c",
    )
    for path in ("/r/n", "/r/p", "/r/c"):
        site("GET", path)
        site("GET", path)
    assert (ORIGIN.calls["GET /r/n"], ORIGIN.calls["GET /r/p"], ORIGIN.calls["GET /r/c"]) == (
        2,
        2,
        1,
    )


def test_vary_is_exact_and_sent_as_written(site: Send) -> None:
    ORIGIN.answers["/r/y"] = (200, [("Cache-Control", "max-age=60"), ("Vary", "Foo")], b"y")
    first = site("GET", "/r/y", {"Foo": "1"})
    assert first.headers["vary"] == "Foo"
    assert site("GET", "/r/y", {"Foo": "1"}).body == b"y #1"
    assert site("GET", "/r/y", {"Foo": ""}).body == b"y #2"  # empty is not absent
    assert site("GET", "/r/y").body == b"y #3"


def test_unsafe_methods_invalidate_the_url_and_its_location(site: Send) -> None:
    for path in ("/r/u", "/r/l"):
        ORIGIN.answers[path] = (200, [("Cache-Control", "max-age=60")], b"x")
        site("GET", path)
    ORIGIN.answers["/r/u"] = (200, [("Cache-Control", "max-age=60"), ("Location", "/r/l")], b"x")
    assert site("M-SEARCH", "/r/u").status == 200
    site("GET", "/r/u")
    site("GET", "/r/l")
    assert ORIGIN.calls["GET /r/u"] == 2 and ORIGIN.calls["GET /r/l"] == 2


def test_a_reflected_forwarded_host_never_reaches_other_clients(site: Send) -> None:
    ORIGIN.answers["/r/f"] = (200, [("Cache-Control", "max-age=60")], b"f")
    poisoned = site("GET", "/r/f", {"X-Forwarded-Host": "evil.test"})
    assert b"evil.test" in poisoned.body
    clean = site("GET", "/r/f")
    assert b"evil.test" not in clean.body


def test_query_order_of_repeated_names_is_kept(site: Send) -> None:
    ORIGIN.answers["/r/q"] = (200, [("Cache-Control", "max-age=60")], b"q")
    assert site("GET", "/r/q?a=1&a=2").body == b"q #1"
    assert site("GET", "/r/q?a=2&a=1").body == b"q #2"
    assert site("GET", "/r/q?a=1&a=2").body == b"q #1"


def test_ranges_are_served_from_a_stored_response(site: Send) -> None:
    ORIGIN.answers["/r/b"] = (200, [("Cache-Control", "max-age=60")], b"0123456789")
    site("GET", "/r/b")
    part = site("GET", "/r/b", {"Range": "bytes=0-3"})
    assert part.status == 206 and part.body == b"0123"
    assert part.headers["content-range"].startswith("bytes 0-3/")


def test_stale_while_revalidate_refreshes_with_the_stored_validators(
    site: Send, clock: FakeClock
) -> None:
    cc = "max-age=5, stale-while-revalidate=30"
    ORIGIN.answers["/r/s"] = (200, [("Cache-Control", cc), ("ETag", '"s1"')], b"s")
    site("GET", "/r/s")
    clock.advance(6)
    stale = site("GET", "/r/s")
    assert (
        stale.body == b"s #1" and "detail=stale-while-revalidate" in stale.headers["cache-status"]
    )
    site.settle()  # type: ignore[attr-defined]
    assert ORIGIN.calls["GET /r/s"] == 2  # one background refresh
    assert ("if-none-match", '"s1"') in [(k.lower(), v) for k, v in ORIGIN.seen[-1]]
    fresh = site("GET", "/r/s")  # the 304 freshened the stored copy
    assert fresh.headers["cache-status"].startswith("cache; hit") and fresh.body == b"s #1"
    assert fresh.headers["test-header"] == "updated"
