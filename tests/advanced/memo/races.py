"""Helpers of the race tests: see when concurrent callers have reached a single flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cache.advanced.coordination import AsyncSingleFlight


def count_callers(flight: AsyncSingleFlight, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the key of every call that reached ``flight`` (it then waits or runs at once)."""
    reached: list[str] = []
    do = flight.do

    async def counted(key: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        reached.append(key)
        return await do(key, fn)

    monkeypatch.setattr(flight, "do", counted)
    return reached


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds."""
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the tasks never got there")
