"""NearCache paths past the plain reads and writes: tags stored again, flushes, closing."""

from __future__ import annotations

import asyncio
import gc
import threading

from cache.advanced import CachePolicy, ContentTypeCacheManager, StaleWhileRevalidateCache
from cache.backend import NearCache, RedisCache
from tests.backend.near.conftest import Opener, caught_up, eventually


def _listeners() -> int:
    return sum(t.name == "cache-near-listener" for t in threading.enumerate())


def test_content_is_stored_again_after_its_tag_was_invalidated(
    server_url: str, open_near: Opener
) -> None:
    a, b = open_near(server_url), open_near(server_url)
    pages = {engine: ContentTypeCacheManager(engine) for engine in (a, b)}
    for manager in pages.values():
        manager.register_policy("page", CachePolicy(timeout=600, tags={"pages"}))
    for round_ in range(3):
        pages[a].cache_content("page", "home", f"v{round_}")
        caught_up(b, a)
        assert pages[b].get_cached_content("page", "home") == f"v{round_}"
        assert pages[b].get_cached_content("page", "home") == f"v{round_}"
        pages[a].tags.invalidate_tag("pages")
        caught_up(b, a)
        assert pages[b].get_cached_content("page", "home") is None
        # b reads the missing tag version and stores again: a real version, not a marker.
        pages[b].cache_content("page", "home", f"b{round_}")
        caught_up(a, b)
        assert pages[a].get_cached_content("page", "home") == f"b{round_}"


def test_stale_while_revalidate_over_the_near_cache(server_url: str, open_near: Opener) -> None:
    a, b = open_near(server_url), open_near(server_url)
    swr = {engine: StaleWhileRevalidateCache(engine) for engine in (a, b)}
    calls: list[str] = []

    def generate(who: str) -> str:
        calls.append(who)
        return f"from {who}"

    value, _ = swr[a].get_with_swr("report", lambda: generate("a"), timeout=60, stale_timeout=60)
    caught_up(b, a)
    for _ in range(3):
        got, _ = swr[b].get_with_swr("report", lambda: generate("b"), timeout=60, stale_timeout=60)
        assert got == value == "from a"
    assert calls == ["a"] and b.info()["local_hits"] >= 1
    swr[a].invalidate("report", 60, 60)
    caught_up(b, a)
    got, _ = swr[b].get_with_swr("report", lambda: generate("b"), timeout=60, stale_timeout=60)
    assert got == "from b"
    for engine in swr.values():
        engine.close()


def test_flush_database_reaches_every_namespace(server_url: str, open_near: Opener) -> None:
    a, b = open_near(server_url, namespace="a"), open_near(server_url, namespace="b")
    b.set("k", "old")
    assert b.get("k") == "old" and b.tier.record("k") is not None
    a.flush_database()
    eventually(lambda: b.tier.record("k") is None)
    assert b.get("k") is None
    b.set("k", "again")
    assert b.get("k") == "again" and b.tier.record("k") is not None

    async def flush() -> None:
        await a.aflush_database()

    asyncio.run(flush())
    eventually(lambda: b.tier.record("k") is None)
    assert b.get("k") is None


def test_closing_or_dropping_a_near_cache_stops_its_listener(server_url: str) -> None:
    before = _listeners()
    near = NearCache(RedisCache(server_url, namespace="n"))
    assert near.wait_live(10) and _listeners() == before + 1

    async def close() -> None:
        await near.aclose()

    asyncio.run(close())
    assert _listeners() == before and not near.tier.live
    dropped = NearCache(RedisCache(server_url, namespace="n"))
    assert dropped.wait_live(10) and _listeners() == before + 1
    del dropped
    gc.collect()
    eventually(lambda: _listeners() == before)
