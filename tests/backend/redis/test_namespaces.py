"""Issue 7: namespaces on one database never read, overwrite or clear each other's keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from cache._types import MISSING
from cache.backend import RedisCache
from cache.errors import CacheConfigError, CacheTypeError

#: Neighbours: glob characters, the separator, hash-tag braces, the escape.
NAMESPACES = ["app*", "apple", "a?c", "abc", "[ab]x", "ax", "shop", "shop:eu", "t{1}", "%3A", ""]

Engines = Callable[[str], RedisCache]


@pytest.fixture(params=["redis", "cluster"])
def engines(request: pytest.FixtureRequest, server_kind: str) -> Iterator[Engines]:
    """Open engines on one database (single server or cluster), emptied first."""
    if request.param == "redis":
        request.getfixturevalue("redis_client")  # flushed
        url, cluster = request.getfixturevalue("redis_server").url, False
    else:
        request.getfixturevalue("cluster_client")  # flushed
        url, cluster = request.getfixturevalue("redis_cluster").url, True
    opened: list[RedisCache] = []

    def open_(namespace: str) -> RedisCache:
        opened.append(RedisCache(url, namespace=namespace, cluster=cluster, strict=True))
        return opened[-1]

    yield open_
    for engine in opened:
        engine.close()


def test_issue_7_neighbouring_namespaces_keep_to_their_own_keys(engines: Engines) -> None:
    caches = {ns: engines(ns) for ns in NAMESPACES}
    for ns, cache in caches.items():
        cache.set("k", ns)
        cache.set_many({"eu:x": f"{ns} eu:x", "x": f"{ns} x"})
        cache.index_add("ix", {ns or "-": 1.0})
    for ns, cache in caches.items():
        assert cache.get("k") == ns
        assert cache.get_many(["eu:x", "x"]) == {"eu:x": f"{ns} eu:x", "x": f"{ns} x"}
        assert cache.index_prefix("ix", "") == [ns or "-"]
    # Clearing each namespace leaves every other one whole.
    for ns in NAMESPACES[:-1]:
        caches[ns].clear()
        assert caches[ns].get("k", MISSING) is MISSING
        assert caches[ns].index_len("ix") == 0
        for other in NAMESPACES:
            if other not in NAMESPACES[: NAMESPACES.index(ns) + 1]:
                assert caches[other].get("k") == other, f"clear() of {ns!r} reached {other!r}"
                assert caches[other].get("x") == f"{other} x"


def test_issue_7_shop_does_not_see_shop_eu(engines: Engines) -> None:
    shop, shop_eu = engines("shop"), engines("shop:eu")
    shop_eu.set("x", "eu")
    assert shop.get("eu:x", MISSING) is MISSING  # once the same Redis key
    shop.set("eu:x", "shop")
    assert shop_eu.get("x") == "eu"
    shop.clear()
    assert shop_eu.get("x") == "eu"


def test_issue_7_clear_without_a_namespace_refuses_and_removes_nothing(engines: Engines) -> None:
    bare, app = engines(""), engines("app")
    bare.set("k", 1)
    app.set("k", 2)
    with pytest.raises(CacheConfigError, match=r"namespace.*flush_database\(\)"):
        bare.clear()
    assert bare.get("k") == 1 and app.get("k") == 2
    bare.flush_database()  # asked for by name: every namespace goes
    assert bare.get("k", MISSING) is MISSING and app.get("k", MISSING) is MISSING


async def test_issue_7_async_clear_keeps_to_its_namespace(engines: Engines) -> None:
    bare, app, apple = engines(""), engines("app*"), engines("apple")
    await app.aset("k", 1)
    await apple.aset("k", 2)
    with pytest.raises(CacheConfigError, match="namespace"):
        await bare.aclear()
    await app.aclear()
    assert await app.aget("k", MISSING) is MISSING
    assert await apple.aget("k") == 2
    await bare.aflush_database()
    assert await apple.aget("k", MISSING) is MISSING
    for engine in (bare, app, apple):
        await engine.aclose()


def test_issue_7_a_namespace_must_be_a_str() -> None:
    with pytest.raises(CacheTypeError, match=r"namespace must be a str.*got bytes"):
        RedisCache(namespace=b"app")  # type: ignore[arg-type]
