"""Smart invalidation: by regex pattern and by prefix over a registry of keys."""

from cache.advanced import CacheInvalidator
from cache.backend import InMemoryCache

cache = InMemoryCache()
invalidator = CacheInvalidator(cache)

for key in ["user:1", "user:2", "post:1", "page:home", "page:about", "pages:index"]:
    cache.set(key, f"<{key}>")
    invalidator.register_key(key)

count = invalidator.invalidate_pattern(r"^user:")
print(f"invalidate_pattern(r'^user:') -> {count} keys")
count = invalidator.invalidate_prefix("page:")
print(f"invalidate_prefix('page:') -> {count} keys (pages:index does not match)")
print("still cached:", sorted(cache.get_many(["user:1", "post:1", "page:home", "pages:index"])))
print("still registered:", invalidator.registered_keys())
try:
    invalidator.invalidate_pattern("user:(")
except ValueError as exc:
    print("bad regex refused before deleting anything:", exc)
print("cleanup_old_keys(24) dropped", invalidator.cleanup_old_keys(max_age_hours=24))
