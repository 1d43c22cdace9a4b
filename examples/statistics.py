"""Statistics: record by hand, or wire a cache so that it records itself."""

from cache.advanced import CacheStatistics, InstrumentedCache
from cache.backend import InMemoryCache

stats = CacheStatistics()
cache = InstrumentedCache(InMemoryCache(), stats)  # every get/set/delete is recorded

for user_id in [1, 2, 1, 3, 1, 2]:
    key = f"user:{user_id}"
    if cache.get(key) is None:
        cache.set(key, {"id": user_id}, timeout=60)

result = stats.get_stats()
print(f"hits={result['hits']} misses={result['misses']} sets={result['sets']}")
print(f"hit rate {result['hit_rate']}%, avg hit {result['avg_hit_time_ms']} ms")
print(f"requests/s over the last minute: {result['requests_per_second']}")
stats.reset()
print("after reset:", stats.get_stats()["total_requests"], "requests")
