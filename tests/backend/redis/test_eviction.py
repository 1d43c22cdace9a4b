"""Metadata under Redis eviction (issue 2): a lost registry or tag version never revives entries.

Each test starts a server of its own with a small ``maxmemory`` and fills it
past the limit, so that Redis really evicts (a DEL would not count as one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from cache.advanced import CacheInvalidator, CacheTag
from cache.backend import RedisCache
from cache.testing.redis_server import RedisServer

PAGES = [f"page:{i}" for i in range(94)]
_FILLER = b"x" * 1024


@pytest.fixture
def evicting(
    tmp_path: Path, new_server: type[RedisServer]
) -> Iterator[Callable[[str], tuple[RedisCache, redis.Redis]]]:
    """Start a server with ``maxmemory-policy`` and room for about 1,000 more KB-sized keys."""
    started: list[tuple[RedisServer, RedisCache, redis.Redis]] = []

    def start(policy: str) -> tuple[RedisCache, redis.Redis]:
        server = new_server(tmp_path, None, "--maxmemory-policy", policy)
        server.start()
        raw = redis.Redis.from_url(server.url)
        used = int(raw.info("memory")["used_memory"])
        raw.config_set("maxmemory", used + 1_500_000)
        cache = RedisCache(server.url, namespace="app", strict=True)
        started.append((server, cache, raw))
        return cache, raw

    yield start
    for server, cache, raw in started:
        cache.close()
        raw.close()
        server.stop()


def _fill_until(raw: redis.Redis, gone: Callable[[], bool], hot: list[str], ttl: bool) -> int:
    """Write KB-sized filler keys until ``gone()``; read the ``hot`` keys now and then.

    Reading keeps the entries recently used, as a live site does, so that
    LRU takes the registry (read only by invalidations) before them. Then
    the limit is lifted: what is stored stays put while the test counts it.
    """
    for batch in range(400):
        pipe = raw.pipeline(transaction=False)
        for i in range(100):
            pipe.set(f"app:filler:{batch}:{i}", _FILLER, px=600_000 if ttl else None)
        pipe.execute()
        raw.mget([f"app:{k}" for k in hot])
        if gone():
            break
    raw.config_set("maxmemory", 0)
    return int(raw.info("stats")["evicted_keys"])


def _stored(raw: redis.Redis, keys: list[str]) -> list[str]:
    return [k for k, v in zip(keys, raw.mget([f"app:{k}" for k in keys]), strict=True) if v]


def _idle(raw: redis.Redis, key: bytes) -> None:
    """Make ``key`` look unused for an hour, as a key read only by invalidations is on a site.

    LRU's clock ticks in seconds: without this, every key the test writes looks
    as recent as the others, eviction picks at random, and now and then (more
    often on Valkey) every page goes before the awaited key does.
    """
    raw.restore(key, 0, raw.dump(key), replace=True, idletime=3600)


def _registered_pages(cache: RedisCache, raw: redis.Redis) -> CacheInvalidator:
    """Store PAGES without a timeout and register them; return the invalidator holding them."""
    invalidator = CacheInvalidator(cache)
    for key in PAGES:
        cache.set(key, key)  # no timeout: never evicted under volatile-*
    invalidator.register_keys(PAGES)
    _idle(raw, REGISTRY)
    return invalidator


#: The registry's by-name set, as the engine names it in namespace "app".
REGISTRY = b"app:__cache__:idx:{__cache__:registry:default}:lex"


@pytest.mark.parametrize("marker_evicted_too", [False, True])
def test_issue_2_prefix_invalidation_finds_entries_of_an_evicted_registry(
    evicting: Callable[[str], tuple[RedisCache, redis.Redis]], marker_evicted_too: bool
) -> None:
    cache, raw = evicting("allkeys-lru")
    invalidator = _registered_pages(cache, raw)
    evicted = _fill_until(raw, lambda: not raw.exists(REGISTRY), PAGES, ttl=False)
    assert evicted > 0 and not raw.exists(REGISTRY), "the registry was not evicted"
    cache.set("post:1", "kept")
    if marker_evicted_too:
        raw.delete(REGISTRY[: -len(b"lex")] + b"gen")  # as if evicted with it
    # A writer registers again: the registry is recreated, with one member.
    cache.set("page:new", "new")
    invalidator.register_key("page:new")
    stored = _stored(raw, [*PAGES, "page:new"])
    assert len(stored) > 1, "every entry was evicted too: nothing to show"
    assert invalidator.invalidate_prefix("page:") == len(stored)
    assert cache.get_many([*PAGES, "page:new"]) == {}  # none served afterwards
    assert cache.get("post:1") == "kept"  # another prefix is left alone


def test_issue_2_pattern_invalidation_finds_entries_of_an_evicted_registry(
    evicting: Callable[[str], tuple[RedisCache, redis.Redis]],
) -> None:
    cache, raw = evicting("allkeys-lru")
    invalidator = _registered_pages(cache, raw)
    _fill_until(raw, lambda: not raw.exists(REGISTRY), PAGES, ttl=False)
    stored = _stored(raw, PAGES)
    assert stored, "every entry was evicted too: nothing to show"
    assert invalidator.invalidate_pattern(r"^page:\d+$") == len(stored)
    assert cache.get_many(PAGES) == {}


def test_issue_2_volatile_policy_never_evicts_the_registry(
    evicting: Callable[[str], tuple[RedisCache, redis.Redis]],
) -> None:
    cache, raw = evicting("volatile-lru")
    invalidator = _registered_pages(cache, raw)
    evicted = _fill_until(raw, lambda: False, PAGES, ttl=True)
    assert evicted > 0  # the server did evict: keys with a TTL
    assert raw.exists(REGISTRY)
    assert invalidator.registered_count() == len(PAGES)
    assert invalidator.invalidate_prefix("page:") == len(PAGES)
    assert cache.get_many(PAGES) == {}


def test_issue_2_a_new_registry_on_a_server_that_never_evicted_is_trusted(
    evicting: Callable[[str], tuple[RedisCache, redis.Redis]],
) -> None:
    cache, _ = evicting("allkeys-lru")
    invalidator = CacheInvalidator(cache)
    cache.set("page:unregistered", "v")
    invalidator.register_key("page:1")
    # Nothing was evicted: the registry is whole, and the fast path is exact.
    assert invalidator.registered_keys("page:") == ["page:1"]
    assert invalidator.invalidate_prefix("page:") == 1
    assert cache.get("page:unregistered") == "v"


def test_issue_2_an_evicted_tag_version_makes_its_entries_unreachable(
    evicting: Callable[[str], tuple[RedisCache, redis.Redis]],
) -> None:
    cache, raw = evicting("allkeys-lru")
    tags = CacheTag(cache)
    versions = tags.get_versions({"posts"})
    for key in PAGES:
        cache.set_entry(key, key, refs=tags.refs(versions))
    version_key = b"app:" + tags.version_key("posts").encode()
    _idle(raw, version_key)
    _fill_until(raw, lambda: not raw.exists(version_key), PAGES, ttl=False)
    assert not raw.exists(version_key), "the version was not evicted"
    stored = _stored(raw, PAGES)
    assert stored, "every entry was evicted too: nothing to show"
    for key in stored:
        entry = cache.get_entry(key)
        assert entry.value == key and not tags.matches(versions, entry.refs)
    assert tags.get_versions({"posts"}) != versions  # a new random version, not the old one


def test_a_lost_registry_is_relearned_by_a_complete_pass(
    evicting: Callable[[str], tuple[RedisCache, redis.Redis]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After one SCAN-based pass the registry is intact again: later calls take the fast path."""
    cache, raw = evicting("allkeys-lru")
    invalidator = _registered_pages(cache, raw)
    _fill_until(raw, lambda: not raw.exists(REGISTRY), PAGES, ttl=False)
    stored = _stored(raw, PAGES)
    assert stored, "every entry was evicted too: nothing to show"
    assert invalidator.invalidate_prefix("page:") == len(stored)  # found by SCAN
    assert raw.get(MARKER) == b"ok", "the registry is still marked lost"
    scans: list[str] = []
    live_keys = cache._live_keys
    monkeypatch.setattr(cache, "_live_keys", lambda *a: scans.append("scan") or live_keys(*a))
    cache.set("page:new", "new")
    invalidator.register_key("page:new")
    assert invalidator.invalidate_prefix("page:") == 1
    assert cache.get("page:new") is None
    assert scans == [], "the registry was read by SCAN again"


#: The registry's marker (intact, lost, being relearned).
MARKER = REGISTRY[: -len(b"lex")] + b"gen"
