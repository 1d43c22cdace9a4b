"""@cached over a byte-bounded engine: a result larger than the bound is returned, not kept."""

from __future__ import annotations

import asyncio

import pytest

from cache import cached
from cache.backend import InMemoryCache
from cache.errors import ValueTooLargeError


def test_a_result_too_large_to_keep_is_returned_and_not_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = InMemoryCache(max_bytes=100, sizeof=len)
    calls: list[int] = []

    @cached(timeout=60, cache=engine)
    def page(size: int) -> str:
        calls.append(size)
        return "x" * size

    assert page(500) == "x" * 500 and page(500) == "x" * 500
    assert calls == [500, 500]  # computed each time: there is no room for it
    assert "not stored" in caplog.text and "500 bytes" in caplog.text
    assert page(10) == page(10) and calls == [500, 500, 10]  # one that fits is kept
    with pytest.raises(ValueTooLargeError, match="max_bytes=100"):
        engine.set("direct", "x" * 500)  # a direct set says so


def test_async_too() -> None:
    engine = InMemoryCache(max_bytes=100, sizeof=len)
    calls: list[int] = []

    @cached(timeout=60, cache=engine)
    async def page(size: int) -> str:
        calls.append(size)
        return "x" * size

    async def run() -> None:
        assert await page(500) == await page(500) == "x" * 500

    asyncio.run(run())
    assert calls == [500, 500]


def test_stale_while_revalidate_returns_it_too() -> None:
    from cache.advanced import StaleWhileRevalidateCache

    engine = InMemoryCache(max_bytes=100, sizeof=lambda stored: len(str(stored)))
    swr = StaleWhileRevalidateCache(engine)
    value, _ = swr.get_with_swr("big", lambda: "x" * 500, timeout=60, stale_timeout=60)
    assert value == "x" * 500
    again, _ = swr.get_with_swr("big", lambda: "y" * 500, timeout=60, stale_timeout=60)
    assert again == "y" * 500  # nothing was kept: computed again
    swr.close()
