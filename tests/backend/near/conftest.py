"""Fixtures of the near cache tests: near caches over the session servers, each live."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cache.backend import NearCache, RedisCache

Opener = Callable[..., NearCache]


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Return ``check()``'s first true result, polling until ``timeout``; fail past it."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {check}")
        time.sleep(0.005)


def caught_up(reader: NearCache, *writers: NearCache) -> None:
    """Wait until ``reader`` received every message the ``writers`` sent so far."""
    for writer in writers:
        sent = writer.bus.sequence
        eventually(
            lambda writer=writer, sent=sent: reader.bus.last_from(writer.bus.publisher) == sent
        )


@pytest.fixture(params=["redis", "valkey"])
def server_url(request: pytest.FixtureRequest) -> str:
    """The URL of a session server (Redis, then Valkey), flushed before the test."""
    request.getfixturevalue(f"{request.param}_client")  # flushes it
    return str(request.getfixturevalue(f"{request.param}_server").url)


@pytest.fixture
def open_near() -> Iterator[Callable[..., NearCache]]:
    """``open_near(url, namespace=..., **near_options)``: a live near cache, closed after."""
    opened: list[NearCache] = []

    def open_(
        url: str, namespace: str = "near", cluster: bool = False, **options: Any
    ) -> NearCache:
        engine = RedisCache(url, namespace=namespace, cluster=cluster)
        near = NearCache(engine, **options)
        opened.append(near)
        assert near.wait_live(10), "the near cache never subscribed"
        return near

    yield open_
    for near in opened:
        near.close()
