"""The Redis engine (extra ``redis``): Redis, Valkey, Cluster and Sentinel behind one class."""

from cache.backend.redis._sentinel import parse_sentinel_url
from cache.backend.redis.engine import RedisCache

__all__ = ["RedisCache", "parse_sentinel_url"]
