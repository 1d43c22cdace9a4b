"""@cached under races (issue 11): a cancelled caller, an invalidation during a computation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cache import cached
from cache.backend import CacheBackend, InMemoryCache
from cache.errors import BackendUnavailableError
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


@pytest.mark.parametrize("swr", [0, 30], ids=["plain", "swr"])
def test_issue_11_an_invalidation_during_a_computation_keeps_its_result_out(
    backend: CacheBackend, swr: float
) -> None:
    source = {"value": "v1"}
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    @cached(timeout=60, stale_while_revalidate=swr, cache=backend)
    def load(item: int) -> str:
        value = source["value"]  # read before the invalidation...
        calls.append(value)
        entered.set()
        assert release.wait(5)
        return value  # ...returned after it

    for new in ("v2", "v3"):  # over nothing, then over the mark of an invalidation
        if new == "v3":
            assert load.invalidate(1) is True  # leaves a mark the next computation sees
        entered.clear()
        release.clear()
        results: list[str] = []
        caller = threading.Thread(target=lambda out=results: out.append(load(1)))
        caller.start()
        assert entered.wait(5)
        source["value"] = new
        assert load.invalidate(1) is False  # nothing was stored yet
        release.set()
        caller.join(5)
        assert results == [calls[-1]]  # the caller gets what it computed...
        assert load(1) == new and calls[-1] == new  # ...but it was not stored: computed again
        assert load(1) == new and calls[-1] == new and len(calls) == 2 * int(new[1]) - 2
    assert load.invalidate(1) is True and load.invalidate(1) is False


@pytest.mark.parametrize("swr", [0, 30], ids=["plain", "swr"])
async def test_issue_11_async_invalidation_during_a_computation_keeps_its_result_out(
    backend: CacheBackend, swr: float
) -> None:
    source = {"value": "v1"}
    entered, release = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    @cached(timeout=60, stale_while_revalidate=swr, cache=backend)
    async def load(item: int) -> str:
        value = source["value"]
        calls.append(value)
        entered.set()
        await release.wait()
        return value

    for new in ("v2", "v3"):
        if new == "v3":
            assert await load.ainvalidate(1) is True
        entered.clear()
        release.clear()
        caller = asyncio.create_task(load(1))
        await entered.wait()
        source["value"] = new
        assert await load.ainvalidate(1) is False
        release.set()
        assert await caller == calls[-1]
        assert await load(1) == new and calls[-1] == new
        assert await load(1) == new and len(calls) == 2 * int(new[1]) - 2  # then a hit
    assert await load.ainvalidate(1) is True and await load.ainvalidate(1) is False


@pytest.mark.parametrize("swr", [0, 30], ids=["plain", "swr"])
async def test_issue_11_a_call_after_an_invalidation_never_shares_a_result_read_before_it(
    backend: CacheBackend, swr: float
) -> None:
    source = {"value": "v1"}
    entered, release = asyncio.Event(), asyncio.Event()

    @cached(timeout=60, stale_while_revalidate=swr, cache=backend)
    async def load(item: int) -> str:
        value = source["value"]
        if value == "v1":
            entered.set()
            await release.wait()
        return value

    memo = load.invalidate.__self__  # type: ignore[attr-defined]
    flight = memo._swr_for(backend)._aflight if swr else memo._aflight
    first = asyncio.create_task(load(1))
    await entered.wait()
    source["value"] = "v2"
    await load.ainvalidate(1)  # returned: v1 may no longer be read
    second = asyncio.create_task(load(1))
    await until(lambda: flight._runs[memo.key(1)].waiters == 1)  # waits on the first call
    release.set()
    assert await first == "v1"  # began before the invalidation
    assert await second == "v2"


@pytest.mark.parametrize("swr", [0, 30], ids=["plain", "swr"])
def test_issue_11_a_refresh_started_before_an_invalidation_stores_nothing(
    backend: CacheBackend, swr: float
) -> None:
    source = {"value": "v1"}
    entered, release = threading.Event(), threading.Event()
    slow = {"on": False}

    @cached(timeout=60, stale_while_revalidate=swr, cache=backend)
    def load(item: int) -> str:
        value = source["value"]
        if slow["on"]:
            entered.set()
            assert release.wait(5)
        return value

    assert load(1) == "v1"
    slow["on"] = True
    refresher = threading.Thread(target=lambda: load.refresh(1))
    refresher.start()
    assert entered.wait(5)
    source["value"] = "v2"
    assert load.invalidate(1) is True
    release.set()
    refresher.join(5)
    slow["on"] = False
    assert load(1) == "v2"


class _CannotCompareAndDelete(InMemoryCache):
    """A backend whose conditional removal cannot be confirmed (an outage of that one call)."""

    def delete_if_equals(self, key: str, expected: object) -> bool:
        raise BackendUnavailableError("delete_if_equals was not applied: Redis is unavailable")


def test_issue_11_a_store_over_a_mark_that_fails_leaves_the_call_its_result() -> None:
    backend = _CannotCompareAndDelete()

    @cached(timeout=60, cache=backend)
    def load(item: int) -> str:
        return f"item {item}"

    assert load(1) == "item 1"  # a miss stores over a mark of its own: failed, quietly
    assert load.invalidate(1) is False  # nothing was stored; it leaves a mark
    assert load(1) == "item 1"  # computed; storing over the mark failed, quietly
    assert load(1) == "item 1"  # the mark stays: every call a miss, never an error
