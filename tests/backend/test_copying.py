"""CopyingCache: the in-memory engine storing serialized copies, as a network engine does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from cache.advanced import CachePolicy, ContentTypeCacheManager
from cache.backend import (
    CacheBackend,
    CopyingCache,
    InMemoryCache,
    JSONSerializer,
    TypedSerializer,
    from_url,
)
from cache.errors import CacheTypeError
from cache.testing import FakeClock
from cache.testing.contract import BackendContract


@pytest.fixture
def backend(clock: FakeClock) -> Iterator[CacheBackend]:
    engine = InMemoryCache(max_entries=100_000, clock=clock)
    yield CopyingCache(engine, TypedSerializer())
    engine.close()


@pytest.fixture
def advance(clock: FakeClock) -> Callable[[float], None]:
    return clock.advance


class TestCopyingContract(BackendContract):
    """The whole contract, through copies (the typed serializer carries its values)."""


def test_what_redis_would_refuse_is_refused_on_memory_too() -> None:
    engine = CopyingCache(InMemoryCache(), JSONSerializer())
    engine.set("when", "kept")
    with pytest.raises(CacheTypeError, match="JSON"):
        engine.set("when", dt.date(2026, 11, 29))  # a plain InMemoryCache would keep it
    assert engine.get("when") == "kept"


def test_reads_are_copies_a_later_mutation_does_not_reach() -> None:
    engine = CopyingCache(InMemoryCache(), JSONSerializer())
    value = {"items": [1, 2]}
    engine.set("v", value)
    value["items"].append(3)
    read = engine.get("v")
    read["items"].append(4)
    assert engine.get("v") == {"items": [1, 2]}


def test_tags_leases_and_urls_work_through_copies() -> None:
    engine = from_url("memory://?serializer=typed")
    assert isinstance(engine, CopyingCache)
    manager = ContentTypeCacheManager(engine)
    manager.register_policy("page", CachePolicy(timeout=60, tags={"pages"}))
    manager.cache_content("page", "home", {"on": dt.date(2026, 11, 29)})
    assert manager.get_cached_content("page", "home") == {"on": dt.date(2026, 11, 29)}
    manager.tags.invalidate_tag("pages")
    assert manager.get_cached_content("page", "home") is None
    assert engine.lease("lock", "token", 5) and engine.delete_if_equals("lock", "token")
    assert engine.add("mine", "token", 5) and engine.delete_if_equals("mine", "token")
    assert engine.incr("n") == 1 and engine.incr("n") == 2  # ints stay ints
