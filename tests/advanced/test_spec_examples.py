"""Every code block of the user's design document runs as written and keeps its promise.

The blocks are written out below, as the design document gives them, and run
in order in one namespace, as one script would; the helper functions the spec
leaves undefined are defined first.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
from typing import Any

import pytest

#: The code blocks of the user's design document ("Advanced Caching"), in its
#: order, each under the heading of its section: written out here so that the
#: repository holds its own copy of the contract. They run as one script would,
#: in one namespace; on Redis, ``RedisCache(url)`` stands in for ``InMemoryCache()``.
SPEC_EXAMPLES: list[tuple[str, str]] = [
    (
        "Cache Tagging",
        """\
from cache.backend import InMemoryCache
from cache.advanced import CacheTag

cache = InMemoryCache()
tag_manager = CacheTag(cache)

# Tag a cache entry
tags = {"user:123", "posts"}
versioned_key = tag_manager.tag_cache_key("post:456", tags)

# Store with versioned key
cache.set(versioned_key, post_data, timeout=300)

# Invalidate all entries with a tag
tag_manager.invalidate_tag("user:123")  # Invalidates all user's cached data
""",
    ),
    (
        "Pattern-Based Invalidation",
        """\
from cache.backend import InMemoryCache
from cache.advanced import CacheInvalidator

cache = InMemoryCache()
invalidator = CacheInvalidator(cache)

# Register keys
invalidator.register_key("user:1")
invalidator.register_key("user:2")
invalidator.register_key("post:1")

# Invalidate by pattern
count = invalidator.invalidate_pattern(r"^user:")  # Invalidates all user keys
print(f"Invalidated {count} keys")
""",
    ),
    (
        "Prefix-Based Invalidation",
        """\
# Invalidate by prefix
count = invalidator.invalidate_prefix("page:")
print(f"Invalidated {count} page keys")
""",
    ),
    (
        "Cache Warming",
        """\
from cache.backend import InMemoryCache
from cache.advanced import CacheWarmer

cache = InMemoryCache()
warmer = CacheWarmer(cache)

# Register warming tasks
def load_homepage():
    # Expensive operation to load homepage
    return generate_homepage()

warmer.register_warming_task(
    key="page:home",
    generator=load_homepage,
    timeout=600,
    schedule="0 * * * *"  # Every hour
)

# Warm the cache
await warmer.warm_cache()

# Warm specific key
await warmer.warm_cache(key="page:home")

# Check warming status
status = warmer.get_warming_status()
""",
    ),
    (
        "Content-Type Cache Policies",
        """\
from cache.backend import InMemoryCache
from cache.advanced import ContentTypeCacheManager, CachePolicy

cache = InMemoryCache()
manager = ContentTypeCacheManager(cache)

# Register policies
manager.register_policy(
    "page",
    CachePolicy(
        timeout=3600,
        tags={"page"},
        vary_on=["Accept-Language"],
        cache_control="public, max-age=3600"
    )
)

manager.register_policy(
    "api_response",
    CachePolicy(
        timeout=60,
        tags={"api"},
        stale_while_revalidate=30,
        cache_control="public, max-age=60, stale-while-revalidate=30"
    )
)

# Cache content
content = {"title": "Home", "body": "..."}
cache_key = manager.cache_content("page", "home", content)

# Retrieve cached content
cached = manager.get_cached_content("page", "home")
""",
    ),
    (
        "Cache Statistics",
        """\
from cache.advanced import CacheStatistics

stats = CacheStatistics()

# Record operations
stats.record_hit(duration=0.001)
stats.record_miss(duration=0.01)
stats.record_set()
stats.record_delete()

# Get statistics
result = stats.get_stats()
print(f"Hit rate: {result['hit_rate']}%")
print(f"Average hit time: {result['avg_hit_time_ms']}ms")
print(f"Requests per second: {result['requests_per_second']}")

# Reset statistics
stats.reset()
""",
    ),
    (
        "Stale-While-Revalidate",
        """\
from cache.backend import InMemoryCache
from cache.advanced import StaleWhileRevalidateCache

cache = InMemoryCache()
swr_cache = StaleWhileRevalidateCache(cache)

def generate_data():
    # Expensive operation
    return fetch_latest_data()

# Get with stale-while-revalidate
value, is_stale = swr_cache.get_with_swr(
    key="data:latest",
    generator=generate_data,
    timeout=60,        # Fresh for 60 seconds
    stale_timeout=30   # Serve stale for 30 more seconds
)

if is_stale:
    print("Serving stale content, revalidating in background")
""",
    ),
    (
        "Cache Policy Configuration",
        """\
from cache.advanced import CachePolicy

policy = CachePolicy(
    timeout=600,                              # Cache for 10 minutes
    tags={"user", "content"},                 # Tags for invalidation
    vary_on=["Accept-Language", "Accept"],    # Vary cache on headers
    stale_while_revalidate=60,               # Serve stale for 1 minute
    cache_control="public, max-age=600"       # HTTP Cache-Control header
)
""",
    ),
    (
        "Integration Example",
        """\
from cache.backend import InMemoryCache
from cache.advanced import (
    CacheTag,
    CacheInvalidator,
    CacheWarmer,
    ContentTypeCacheManager,
    CacheStatistics,
    CachePolicy
)

# Setup
cache = InMemoryCache()
tag_manager = CacheTag(cache)
invalidator = CacheInvalidator(cache)
warmer = CacheWarmer(cache)
content_manager = ContentTypeCacheManager(cache)
stats = CacheStatistics()

# Configure content type policies
content_manager.register_policy(
    "page",
    CachePolicy(timeout=3600, tags={"page"})
)

content_manager.register_policy(
    "post",
    CachePolicy(timeout=600, tags={"post", "content"})
)

# Register warming tasks
async def load_popular_posts():
    return fetch_popular_posts()

warmer.register_warming_task(
    key="posts:popular",
    generator=load_popular_posts,
    timeout=600
)

# Cache content with tagging
post = {"id": 123, "title": "Example", "content": "..."}
cache_key = content_manager.cache_content(
    content_type="post",
    content_id="123",
    content=post,
    extra_tags={"author:456"}
)

# Record cache hit
stats.record_hit(duration=0.001)

# Invalidate by author
tag_manager.invalidate_tag("author:456")

# Warm cache
await warmer.warm_cache()

# Get statistics
cache_stats = stats.get_stats()
print(f"Cache hit rate: {cache_stats['hit_rate']}%")
""",
    ),
    (
        "Cleanup",
        """\
# Clean up old invalidator keys
invalidator.cleanup_old_keys(max_age_hours=24)

# The cache backend also has cleanup
cache.cleanup_expired()
""",
    ),
]

HELPERS = """
post_data = {"id": 456, "title": "Hello", "author": 123}

def generate_homepage():
    return "<h1>Home</h1>"

def fetch_latest_data():
    return {"latest": [1, 2, 3]}

def fetch_popular_posts():
    return [{"id": 123, "title": "Example"}]
"""


def run_block(code: str, namespace: dict[str, Any]) -> str:
    """Run ``code`` (top-level await allowed) in ``namespace``; return what it printed."""
    compiled = compile(code, "<spec>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = eval(compiled, namespace)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    return out.getvalue()


def test_every_section_of_the_spec_has_its_promise_checked() -> None:
    assert [heading for heading, _ in SPEC_EXAMPLES] == [
        "Cache Tagging",
        "Pattern-Based Invalidation",
        "Prefix-Based Invalidation",
        "Cache Warming",
        "Content-Type Cache Policies",
        "Cache Statistics",
        "Stale-While-Revalidate",
        "Cache Policy Configuration",
        "Integration Example",
        "Cleanup",
    ]
    assert set(CHECKS) == {heading for heading, _ in SPEC_EXAMPLES}


@pytest.mark.parametrize("engine", ["memory", "redis", "cluster"])
def test_every_spec_example_runs_and_keeps_its_promise(
    engine: str, request: pytest.FixtureRequest
) -> None:
    """The spec as written; on Redis, with ``RedisCache(url)`` in place of ``InMemoryCache()``."""
    ns: dict[str, Any] = {}
    exec(HELPERS, ns)
    if engine != "memory":
        from cache.backend import RedisCache

        server = "redis_server" if engine == "redis" else "redis_cluster"
        request.getfixturevalue("redis_client" if engine == "redis" else "cluster_client")
        url = request.getfixturevalue(server).url
        ns["_engine"] = lambda: RedisCache(url, cluster=engine == "cluster")
    printed = {}
    for heading, code in SPEC_EXAMPLES:
        source = code if engine == "memory" else code.replace("InMemoryCache()", "_engine()")
        printed[heading] = run_block(source, ns)
        check = CHECKS.get(heading)
        if check is not None:
            check(ns, printed[heading])
    assert set(CHECKS) <= set(printed), set(CHECKS) - set(printed)


def _tagging(ns: dict[str, Any], out: str) -> None:
    cache, tags = ns["cache"], ns["tags"]
    assert cache.get(ns["versioned_key"]) == ns["post_data"]  # the old entry is still stored ...
    fresh_key = ns["tag_manager"].tag_cache_key("post:456", tags)
    assert fresh_key != ns["versioned_key"]  # ... but no reader can reach it any more
    assert cache.get(fresh_key) is None
    untouched = ns["tag_manager"].tag_cache_key("post:1", {"posts"})
    cache.set(untouched, "kept", timeout=300)
    ns["tag_manager"].invalidate_tag("user:123")
    assert cache.get(ns["tag_manager"].tag_cache_key("post:1", {"posts"})) == "kept"


def _pattern(ns: dict[str, Any], out: str) -> None:
    assert ns["count"] == 2
    assert out == "Invalidated 2 keys\n"
    assert ns["invalidator"].registered_keys() == ["post:1"]


def _prefix(ns: dict[str, Any], out: str) -> None:
    assert ns["count"] == 0
    assert out == "Invalidated 0 page keys\n"


def _warming(ns: dict[str, Any], out: str) -> None:
    assert ns["cache"].get("page:home") == "<h1>Home</h1>"
    status = ns["status"]["page:home"]
    assert status["state"] == "ok" and status["runs"] == 2
    assert status["schedule"] == "0 * * * *" and status["next_run"] is not None


def _policies(ns: dict[str, Any], out: str) -> None:
    assert ns["cached"] == {"title": "Home", "body": "..."}
    assert ns["cache_key"].startswith("content:page:home")
    policy = ns["manager"].policies["api_response"]
    assert policy.cache_control == "public, max-age=60, stale-while-revalidate=30"


def _statistics(ns: dict[str, Any], out: str) -> None:
    assert ns["result"]["hit_rate"] == 50.0
    assert "Hit rate: 50.0%" in out
    assert "Average hit time: 1.0ms" in out
    assert ns["stats"].get_stats()["hits"] == 0  # reset() ran last


def _swr(ns: dict[str, Any], out: str) -> None:
    assert ns["value"] == {"latest": [1, 2, 3]}
    assert ns["is_stale"] is False
    assert ns["swr_cache"].get_with_swr("data:latest", ns["generate_data"], 60, 30) == (
        ns["value"],
        False,
    )
    ns["swr_cache"].close()


def _config(ns: dict[str, Any], out: str) -> None:
    policy = ns["policy"]
    assert policy.cache_control == "public, max-age=600"
    assert policy.vary_on == ("Accept-Language", "Accept")


def _integration(ns: dict[str, Any], out: str) -> None:
    manager = ns["content_manager"]
    assert manager.get_cached_content("post", "123") is None  # invalidated by author:456
    manager.cache_content("post", "124", {"id": 124}, extra_tags={"author:999"})
    assert manager.get_cached_content("post", "124") == {"id": 124}
    assert ns["cache"].get("posts:popular") == [{"id": 123, "title": "Example"}]
    assert ns["cache_stats"]["hit_rate"] == 100.0
    assert out == "Cache hit rate: 100.0%\n"


def _cleanup(ns: dict[str, Any], out: str) -> None:
    assert ns["invalidator"].cleanup_old_keys(max_age_hours=24) == 0


CHECKS = {
    "Cache Tagging": _tagging,
    "Pattern-Based Invalidation": _pattern,
    "Prefix-Based Invalidation": _prefix,
    "Cache Warming": _warming,
    "Content-Type Cache Policies": _policies,
    "Cache Statistics": _statistics,
    "Stale-While-Revalidate": _swr,
    "Cache Policy Configuration": _config,
    "Integration Example": _integration,
    "Cleanup": _cleanup,
}
