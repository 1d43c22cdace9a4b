"""Fixtures for the feature tests: every test runs once per backend engine.

To run the suite on another engine, add its name to ``ENGINES`` and a branch
to ``backend``: no test changes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cache.backend import CacheBackend, InMemoryCache
from cache.backend._keys import RESERVED_PREFIX
from cache.testing import FakeClock

ENGINES = ["memory"]


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[CacheBackend]:
    """A fresh, empty engine whose time is ``clock``."""
    engine = InMemoryCache(max_entries=200_000, clock=clock)
    yield engine
    # Invariant after every test: no refresh lock outlives its refresh.
    locks = [k for k in engine._data if k.startswith(RESERVED_PREFIX + "swr:")]
    assert locks == [], f"refresh locks left behind: {locks}"
    engine.close()
