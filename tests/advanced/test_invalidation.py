"""CacheInvalidator: pattern and prefix invalidation over the shared registry."""

from __future__ import annotations

import re

import pytest

from cache._types import MISSING
from cache.advanced import CacheInvalidator
from cache.backend import CacheBackend
from cache.errors import CacheTypeError, CacheValueError
from cache.testing import FakeClock


def test_spec_example_counts_registered_keys(backend: CacheBackend) -> None:
    invalidator = CacheInvalidator(backend)
    invalidator.register_key("user:1")
    invalidator.register_key("user:2")
    invalidator.register_key("post:1")
    assert invalidator.invalidate_pattern(r"^user:") == 2  # nothing was cached
    assert invalidator.registered_keys() == ["post:1"]


def test_pattern_deletes_cached_matches_only(backend: CacheBackend) -> None:
    invalidator = CacheInvalidator(backend, clock=lambda: 1.0)
    for key in ("user:1", "user:2", "post:1", "superuser:9"):
        backend.set(key, key)
        invalidator.register_key(key)
    assert invalidator.invalidate_pattern(r"^user:") == 2
    assert backend.get_many(["user:1", "user:2", "post:1", "superuser:9"]) == {
        "post:1": "post:1",
        "superuser:9": "superuser:9",
    }
    assert invalidator.invalidate_pattern(r"^user:") == 0  # they left the registry
    assert invalidator.invalidate_pattern(re.compile(r"1$")) == 1  # search semantics: post:1


def test_prefix(backend: CacheBackend) -> None:
    invalidator = CacheInvalidator(backend)
    keys = ["page:home", "page:about", "pages", "pag", "post:page:1"]
    for key in keys:
        backend.set(key, 1)
    invalidator.register_keys(keys)
    assert invalidator.invalidate_prefix("page:") == 2
    assert sorted(backend.get_many(keys)) == ["pag", "pages", "post:page:1"]
    assert invalidator.registered_count() == 3


def test_prefix_with_more_matches_than_one_batch(backend: CacheBackend) -> None:
    invalidator = CacheInvalidator(backend)
    invalidator.register_keys(f"page:{i}" for i in range(2_500))
    invalidator.register_keys(f"post:{i}" for i in range(10))
    backend.set("page:7", "cached")
    assert invalidator.invalidate_prefix("page:") == 2_500
    assert backend.get("page:7", MISSING) is MISSING
    assert invalidator.registered_count() == 10


def test_bad_regex_raises_before_anything_is_deleted(backend: CacheBackend) -> None:
    invalidator = CacheInvalidator(backend)
    backend.set("user:1", "safe")
    invalidator.register_key("user:1")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        invalidator.invalidate_pattern("user:(")
    with pytest.raises(CacheTypeError, match="pattern"):
        invalidator.invalidate_pattern(42)  # type: ignore[arg-type]
    assert backend.get("user:1") == "safe"
    assert invalidator.registered_keys() == ["user:1"]


def test_cleanup_old_keys(backend: CacheBackend, clock: FakeClock) -> None:
    invalidator = CacheInvalidator(backend, clock=clock)
    invalidator.register_keys(["old:1", "old:2"])
    clock.advance(25 * 3600)
    invalidator.register_key("new:1")
    assert invalidator.cleanup_old_keys(max_age_hours=24) == 2
    assert invalidator.registered_keys() == ["new:1"]
    assert invalidator.cleanup_old_keys(max_age_hours=24) == 0
    with pytest.raises(CacheValueError, match="max_age_hours"):
        invalidator.cleanup_old_keys(max_age_hours=-1)


def test_registry_is_bounded_dropping_the_oldest(backend: CacheBackend, clock: FakeClock) -> None:
    invalidator = CacheInvalidator(backend, max_keys=100, clock=clock)
    for i in range(150):
        invalidator.register_key(f"k{i:03d}")
        clock.advance(1)
    assert invalidator.registered_count() == 100
    assert invalidator.registered_keys()[0] == "k050"


def test_registry_is_shared_by_invalidators_on_one_backend(backend: CacheBackend) -> None:
    CacheInvalidator(backend).register_key("page:shared")
    assert CacheInvalidator(backend).invalidate_prefix("page:") == 1
    other = CacheInvalidator(backend, registry="other")
    other.register_key("page:x")
    assert CacheInvalidator(backend).invalidate_prefix("page:") == 0
    assert other.registered_count() == 1


def test_bad_arguments(backend: CacheBackend) -> None:
    with pytest.raises(CacheValueError, match="max_keys"):
        CacheInvalidator(backend, max_keys=0)
    invalidator = CacheInvalidator(backend)
    with pytest.raises(CacheTypeError, match="key"):
        invalidator.register_key(5)  # type: ignore[arg-type]
    with pytest.raises(CacheTypeError, match="prefix"):
        invalidator.invalidate_prefix(None)  # type: ignore[arg-type]
