"""CachePolicy validation and ContentTypeCacheManager behaviour."""

from __future__ import annotations

import dataclasses
import datetime
import threading

import pytest

from cache.advanced import CachePolicy, CacheTag, ContentTypeCacheManager
from cache.backend import CacheBackend
from cache.errors import CacheTypeError, CacheValueError, UnknownContentTypeError
from cache.testing import FakeClock


def test_cache_control_is_derived_when_omitted() -> None:
    # Browsers revalidate with the cache, so an invalidation shows at once (issue 12).
    assert CachePolicy(timeout=600).cache_control == "no-cache"
    assert CachePolicy(timeout=600, stale_while_revalidate=60).cache_control == "no-cache"
    given = CachePolicy(timeout=600, cache_control="private, max-age=10").cache_control
    assert given == "private, max-age=10"
    assert CachePolicy(timeout=datetime.timedelta(minutes=5)).timeout == 300.0


def test_policy_is_frozen_and_normalised() -> None:
    policy = CachePolicy(timeout=600, tags={"user", "content"}, vary_on=["Accept-Language"])
    assert policy.tags == frozenset({"user", "content"})
    assert policy.vary_on == ("Accept-Language",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.timeout = 1  # type: ignore[misc]
    assert hash(policy) == hash(
        CachePolicy(timeout=600, tags={"content", "user"}, vary_on=["Accept-Language"])
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"timeout": -1}, CacheValueError, "timeout"),
        ({"timeout": 0}, CacheValueError, "timeout"),
        ({"timeout": "1h"}, CacheTypeError, "timeout"),
        ({"timeout": 60, "stale_while_revalidate": -5}, CacheValueError, "stale_while_revalidate"),
        ({"timeout": 60, "tags": "page"}, CacheTypeError, "tags"),
        ({"timeout": 60, "vary_on": "Accept"}, CacheTypeError, "vary_on"),
        ({"timeout": 60, "vary_on": ["Bad: header"]}, CacheValueError, "vary_on"),
        ({"timeout": 60, "cache_control": 5}, CacheTypeError, "cache_control"),
    ],
)
def test_bad_policy_names_the_field(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        CachePolicy(**kwargs)  # type: ignore[arg-type]


def _manager(backend: CacheBackend, clock: FakeClock) -> ContentTypeCacheManager:
    manager = ContentTypeCacheManager(backend, clock=clock)
    manager.register_policy(
        "page",
        CachePolicy(
            timeout=3600,
            tags={"page"},
            vary_on=["Accept-Language"],
            cache_control="public, max-age=3600",
        ),
    )
    manager.register_policy("post", CachePolicy(timeout=600, tags={"post", "content"}))
    manager.register_policy(
        "api_response", CachePolicy(timeout=60, tags={"api"}, stale_while_revalidate=30)
    )
    return manager


def test_spec_example_round_trip(backend: CacheBackend, clock: FakeClock) -> None:
    manager = _manager(backend, clock)
    content = {"title": "Home", "body": "..."}
    key = manager.cache_content("page", "home", content)
    assert key.startswith("content:page:home")
    assert manager.get_cached_content("page", "home") == content
    assert manager.get_cached_content("page", "about") is None


def test_vary_on_headers_are_part_of_the_key(backend: CacheBackend, clock: FakeClock) -> None:
    manager = _manager(backend, clock)
    manager.cache_content("page", "home", "bonjour", headers={"Accept-Language": "fr"})
    manager.cache_content("page", "home", "hello", headers={"accept-language": "en"})
    assert (
        manager.get_cached_content("page", "home", headers={"ACCEPT-LANGUAGE": "fr"}) == "bonjour"
    )
    assert manager.get_cached_content("page", "home", headers={"Accept-Language": "en"}) == "hello"
    assert manager.get_cached_content("page", "home", headers={"Accept-Language": "de"}) is None
    assert manager.cache_key("page", "x", {"Accept-Language": " fr  CA "}) == manager.cache_key(
        "page", "x", {"accept-language": "fr CA"}
    )
    # vary_on is per policy: "post" ignores the header
    assert manager.cache_key("post", 1, {"Accept-Language": "fr"}) == "content:post:1"


def test_tags_recorded_with_the_entry_are_checked_on_read(
    backend: CacheBackend, clock: FakeClock
) -> None:
    manager = _manager(backend, clock)
    manager.cache_content("post", "123", {"id": 123}, extra_tags={"author:456"})
    manager.cache_content("post", "124", {"id": 124}, extra_tags={"author:789"})
    CacheTag(backend).invalidate_tag("author:456")
    assert manager.get_cached_content("post", "123") is None
    assert manager.get_cached_content("post", "124") == {"id": 124}
    CacheTag(backend).invalidate_tag("content")  # a policy tag reaches every post
    assert manager.get_cached_content("post", "124") is None


def test_content_expires_with_the_policy(backend: CacheBackend, clock: FakeClock) -> None:
    manager = _manager(backend, clock)
    manager.cache_content("post", 1, "v")
    clock.advance(599)
    assert manager.get_cached_content("post", 1) == "v"
    clock.advance(2)
    assert manager.get_cached_content("post", 1) is None


def test_unknown_content_type_names_the_registered_ones(
    backend: CacheBackend, clock: FakeClock
) -> None:
    manager = _manager(backend, clock)
    with pytest.raises(LookupError, match=r"'video'.*api_response, page, post") as info:
        manager.cache_content("video", 1, "x")
    assert isinstance(info.value, UnknownContentTypeError)
    with pytest.raises(UnknownContentTypeError):
        manager.get_cached_content("video", 1)
    with pytest.raises(CacheTypeError, match="policy"):
        manager.register_policy("x", {"timeout": 5})  # type: ignore[arg-type]


def test_invalidate_content(backend: CacheBackend, clock: FakeClock) -> None:
    manager = _manager(backend, clock)
    manager.cache_content("post", 1, "v")
    assert manager.invalidate_content("post", 1) is True
    assert manager.get_cached_content("post", 1) is None
    assert manager.invalidate_content("post", 1) is False


def test_get_or_generate_serves_stale_within_the_policy_window(
    backend: CacheBackend, clock: FakeClock
) -> None:
    manager = _manager(backend, clock)
    versions = iter(["v1", "v2", "v3"])
    try:
        assert manager.get_or_generate("api_response", "feed", lambda: next(versions)) == (
            "v1",
            False,
        )
        clock.advance(70)  # past timeout=60, inside stale_while_revalidate=30
        assert manager.get_or_generate("api_response", "feed", lambda: next(versions)) == (
            "v1",
            True,
        )
        manager.swr.wait(5)
        assert manager.get_or_generate("api_response", "feed", lambda: next(versions)) == (
            "v2",
            False,
        )
        assert manager.get_cached_content("api_response", "feed") == "v2"
        clock.advance(200)  # past both windows: regenerated in the caller
        assert manager.get_or_generate("api_response", "feed", lambda: next(versions)) == (
            "v3",
            False,
        )
    finally:
        manager.close()


async def test_aget_or_generate_with_async_generator(
    backend: CacheBackend, clock: FakeClock
) -> None:
    manager = _manager(backend, clock)

    async def build() -> str:
        return "built"

    try:
        assert await manager.aget_or_generate("post", 9, build, extra_tags={"x"}) == (
            "built",
            False,
        )
        assert manager.get_cached_content("post", 9) == "built"
        CacheTag(backend).invalidate_tag("x")
        assert manager.get_cached_content("post", 9) is None
    finally:
        manager.close()


def test_issue_11_an_invalidation_during_a_generation_keeps_its_content_out(
    backend: CacheBackend, clock: FakeClock
) -> None:
    manager = ContentTypeCacheManager(backend, clock=clock)
    manager.register_policy("post", CachePolicy(timeout=60, stale_while_revalidate=30))
    source = {"body": "v1"}
    entered, release = threading.Event(), threading.Event()

    def render() -> str:
        body = source["body"]
        entered.set()
        assert release.wait(5)
        return body

    results: list[tuple[object, bool]] = []
    reader = threading.Thread(
        target=lambda: results.append(manager.get_or_generate("post", 1, render))
    )
    reader.start()
    try:
        assert entered.wait(5)
        source["body"] = "v2"
        assert manager.invalidate_content("post", 1) is False  # nothing stored yet
    finally:
        release.set()
        reader.join(5)
    assert results == [("v1", False)]
    assert manager.get_cached_content("post", 1) is None  # v1 was not kept
    assert manager.get_or_generate("post", 1, render) == ("v2", False)
    assert manager.get_cached_content("post", 1) == "v2"
    manager.close()
