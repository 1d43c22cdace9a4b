"""Conformance of CacheMiddleware to the HTTP caching standard, measured by cache-tests."""
