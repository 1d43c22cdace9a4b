"""``cache.django.CacheBackend`` beyond Django's own suite (``tests/django_suite``).

The features reachable from it, its value codecs, its options, and the
settings story it shares with the middleware. Backends are built directly,
as Django's ``CacheHandler`` builds them (``Backend(LOCATION, params)``), so
these tests need no configured Django settings.
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable

import pytest
import redis
from django.core.cache import CacheKeyWarning
from django.core.exceptions import ImproperlyConfigured

import cache.django
from cache import MISSING
from cache.advanced import CachePolicy
from cache.django import CacheBackend
from cache.django._values import SignedPickles
from cache.errors import CacheTypeError
from cache.testing.redis_server import RedisServer
from cache.web import django as web_django

SIGNED = {"SIGNING_KEY": "tests-only-signing-key-0123456789"}

Make = Callable[..., CacheBackend]


@pytest.fixture
def make(redis_server: RedisServer) -> Make:
    """Build a backend on ``memory`` or on the session's Redis (a database of its own)."""
    base = redis_server.url.rsplit("/", 1)[0]

    def make_(engine: str, db: int = 7, query: str = "", **params: object) -> CacheBackend:
        location = "memory://" if engine == "memory" else f"{base}/{db}{query}"
        options = {**SIGNED, **params.pop("OPTIONS", {})}  # type: ignore[dict-item]
        backend = CacheBackend(location, {**params, "OPTIONS": options})
        if engine == "redis":
            redis.Redis.from_url(f"{base}/{db}").flushdb()
        else:
            backend.clear()
        return backend

    return make_


def test_one_settings_story_the_package_re_exports_the_middleware() -> None:
    assert cache.django.CacheMiddleware is web_django.CacheMiddleware
    assert cache.django.cache_policy is web_django.cache_policy
    assert set(cache.django.__all__) == {"CacheBackend", "CacheMiddleware", "cache_policy"}


@pytest.mark.parametrize("engine", ["memory", "redis"])
def test_the_features_work_over_the_backends_engine(make: Make, engine: str) -> None:
    backend = make(engine, query="?namespace=features")
    again = make(engine, query="?namespace=features")  # another thread's instance
    assert again.engine is backend.engine and again.tags is backend.tags
    assert backend.tags.cache is backend.engine
    assert backend.manager.cache is backend.engine and backend.manager.tags is backend.tags
    assert backend.swr.cache is backend.engine
    assert backend.invalidator.cache is backend.engine
    manager = backend.manager
    manager.register_policy("article", CachePolicy(timeout=60, tags={"articles"}))
    manager.cache_content("article", 1, {"title": "Hello"})
    assert manager.get_cached_content("article", 1) == {"title": "Hello"}
    backend.set("plain", "Django's value")
    backend.tags.invalidate_tag("articles")
    assert manager.get_cached_content("article", 1) is None
    assert backend.get("plain") == "Django's value"  # tags touch only tagged entries
    value, stale = backend.swr.get_with_swr("report", lambda: [1, 2], 60, 30)
    assert (value, stale) == ([1, 2], False)
    backend.swr.close()


def test_prefix_invalidation_of_djangos_keys(make: Make) -> None:
    backend = make("memory", KEY_PREFIX="site")
    for name in ("user:1", "user:2", "page:1"):
        backend.set(name, name)
        backend.invalidator.register_key(backend.make_key(name))
    assert backend.invalidator.invalidate_prefix(backend.make_key("user:")) == 2
    assert backend.get_many(["user:1", "user:2", "page:1"]) == {"page:1": "page:1"}


def test_statistics_are_recorded_when_asked_for(make: Make) -> None:
    plain = make("memory")
    assert plain.stats is None
    backend = make("memory", OPTIONS={"STATISTICS": True})
    assert backend.stats is not None
    backend.set("a", 1)
    backend.get("a")
    backend.get("missing")
    totals = backend.stats.totals()
    assert (totals["hits"], totals["misses"], totals["sets"]) == (1, 1, 1)
    assert plain.get("a") == 1  # one store for the LOCATION, recorded or not


def test_values_on_redis_are_signed_pickles_and_integers_stay_integers(
    make: Make, redis_server: RedisServer
) -> None:
    backend = make("redis", query="?namespace=signed")
    backend.set("count", 41)
    raw = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/7")
    [count_key] = raw.scan_iter(match="*:1:count")
    assert raw.get(count_key) == b"41"  # INCRBY works on it, from any client
    raw.incrby(count_key, 1)
    assert backend.get("count") == 42
    backend.set("obj", {"when": (1, 2)})
    assert backend.get("obj") == {"when": (1, 2)}  # a tuple stays a tuple
    # A pickle written by someone without the key is refused, never unpickled.
    forged = "\x00django-pickle:" + base64.b64encode(b"\x00" * 32 + pickle.dumps(1)).decode()
    backend.engine.set(backend.make_key("obj"), forged)
    assert backend.get("obj", "refused") == "refused"
    other = make(
        "redis", query="?namespace=signed", OPTIONS={"SIGNING_KEY": "another-key-0123456789"}
    )
    backend.set("obj", "mine")
    assert other.get("obj", "refused") == "refused"


def test_values_signed_with_a_key_being_rotated_out_are_still_read() -> None:
    old, new = SignedPickles("old-key-0123456789"), SignedPickles("new-key", "old-key-0123456789")
    assert new.loads(old.dumps({"a": 1})) == {"a": 1}
    assert old.loads(new.dumps({"a": 1})) is MISSING  # the new key signs
    assert new.loads(42) == 42 and new.loads("plain text") == "plain text"


@pytest.mark.parametrize("engine", ["memory", "redis"])
def test_default_timeouts_reach_the_engine(make: Make, engine: str) -> None:
    # Django's DefaultNonExpiringCacheKeyTests, read from the engine's ttl
    # instead of LocMemCache's _expire_info.
    five_minutes = make(engine, query="?namespace=ttl")
    assert five_minutes.default_timeout == 300
    five_minutes.set("k", "v")
    assert 299 <= five_minutes.engine.ttl(five_minutes.make_key("k")) <= 300
    five_minutes.touch("k", None)
    assert five_minutes.engine.ttl(five_minutes.make_key("k")) is None
    never = make(engine, query="?namespace=ttl", TIMEOUT=None, KEY_PREFIX="never")
    assert never.default_timeout is None and never.get_backend_timeout() is None
    never.set("k", "v")
    assert never.engine.ttl(never.make_key("k")) is None


def test_memory_keeps_copies_as_django_does(make: Make) -> None:
    backend = make("memory")
    value = {"items": [1]}
    backend.set("v", value)
    value["items"].append(2)
    assert backend.get("v") == {"items": [1]}
    backend.set("raw", b"bytes stay bytes")
    assert backend.get("raw") == b"bytes stay bytes"


@pytest.mark.parametrize("engine", ["memory", "redis"])
def test_the_engine_serializer_option_passes_values_through(make: Make, engine: str) -> None:
    backend = make(engine, query="?namespace=raw", OPTIONS={"SERIALIZER": "engine"})
    backend.set("doc", {"a": [1, 2]})
    assert backend.get("doc") == {"a": [1, 2]}
    if engine == "redis":
        with pytest.raises(CacheTypeError, match="JSON"):
            backend.set("obj", object())


def test_long_keys_warn_as_in_django_and_are_stored_under_a_digest(make: Make) -> None:
    backend = make("memory")
    key = "k" * 2000
    with pytest.warns(CacheKeyWarning, match="longer than 250"):
        backend.set(key, "long")
    with pytest.warns(CacheKeyWarning):
        assert backend.get(key) == "long"


def test_clear_without_a_namespace_empties_the_database_as_django_does(
    make: Make, redis_server: RedisServer
) -> None:
    backend = make("redis", db=8)
    raw = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/8")
    raw.set("someone-else", "x")
    backend.set("mine", "y")
    backend.clear()
    assert raw.dbsize() == 0


@pytest.mark.parametrize(
    ("location", "params", "message"),
    [
        ("", {}, "needs a LOCATION"),
        ("memory://", {"OPTIONS": {"MAX_ENTRIES": 10}}, "max_entries=10000"),
        ("memory://", {"OPTIONS": {"SERIALIZER": "json"}}, "'pickle'"),
        ("memory://", {"OPTIONS": ["SERIALIZER"]}, "must be a dict"),
    ],
)
def test_settings_mistakes_are_named(
    location: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        CacheBackend(location, params)
