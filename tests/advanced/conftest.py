"""Fixtures for the feature tests: every test runs once per backend engine.

The feature tests are written once; an engine joins by adding its name to
``ENGINES`` and a branch to ``backend``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cache.backend import CacheBackend, InMemoryCache, RedisCache
from cache.backend._keys import RESERVED_PREFIX
from cache.testing import FakeClock
from cache.testing.redis_server import shift_ttls

ENGINES = ["memory", "redis", "cluster"]


def _locks(engine: CacheBackend, raw: object | None) -> list[str]:
    pattern = RESERVED_PREFIX + "swr:"
    if isinstance(engine, InMemoryCache):
        return [k for k in engine._data if k.startswith(pattern)]
    return [k.decode() for k in raw.scan_iter(match=f"*{pattern}*")]  # type: ignore[attr-defined]


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[CacheBackend]:
    """A fresh, empty engine whose time moves with ``clock``."""
    raw = None
    engine: CacheBackend
    if request.param == "memory":
        engine = InMemoryCache(max_entries=200_000, clock=clock)
    elif request.param == "redis":
        raw = request.getfixturevalue("redis_client")
        engine = RedisCache(request.getfixturevalue("redis_server").url, strict=True)
    else:
        raw = request.getfixturevalue("cluster_client")
        engine = RedisCache(request.getfixturevalue("redis_cluster").url, cluster=True, strict=True)
    if raw is not None:
        # Redis keeps its own time: advancing the fake clock shortens every TTL.
        clock.on_advance(lambda seconds: shift_ttls(raw, seconds))
    yield engine
    # Invariant after every test: no refresh lock outlives its refresh.
    assert _locks(engine, raw) == [], "refresh locks left behind"
    engine.close()
