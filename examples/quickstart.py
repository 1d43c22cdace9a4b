"""Quickstart: the embedded in-memory engine, the default backend."""

from cache import MISSING
from cache.backend import InMemoryCache

cache = InMemoryCache(max_entries=10_000, default_timeout=300)

cache.set("user:1", {"name": "Ada"})  # stored by reference, lives 300 s
cache.set("flag", None, timeout=60)  # a cached None is still a hit
print("user:1 ->", cache.get("user:1"))
print("flag is cached:", cache.get("flag", MISSING) is not MISSING)
print("absent ->", cache.get("absent", "default"))

print("add when absent:", cache.add("lock:report", "me", timeout=30))
print("add when present:", cache.add("lock:report", "you", timeout=30))
print("counter:", cache.incr("visits"), cache.incr("visits", 10))

value = cache.get_or_set("expensive", lambda: sum(range(1_000)), timeout=60)
print("get_or_set ->", value)
print("entries:", len(cache), "expired removed:", cache.cleanup_expired())
