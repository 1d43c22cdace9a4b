"""The spec's integration example: every feature on one in-memory cache."""

import asyncio

from cache.advanced import (
    CacheInvalidator,
    CachePolicy,
    CacheStatistics,
    CacheTag,
    CacheWarmer,
    ContentTypeCacheManager,
    InstrumentedCache,
)
from cache.backend import InMemoryCache


def fetch_popular_posts() -> list[dict[str, object]]:
    return [{"id": 123, "title": "Example"}]


async def main() -> None:
    stats = CacheStatistics()
    cache = InstrumentedCache(InMemoryCache(), stats)
    tag_manager = CacheTag(cache)
    invalidator = CacheInvalidator(cache)
    warmer = CacheWarmer(cache)
    content_manager = ContentTypeCacheManager(cache)
    content_manager.register_policy("page", CachePolicy(timeout=3600, tags={"page"}))
    content_manager.register_policy("post", CachePolicy(timeout=600, tags={"post", "content"}))

    async def load_popular_posts() -> list[dict[str, object]]:
        return fetch_popular_posts()

    warmer.register_warming_task(key="posts:popular", generator=load_popular_posts, timeout=600)

    post = {"id": 123, "title": "Example", "content": "..."}
    key = content_manager.cache_content("post", "123", post, extra_tags={"author:456"})
    invalidator.register_key(key)
    print("cached post 123:", content_manager.get_cached_content("post", "123") is not None)
    tag_manager.invalidate_tag("author:456")
    print("after invalidate_tag('author:456'):", content_manager.get_cached_content("post", "123"))
    await warmer.warm_cache()
    print("warmed posts:popular ->", cache.get("posts:popular"))
    print("registry prefix 'content:post:' ->", invalidator.invalidate_prefix("content:post:"))
    result = stats.get_stats()
    print(f"hits={result['hits']} misses={result['misses']} hit rate {result['hit_rate']}%")


asyncio.run(main())
