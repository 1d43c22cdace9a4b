"""The Django adapter in a real Django app, driven by Django's test client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import django
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from cache.advanced import CachePolicy, CacheTag, ContentTypeCacheManager
from cache.backend import CacheBackend
from cache.testing import FakeClock
from cache.web.django import cache_policy

calls: Counter[str] = Counter()


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


def plain(request: HttpRequest) -> HttpResponse:
    calls["plain"] += 1
    return HttpResponse("plain")


urlpatterns = [path("pages/<str:name>", page), path("plain", plain)]

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
    settings.CACHE_MANAGER = manager
    calls.clear()
    yield Client()


def test_view_with_a_policy_is_cached(client: Client) -> None:
    first = client.get("/pages/home")
    second = client.get("/pages/home")
    assert first.headers["Cache-Status"] == "cache; fwd=miss; detail=stored"
    assert second.headers["Cache-Status"].startswith("cache; hit")
    assert second.content == first.content and calls["home"] == 1
    assert second.headers["Cache-Control"] == "public, max-age=60"
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
