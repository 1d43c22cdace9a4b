"""The Django adapter in a real Django app, driven by Django's test client."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import django
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from cache.advanced import CachePolicy, CacheTag, ContentTypeCacheManager
from cache.backend import CacheBackend, RedisCache
from cache.testing import FakeClock
from cache.web.django import CacheMiddleware, cache_policy

calls: Counter[str] = Counter()
failing = threading.Event()
gate = threading.Event()  # cleared: the api view waits (a slow refresh)


@cache_policy("page")
def page(request: HttpRequest, name: str) -> HttpResponse:
    if request.method == "POST":
        return HttpResponse("saved")
    calls[name] += 1
    response = HttpResponse(
        f"{name} #{calls[name]} lang={request.headers.get('Accept-Language', '')}"
    )
    response["Surrogate-Key"] = f"page:{name}"
    if "cookie" in request.GET:
        response.set_cookie("session", "1")
    if "private" in request.GET:
        response["Cache-Control"] = "private"
    return response


@cache_policy("api")
def api(request: HttpRequest, name: str) -> HttpResponse:
    calls[name] += 1
    gate.wait(5)
    time.sleep(float(request.GET.get("slow", 0)))
    if failing.is_set():
        raise RuntimeError("the database is down")
    return HttpResponse(f"{name} #{calls[name]}")


def plain(request: HttpRequest) -> HttpResponse:
    calls["plain"] += 1
    return HttpResponse("plain")


urlpatterns = [
    path("pages/<str:name>", page),
    path("api/<str:name>", api),
    path("plain", plain),
]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only-secret-key-0123456789",
        ALLOWED_HOSTS=["testserver", "example.com"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["cache.web.django.CacheMiddleware"],
        CACHE_MANAGER=None,
    )
    django.setup()


@pytest.fixture
def client(backend: CacheBackend, clock: FakeClock) -> Iterator[Client]:
    manager = ContentTypeCacheManager(backend, clock=clock)
    manager.register_policy(
        "page", CachePolicy(timeout=60, tags={"pages"}, vary_on=["Accept-Language"])
    )
    manager.register_policy("api", CachePolicy(timeout=10, stale_while_revalidate=30))
    settings.CACHE_MANAGER = manager
    calls.clear()
    failing.clear()
    gate.set()
    yield Client(raise_request_exception=False)
    CacheMiddleware.wait_for_refreshes()


def test_view_with_a_policy_is_cached(client: Client) -> None:
    first = client.get("/pages/home")
    second = client.get("/pages/home")
    assert first.headers["Cache-Status"] == "cache; fwd=miss; fwd-status=200; stored"
    assert second.headers["Cache-Status"].startswith("cache; hit")
    assert second.content == first.content and calls["home"] == 1
    assert second.headers["Cache-Control"] == "no-cache"
    assert "Surrogate-Key" not in second.headers
    etag = second.headers["ETag"]
    assert client.get("/pages/home", HTTP_IF_NONE_MATCH=etag).status_code == 304
    head = client.head("/pages/home")
    assert head.content == b"" and head.headers["Cache-Status"].startswith("cache; hit")


def test_views_without_a_policy_are_not_cached(client: Client) -> None:
    client.get("/plain")
    client.get("/plain")
    assert calls["plain"] == 2


def test_vary_on_and_bypasses(client: Client) -> None:
    client.get("/pages/v", HTTP_ACCEPT_LANGUAGE="fr")
    client.get("/pages/v", HTTP_ACCEPT_LANGUAGE="en")
    client.get("/pages/v", HTTP_ACCEPT_LANGUAGE="fr")
    assert calls["v"] == 2
    client.get("/pages/v", HTTP_ACCEPT_LANGUAGE="fr", HTTP_AUTHORIZATION="Bearer x")
    assert calls["v"] == 3


def test_non_storable_responses(client: Client) -> None:
    for query in ("cookie=1", "private=1"):
        for _ in range(2):
            response = client.get(f"/pages/n?{query}")
            client.cookies.clear()
            assert "detail=" in response.headers["Cache-Status"]
    assert calls["n"] == 4


def test_tags_and_unsafe_requests_invalidate(client: Client, backend: CacheBackend) -> None:
    client.get("/pages/t")
    CacheTag(backend).invalidate_tag("page:t")
    client.get("/pages/t")
    assert calls["t"] == 2
    assert client.post("/pages/t").status_code == 200
    client.get("/pages/t")
    assert calls["t"] == 3


def test_stale_while_revalidate_refreshes_once_in_the_background(
    client: Client, clock: FakeClock
) -> None:
    assert client.get("/api/s").content == b"s #1"
    clock.advance(15)  # past the 10 s timeout, within the 30 s stale window
    gate.clear()  # the refresh waits until the three stale answers are out
    stale = [client.get("/api/s") for _ in range(3)]
    assert all(r.content == b"s #1" for r in stale)
    assert all("detail=stale-while-revalidate" in r.headers["Cache-Status"] for r in stale)
    gate.set()
    CacheMiddleware.wait_for_refreshes()
    assert calls["s"] == 2  # one refresh for the three stale answers
    fresh = client.get("/api/s")
    assert fresh.content == b"s #2" and fresh.headers["Cache-Status"].startswith("cache; hit")


def test_stale_if_error_serves_the_stored_copy_when_the_view_fails(
    client: Client, clock: FakeClock
) -> None:
    client.get("/api/e")
    clock.advance(60)  # past the stale window, within stale-if-error
    failing.set()
    response = client.get("/api/e")
    assert response.status_code == 200 and response.content == b"e #1"
    assert response.headers["Cache-Status"].endswith("detail=stale-if-error")
    failing.clear()
    assert client.get("/api/e").content == b"e #3"
    clock.advance(1_000)  # past stale-if-error too: the failure shows
    failing.set()
    assert client.get("/api/e").status_code == 500


def _at_once(url: str, clients: int) -> list[tuple[bytes, str]]:
    """GET ``url`` from several threads at once: content and Cache-Status of each."""
    results: list[tuple[bytes, str]] = []

    def fetch() -> None:
        response = Client().get(url)
        results.append((response.content, response.headers["Cache-Status"]))

    threads = [threading.Thread(target=fetch) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_misses_run_the_view_once(client: Client) -> None:
    # Each thread has its own Client, hence its own middleware: like separate
    # processes, they meet only at the fill lock in the backend.
    results = _at_once("/api/c?slow=0.2", 4)
    assert calls["c"] == 1
    assert {content for content, _ in results} == {b"c #1"}
    details = sorted(status for _, status in results)
    assert details.count("cache; fwd=miss; collapsed") == 3


def test_concurrent_requests_in_the_stale_if_error_window_run_the_view_once(
    client: Client, clock: FakeClock
) -> None:
    client.get("/api/w?slow=0.2")
    clock.advance(60)  # past the stale window, within stale-if-error
    results = _at_once("/api/w?slow=0.2", 4)
    assert calls["w"] == 2  # the view ran once for the four
    assert {content for content, _ in results} == {b"w #2"}
    details = sorted(status for _, status in results)
    assert details.count("cache; fwd=stale; collapsed") == 3


def test_a_backend_failure_passes_requests_to_the_view(client: Client) -> None:
    manager = ContentTypeCacheManager(RedisCache("redis://127.0.0.1:1/0", strict=True))
    manager.register_policy("page", CachePolicy(timeout=60))
    settings.CACHE_MANAGER = manager
    down = Client()
    assert down.get("/pages/d").status_code == 200
    assert down.get("/pages/d").status_code == 200
    assert calls["d"] == 2
