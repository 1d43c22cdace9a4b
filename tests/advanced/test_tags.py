"""CacheTag: versioned keys and O(1) invalidation."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache._types import MISSING
from cache.advanced import (
    CachePolicy,
    CacheStatistics,
    CacheTag,
    ContentTypeCacheManager,
    InstrumentedCache,
)
from cache.backend import CacheBackend, RedisCache
from cache.errors import CacheTypeError
from cache.testing import FakeClock
from cache.testing.redis_server import RedisServer


def test_spec_example_invalidates_the_users_entries(backend: CacheBackend) -> None:
    tags = CacheTag(backend)
    post = {"id": 456}
    key = tags.tag_cache_key("post:456", {"user:123", "posts"})
    backend.set(key, post, timeout=300)
    other = tags.tag_cache_key("post:789", {"user:999", "posts"})
    backend.set(other, {"id": 789}, timeout=300)

    assert backend.get(tags.tag_cache_key("post:456", {"user:123", "posts"})) == post
    tags.invalidate_tag("user:123")
    assert backend.get(tags.tag_cache_key("post:456", {"user:123", "posts"})) is None
    assert backend.get(tags.tag_cache_key("post:789", {"user:999", "posts"})) == {"id": 789}


def test_tag_order_and_container_do_not_matter(backend: CacheBackend) -> None:
    tags = CacheTag(backend)
    a = tags.tag_cache_key("k", ["a", "b", "c"])
    assert a == tags.tag_cache_key("k", ("c", "a", "b")) == tags.tag_cache_key("k", {"b", "c", "a"})
    assert a.startswith("k:tags=")
    assert tags.tag_cache_key("k", []) == "k"


def test_two_tag_managers_over_one_backend_agree(backend: CacheBackend) -> None:
    first, second = CacheTag(backend), CacheTag(backend)
    key = first.tag_cache_key("k", {"t"})
    assert second.tag_cache_key("k", {"t"}) == key
    second.invalidate_tag("t")
    assert first.tag_cache_key("k", {"t"}) != key


def test_invalidate_tags_reaches_each_tag(backend: CacheBackend) -> None:
    tags = CacheTag(backend)
    before = {t: tags.tag_cache_key("k", {t}) for t in ("a", "b", "c")}
    tags.invalidate_tags(["a", "b"])
    after = {t: tags.tag_cache_key("k", {t}) for t in ("a", "b", "c")}
    assert after["a"] != before["a"] and after["b"] != before["b"]
    assert after["c"] == before["c"]


def test_a_lost_version_never_revives_an_invalidated_entry(backend: CacheBackend) -> None:
    tags = CacheTag(backend)
    original = tags.tag_cache_key("k", {"t"})
    backend.set(original, "old", timeout=300)
    tags.invalidate_tag("t")
    for _ in range(50):  # the version is evicted, then recreated, many times over
        backend.delete(CacheTag.version_key("t"))
        assert tags.tag_cache_key("k", {"t"}) != original


def test_invalidation_is_one_removal_whatever_the_number_of_entries(
    backend: CacheBackend,
) -> None:
    stats = CacheStatistics()
    counted = InstrumentedCache(backend, stats)
    tags = CacheTag(counted)
    for i in range(5_000):
        counted.set(tags.tag_cache_key(f"k{i}", {"big"}), i, timeout=300)
    stats.reset()
    tags.invalidate_tag("big")
    assert stats.get_stats()["sets"] == 0
    assert stats.get_stats()["deletes"] == 1  # the version, not the 5,000 entries


def test_entries_of_old_versions_expire(backend: CacheBackend, clock: FakeClock) -> None:
    tags = CacheTag(backend)
    key = tags.tag_cache_key("k", {"t"})
    backend.set(key, "v", timeout=60)
    tags.invalidate_tag("t")
    clock.advance(61)
    backend.cleanup_expired()
    assert backend.get(key, MISSING) is MISSING


def test_tag_versions_outlive_the_engines_default_timeout(clock: FakeClock) -> None:
    from cache.backend import InMemoryCache

    cache = InMemoryCache(default_timeout=10, clock=clock)
    tags = CacheTag(cache)
    key = tags.tag_cache_key("k", {"t"})
    clock.advance(3600)
    assert tags.tag_cache_key("k", {"t"}) == key


@pytest.mark.parametrize("bad", ["posts", b"posts", 5, None, [1]])
def test_bad_tags_name_the_argument(backend: CacheBackend, bad: object) -> None:
    tags = CacheTag(backend)
    with pytest.raises(CacheTypeError, match="tag"):
        tags.tag_cache_key("k", bad)  # type: ignore[arg-type]
    with pytest.raises(CacheTypeError, match="tag"):
        tags.invalidate_tags(bad)  # type: ignore[arg-type]


async def test_async_twins_agree_with_sync(backend: CacheBackend) -> None:
    tags = CacheTag(backend)
    key = await tags.atag_cache_key("k", {"x", "y"})
    assert key == tags.tag_cache_key("k", {"y", "x"})
    await tags.ainvalidate_tag("x")
    assert await tags.atag_cache_key("k", {"x", "y"}) != key
    versions = await tags.aget_versions({"x"})
    assert await tags.aversions_match(versions)
    await tags.ainvalidate_tags({"x"})
    assert not await tags.aversions_match(versions)


def test_issue_11_content_cached_while_the_server_hangs_is_not_sent_under_made_up_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hung server: the versions cannot be read, so no entry is sent under made-up ones.

    Such an entry could never match, and sending it would wait on the hung
    server a second time (the read of the versions already did).
    """
    server = RedisServer(tmp_path)
    server.start()
    engine = RedisCache(server.url, namespace="app")
    sent: list[str] = []
    store = engine.set_entry
    monkeypatch.setattr(
        engine, "set_entry", lambda key, *a, **k: sent.append(key) or store(key, *a, **k)
    )
    try:
        manager = ContentTypeCacheManager(engine)
        manager.register_policy("doc", CachePolicy(timeout=60, tags={"docs"}))
        key = manager.cache_key("doc", 1)
        server.pause()
        try:
            assert manager.cache_content("doc", 1, "body") == key  # degraded, not raised
        finally:
            server.resume()
        assert sent == []
        engine.outage.succeeded()  # forget the pause: no circuit left open
        assert manager.cache_content("doc", 1, "body") == key
        assert sent == [key] and manager.get_cached_content("doc", 1) == "body"
    finally:
        engine.close()
        server.stop()
