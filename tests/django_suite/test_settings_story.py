"""One settings story: ``CACHES`` on ``cache.django.CacheBackend`` and the HTTP middleware in it.

The middleware's policies live in the manager of a ``CACHES`` alias, so pages,
``django.core.cache.cache`` values and tags share one engine, as
``docs/django.md`` describes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from django.core.cache import cache, caches
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

from cache.advanced import CachePolicy
from cache.django import CacheMiddleware, cache_policy

calls: Counter[str] = Counter()


@cache_policy("page")
def page(request: HttpRequest, name: str) -> HttpResponse:
    calls[name] += 1
    response = HttpResponse(f"{name} #{calls[name]}")
    response["Surrogate-Key"] = f"page:{name}"
    return response


urlpatterns = [path("pages/<str:name>", page)]


@pytest.fixture
def client() -> Iterator[Client]:
    caches_setting = {
        "default": {
            "BACKEND": "cache.django.CacheBackend",
            "LOCATION": "memory://?max_entries=5000",
            "KEY_PREFIX": "story",
        }
    }
    with override_settings(
        CACHES=caches_setting,
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["cache.django.CacheMiddleware"],
    ):
        manager = caches["default"].manager
        manager.register_policy("page", CachePolicy(timeout=60, tags={"pages"}))
        cache.clear()
        calls.clear()
        # No CACHE_MANAGER: the middleware takes the manager of CACHES["default"].
        with override_settings(CACHE_MANAGER=None):
            yield Client()
            CacheMiddleware.wait_for_refreshes()


def test_pages_and_values_share_the_engine_and_its_tags(client: Client) -> None:
    assert client.get("/pages/home").content == b"home #1"
    assert client.get("/pages/home").content == b"home #1"  # a hit
    cache.set("greeting", "hello")  # django.core.cache.cache, in the same engine
    assert caches["default"].engine is caches["default"].manager.cache
    caches["default"].tags.invalidate_tag("page:home")  # the page's Surrogate-Key
    assert client.get("/pages/home").content == b"home #2"
    caches["default"].tags.invalidate_tag("pages")  # the policy's tag
    assert client.get("/pages/home").content == b"home #3"
    assert cache.get("greeting") == "hello"  # tags drop tagged pages only
    assert calls["home"] == 3
