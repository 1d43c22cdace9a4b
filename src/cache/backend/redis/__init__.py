"""The Redis engine (extra ``redis``): Redis, Valkey and Redis Cluster behind one class."""

from cache.backend.redis.engine import RedisCache

__all__ = ["RedisCache"]
