"""The bad-input table: a row is a call, the error it must raise, and the argument it names.

Every row runs on both engines (``conftest.py``) over a sentinel set of stored
keys, which must read back unchanged after the call: bad input is refused
before anything is written or removed (issue 9).
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cache.backend import CacheBackend

BOTH = ("memory", "redis")
REDIS = ("redis",)  # engines that encode what they store (the memory engine keeps references)

#: A value nested deeper than any encoder recurses.
DEEP: list[Any] = []
for _ in range(5_000):
    DEEP = [DEEP]


def too_deep(call: Callable[[CacheBackend], Any]) -> Callable[[CacheBackend], Any]:
    """Run ``call`` at Python's default recursion limit, which others (hypothesis) may raise."""

    def at_default_limit(cache: CacheBackend) -> Any:
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(1_000)
        try:
            return call(cache)
        finally:
            sys.setrecursionlimit(previous)

    return at_default_limit


def gen() -> str:
    return "generated"


@dataclass(frozen=True)
class Row:
    """``call(cache)`` must raise ``error`` with ``names`` in its message."""

    id: str
    call: Callable[[CacheBackend], Any]
    error: type[Exception]
    names: str
    engines: tuple[str, ...] = BOTH


def run(row: Row, cache: CacheBackend) -> Exception:
    """Run ``row`` (awaiting an async call) and return the error it raised."""

    def call() -> None:
        result = row.call(cache)
        if inspect.isawaitable(result):

            async def wait() -> Any:
                return await result

            asyncio.run(wait())

    with pytest.raises(row.error) as caught:
        call()
    return caught.value


def params(rows: list[Row]) -> list[Any]:
    """Return one pytest param per (row, engine), ids ``<row>-<engine>``."""
    assert len({r.id for r in rows}) == len(rows), "row ids must be unique"
    return [pytest.param(r, e, id=f"{r.id}-{e}") for r in rows for e in r.engines]


def refused_and_nothing_changed(row: Row, opened: tuple[CacheBackend, Callable[[], Any]]) -> None:
    """Run ``row`` on an opened engine: its error names the argument, the store is unchanged."""
    cache, held = opened
    before = held()
    error = run(row, cache)
    assert row.names in str(error), str(error)
    assert held() == before
