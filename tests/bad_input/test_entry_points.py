"""Bad input to the entry points: from_url, serializers, engines' constructors, @cached, HTTP."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from cache import cached
from cache.advanced import CachePolicy, ContentTypeCacheManager
from cache.backend import (
    CacheBackend,
    InMemoryCache,
    JSONSerializer,
    MsgpackSerializer,
    PickleSerializer,
    RedisCache,
    from_url,
)
from cache.errors import CacheConfigError, CacheTypeError, CacheValueError, InvalidPatternError
from cache.web import CacheMiddleware, Route
from tests.bad_input import test_backend, test_features
from tests.bad_input.conftest import Opened
from tests.bad_input.table import DEEP, Row, params, refused_and_nothing_changed, too_deep

NAN = math.nan
T, V, C = CacheTypeError, CacheValueError, CacheConfigError
URL = "redis://127.0.0.1:1/0"  # never reached: every row fails before connecting


def fn(user_id: int) -> int:
    return user_id


async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
    raise AssertionError


def middleware(c: CacheBackend, routes: Any = None, **options: Any) -> CacheMiddleware:
    m = ContentTypeCacheManager(c)
    m.register_policy("page", CachePolicy(60))
    return CacheMiddleware(app, m, {"/x": "page"} if routes is None else routes, **options)


ROWS = [
    # -- from_url -----------------------------------------------------------------
    Row("url-int", lambda c: from_url(1), C, "URL"),
    Row("url-no-scheme", lambda c: from_url("localhost:6379"), C, "scheme"),
    Row("url-unknown-scheme", lambda c: from_url("ftp://host"), C, "scheme"),
    Row("url-memory-host", lambda c: from_url("memory://host"), C, "memory://"),
    Row("url-max-entries-str", lambda c: from_url("memory://?max_entries=x"), C, "max_entries"),
    Row("url-max-entries-zero", lambda c: from_url("memory://?max_entries=0"), C, "max_entries"),
    Row(
        "url-max-entries-negative", lambda c: from_url("memory://?max_entries=-5"), C, "max_entries"
    ),
    Row("url-sweep-nan", lambda c: from_url("memory://?sweep_interval=nan"), C, "sweep_interval"),
    Row(
        "url-default-timeout-nan",
        lambda c: from_url("memory://?default_timeout=nan"),
        C,
        "default_timeout",
    ),
    Row(
        "url-default-timeout-zero",
        lambda c: from_url("memory://?default_timeout=0"),
        C,
        "default_timeout",
    ),
    Row("url-unknown-option", lambda c: from_url("memory://?size=1"), C, "size"),
    Row(
        "url-socket-timeout-inf",
        lambda c: from_url(f"{URL}?socket_timeout=inf"),
        C,
        "socket_timeout",
    ),
    Row(
        "url-socket-timeout-nan",
        lambda c: from_url(f"{URL}?socket_timeout=nan"),
        C,
        "socket_timeout",
    ),
    Row(
        "url-socket-timeout-negative",
        lambda c: from_url(f"{URL}?socket_timeout=-1"),
        C,
        "socket_timeout",
    ),
    Row(
        "url-socket-timeout-zero",
        lambda c: from_url(f"{URL}?socket_timeout=0"),
        C,
        "socket_timeout",
    ),
    Row(
        "url-connect-timeout-nan",
        lambda c: from_url(f"{URL}?connect_timeout=nan"),
        C,
        "connect_timeout",
    ),
    Row(
        "url-max-connections-zero",
        lambda c: from_url(f"{URL}?max_connections=0"),
        C,
        "max_connections",
    ),
    Row("url-serializer-pickle", lambda c: from_url(f"{URL}?serializer=pickle"), C, "serializer"),
    Row("url-strict-maybe", lambda c: from_url(f"{URL}?strict=maybe"), C, "strict"),
    Row("url-twice", lambda c: from_url(f"{URL}?strict=1&strict=0"), C, "strict"),
    Row("url-port", lambda c: from_url("redis://host:port/0"), C, "port"),
    Row("url-db", lambda c: from_url("redis://host/x"), C, "database"),
    Row("url-cluster-db", lambda c: from_url("redis+cluster://host/1"), C, "database 0"),
    Row("url-unix-path", lambda c: from_url("unix://"), C, "socket path"),
    # -- serializers and engine constructors ----------------------------------------
    Row("json-int-keys", lambda c: JSONSerializer().dumps({1: "a"}), T, "value"),
    Row("json-nested-int-keys", lambda c: JSONSerializer().dumps({"a": [{None: 1}]}), T, "value"),
    Row("json-deep", too_deep(lambda c: JSONSerializer().dumps(DEEP)), V, "value"),
    Row("json-surrogate", lambda c: JSONSerializer().dumps("\udcff"), V, "value"),
    Row("json-object", lambda c: JSONSerializer().dumps(object()), T, "value"),
    Row("msgpack-object", lambda c: MsgpackSerializer().dumps(object()), T, "value"),
    Row("msgpack-surrogate", lambda c: MsgpackSerializer().dumps("\ud800"), T, "value"),
    Row("msgpack-deep", lambda c: MsgpackSerializer().dumps(DEEP), T, "value"),
    Row("pickle-key-short", lambda c: PickleSerializer(b"short"), V, "secret_key"),
    Row("pickle-key-int", lambda c: PickleSerializer(12345678901234567890), T, "secret_key"),
    Row("pickle-lambda", lambda c: PickleSerializer(b"k" * 16).dumps(lambda: 1), T, "value"),
    Row("redis-serializer-str", lambda c: RedisCache(URL, serializer="json"), T, "serializer"),
    Row(
        "redis-serializer-class",
        lambda c: RedisCache(URL, serializer=JSONSerializer),
        T,
        "serializer",
    ),
    Row("redis-namespace-int", lambda c: RedisCache(URL, namespace=1), T, "namespace"),
    Row(
        "redis-default-timeout", lambda c: RedisCache(URL, default_timeout=0), V, "default_timeout"
    ),
    Row("memory-max-entries", lambda c: InMemoryCache(max_entries=0), V, "max_entries"),
    Row("memory-max-entries-str", lambda c: InMemoryCache(max_entries="9"), T, "max_entries"),
    Row(
        "memory-default-timeout-nan",
        lambda c: InMemoryCache(default_timeout=NAN),
        V,
        "default_timeout",
    ),
    Row("memory-sweep-interval", lambda c: InMemoryCache(sweep_interval=0), V, "sweep_interval"),
    # -- @cached ---------------------------------------------------------------------
    Row("cached-timeout-str", lambda c: cached(timeout="60")(fn), T, "timeout"),
    Row("cached-timeout-zero", lambda c: cached(timeout=0)(fn), V, "timeout"),
    Row("cached-timeout-nan", lambda c: cached(timeout=NAN)(fn), V, "timeout"),
    Row(
        "cached-swr-negative",
        lambda c: cached(stale_while_revalidate=-1)(fn),
        V,
        "stale_while_revalidate",
    ),
    Row("cached-cache-str", lambda c: cached(cache="memory://")(fn), T, "cache"),
    Row("cached-store-if", lambda c: cached(store_if=True, cache=c)(fn), T, "store_if"),
    Row("cached-key-unknown", lambda c: cached(key="u:{user}", cache=c)(fn), T, "key"),
    Row("cached-tag-unknown", lambda c: cached(tags=["u:{user}"], cache=c)(fn), T, "tag"),
    Row("cached-not-callable", lambda c: cached(cache=c)(5), T, "function"),
    Row("cached-no-parentheses", lambda c: cached(fn), T, "parentheses"),
    # -- HTTP: Route and CacheMiddleware -----------------------------------------------
    Row("route-pattern-int", lambda c: Route(1, "page"), T, "route pattern"),
    Row("route-pattern-bad", lambda c: Route("(", "page"), InvalidPatternError, "route pattern"),
    Row("route-content-type-int", lambda c: Route("/x", 1), T, "content_type"),
    Row("mw-routes-str", lambda c: middleware(c, "/x"), T, "routes"),
    Row("mw-routes-items", lambda c: middleware(c, [("/x", "page")]), T, "routes"),
    Row("mw-manager", lambda c: CacheMiddleware(app, c, {"/x": "page"}), T, "manager"),
    Row("mw-purge-alone", lambda c: middleware(c, purge_path="/purge"), T, "purge_token"),
    Row(
        "mw-purge-token-short",
        lambda c: middleware(c, purge_path="/p", purge_token="short"),
        T,
        "purge_token",
    ),
    Row("mw-max-body-negative", lambda c: middleware(c, max_body_size=-1), V, "max_body_size"),
    Row("mw-stale-if-error-nan", lambda c: middleware(c, stale_if_error=NAN), V, "stale_if_error"),
    Row("mw-fill-wait-str", lambda c: middleware(c, fill_wait="10"), T, "fill_wait"),
    Row(
        "mw-allowed-hosts-str",
        lambda c: middleware(c, allowed_hosts="example.com"),
        T,
        "allowed_hosts",
    ),
]


@pytest.mark.parametrize(("row", "engine"), params(ROWS))
def test_issue_9_bad_entry_point_call_is_refused_and_nothing_stored_changes(
    row: Row, engine: str, open_engine: Callable[[str], Opened]
) -> None:
    refused_and_nothing_changed(row, open_engine(engine))


def test_issue_9_the_table_covers_at_least_150_bad_inputs() -> None:
    rows = [*test_backend.ROWS, *test_features.ROWS, *ROWS]
    assert len(rows) >= 150
    assert len({r.id for r in rows}) == len(rows)
