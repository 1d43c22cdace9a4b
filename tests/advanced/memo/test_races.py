"""@cached under races (issue 11): a cancelled caller, an invalidation during a computation."""

from __future__ import annotations

import asyncio

import pytest

from cache import cached
from cache.backend import CacheBackend
from tests.advanced.memo.races import count_callers, until


@pytest.mark.parametrize("swr", [0, 30], ids=["plain", "swr"])
async def test_issue_11_a_cancelled_leader_hands_its_call_over_to_one_follower(
    backend: CacheBackend, swr: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls: list[int] = []

    @cached(timeout=60, stale_while_revalidate=swr, cache=backend)
    async def load(item: int) -> str:
        calls.append(item)
        started.set()
        await release.wait()
        return f"item {item}, call {len(calls)}"

    memo = load.invalidate.__self__  # type: ignore[attr-defined]
    flight = memo._swr_for(backend)._aflight if swr else memo._aflight
    reached = count_callers(flight, monkeypatch)
    leader = asyncio.create_task(load(1))
    await started.wait()
    followers = [asyncio.create_task(load(1)) for _ in range(3)]
    await until(lambda: len(reached) == 4)  # the followers wait on the leader's call
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    release.set()
    results = await asyncio.gather(*followers, return_exceptions=True)
    assert results == ["item 1, call 2"] * 3  # no CancelledError; one more call
    assert calls == [1, 1]
    assert await load(1) == "item 1, call 2"
