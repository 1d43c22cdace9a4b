"""Content-type policies: timeouts, tags, vary_on headers, derived Cache-Control."""

from cache.advanced import CachePolicy, CacheTag, ContentTypeCacheManager
from cache.backend import InMemoryCache

cache = InMemoryCache()
manager = ContentTypeCacheManager(cache)
manager.register_policy(
    "page", CachePolicy(timeout=3600, tags={"page"}, vary_on=["Accept-Language"])
)
manager.register_policy(
    "api_response", CachePolicy(timeout=60, tags={"api"}, stale_while_revalidate=30)
)
for name, policy in manager.policies.items():
    print(f"  {name:12} Cache-Control: {policy.cache_control}")

manager.cache_content("page", "home", "Bonjour", headers={"Accept-Language": "fr"})
manager.cache_content("page", "home", "Hello", headers={"Accept-Language": "en"})
print("fr ->", manager.get_cached_content("page", "home", headers={"accept-language": "fr"}))
print("en ->", manager.get_cached_content("page", "home", headers={"Accept-Language": "en"}))
print("de ->", manager.get_cached_content("page", "home", headers={"Accept-Language": "de"}))

CacheTag(cache).invalidate_tag("page")
print(
    "after invalidate_tag('page'), fr ->",
    manager.get_cached_content("page", "home", headers={"Accept-Language": "fr"}),
)
try:
    manager.cache_content("video", 1, "...")
except LookupError as exc:
    print("unknown type:", exc)
