"""HTTP response caching (extra ``web``): the ASGI middleware and its pure helpers."""

from cache.web.asgi import CacheMiddleware, Route

__all__ = ["CacheMiddleware", "Route"]
