"""Coordination of fills: the single flights of one process, and FillLock across processes.

FillLock is tested under the interleavings that matter.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

import pytest

from cache._types import MISSING
from cache.advanced.coordination import (
    LEASE,
    AsyncSingleFlight,
    FillLock,
    SingleFlight,
    poll_delays,
)
from cache.backend import CacheBackend, InMemoryCache, RedisCache
from cache.backend.base import Entry
from cache.errors import CacheTypeError, InvalidKeyError, InvalidTimeoutError
from cache.testing import FakeClock
from cache.testing.redis_server import free_port


def test_concurrent_threads_share_one_run_and_its_error() -> None:
    flight = SingleFlight()
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []
    results: list[object] = []

    def slow() -> str:
        runs.append(1)
        started.set()
        release.wait(5)
        raise ValueError("generator failed")

    def caller() -> None:
        try:
            flight.do("k", slow)
        except ValueError as exc:
            results.append(exc)

    leader = threading.Thread(target=caller)
    leader.start()
    started.wait(5)
    waiters = [threading.Thread(target=caller) for _ in range(3)]
    for t in waiters:
        t.start()
    release.set()
    for t in [leader, *waiters]:
        t.join(5)
    assert runs == [1]
    assert len(results) == 4 and len({id(r) for r in results}) == 1  # the leader's exception
    assert flight.do("k", lambda: "again") == "again"  # a finished run is not reused


def test_in_flight_is_true_only_while_a_run_is_under_way() -> None:
    flight = SingleFlight()
    seen: list[bool] = []
    assert not flight.in_flight("k")
    assert flight.do("k", lambda: seen.append(flight.in_flight("k")) or "v") == "v"
    assert seen == [True]
    assert not flight.in_flight("k") and not flight.in_flight("other")


async def test_async_in_flight_is_true_only_while_a_run_is_under_way() -> None:
    flight = AsyncSingleFlight()
    seen: list[bool] = []

    async def run() -> str:
        seen.append(flight.in_flight("k"))
        return "v"

    assert not flight.in_flight("k")
    assert await flight.do("k", run) == "v"
    assert seen == [True]
    assert not flight.in_flight("k")


async def test_concurrent_tasks_share_one_run() -> None:
    flight = AsyncSingleFlight()
    runs: list[int] = []

    async def slow() -> str:
        runs.append(1)
        await asyncio.sleep(0.01)
        return "value"

    assert await asyncio.gather(*(flight.do("k", slow) for _ in range(5))) == ["value"] * 5
    assert runs == [1]

    async def failing() -> str:
        await asyncio.sleep(0.01)
        raise ValueError("generator failed")

    results = await asyncio.gather(
        *(flight.do("e", failing) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) for r in results)
    with pytest.raises(ValueError, match="failed"):
        await flight.do("e", failing)  # a failed run is not cached either


async def _cancel_the_leader_of(
    flight: AsyncSingleFlight, call: Any, followers: int = 3
) -> tuple[list[object], list[str]]:
    """Start a leader and ``followers`` waiters of ``call``; cancel the leader mid-run.

    ``call`` is given the name of the task running it and returns its result.
    Return the followers' results and the names of the tasks that ran ``call``.
    """
    ran: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def run(name: str) -> str:
        ran.append(name)
        started.set()
        await release.wait()
        return f"value from {name}"

    leader = asyncio.create_task(call(run, "leader"))
    await started.wait()
    waiting = [asyncio.create_task(call(run, f"follower {i}")) for i in range(followers)]
    await asyncio.sleep(0)  # every follower is waiting on the leader's run
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    return results, ran


async def test_issue_11_a_cancelled_leader_hands_over_to_one_follower() -> None:
    flight = AsyncSingleFlight()

    async def call(run: Any, name: str) -> Any:
        return await flight.do("k", lambda: run(name))

    results, ran = await _cancel_the_leader_of(flight, call)
    assert not any(isinstance(r, BaseException) for r in results), results
    assert len(ran) == 2 and ran[0] == "leader"  # ran again exactly once, in a follower
    assert results == [f"value from {ran[1]}"] * 3
    assert not flight.in_flight("k")


async def test_issue_11_a_cancelled_follower_leaves_the_run_to_the_others() -> None:
    flight = AsyncSingleFlight()
    release = asyncio.Event()
    runs: list[int] = []

    async def run() -> str:
        runs.append(1)
        await release.wait()
        return "value"

    tasks = [asyncio.create_task(flight.do("k", run)) for _ in range(3)]
    await asyncio.sleep(0)
    tasks[1].cancel()
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == results[2] == "value" and isinstance(results[1], asyncio.CancelledError)
    assert runs == [1]


def _blocked_in(event: threading.Event) -> int:
    """Return how many threads are blocked in ``event.wait()`` (CPython's Event)."""
    return len(event._cond._waiters)  # type: ignore[attr-defined]


class _Interrupted(BaseException):
    """Stands for a KeyboardInterrupt or SystemExit delivered to the leader's thread."""


def test_issue_11_a_leader_thread_interrupted_hands_over_to_one_waiter() -> None:
    flight = SingleFlight()
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []
    results: dict[str, object] = {}

    def run() -> str:
        name = threading.current_thread().name
        ran.append(name)
        started.set()
        release.wait(5)
        if name == "leader":
            raise _Interrupted
        return f"value from {name}"

    def caller() -> None:
        name = threading.current_thread().name
        try:
            results[name] = flight.do("k", run)
        except BaseException as exc:  # the test looks at what each caller got
            results[name] = exc

    leader = threading.Thread(target=caller, name="leader")
    leader.start()
    assert started.wait(5)
    waiters = [threading.Thread(target=caller, name=f"waiter {i}") for i in range(3)]
    for t in waiters:
        t.start()
    while _blocked_in(flight._calls["k"].done) < 3:
        threading.Event().wait(0.001)
    release.set()
    for t in [leader, *waiters]:
        t.join(5)
    assert isinstance(results.pop("leader"), _Interrupted)
    assert len(ran) == 2 and ran[0] == "leader"
    assert set(results.values()) == {f"value from {ran[1]}"}, results


def _stored(entry: Entry) -> tuple[Any] | None:
    return None if entry.value is MISSING else (entry.value,)


class _HolderFinishesBetweenReads(InMemoryCache):
    """A holder (another process) stores and unlocks just after the waiter read the entry."""

    def __init__(self) -> None:
        super().__init__()
        self.lock: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        if key == self.lock:
            self.set("report", "from the holder")
            self.delete(key)
        return super().get(key, default)


def test_a_waiter_finds_what_the_holder_stored_between_its_reads() -> None:
    cache = _HolderFinishesBetweenReads()
    fill = FillLock(cache, "report", _stored, wait=30)
    cache.lock = fill.key
    cache.add(fill.key, "the holder's token", 30)
    assert fill.acquire_or_wait() == ("from the holder",)  # not None: "compute it again"
    fill.release()
    assert cache.get(fill.key) is None


def test_a_waiter_takes_the_lock_a_holder_left_without_storing() -> None:
    cache = InMemoryCache()
    holder = FillLock(cache, "report", _stored, wait=30)
    assert holder.acquire_or_wait() is None and holder.held
    holder.release()  # it failed: nothing stored
    waiter = FillLock(cache, "report", _stored, wait=30)
    assert waiter.acquire_or_wait() is None and waiter.held  # computes, under the lock
    assert cache.get(waiter.key) == waiter.token
    waiter.release()
    assert cache.get(waiter.key) is None


class _CountingRedis(RedisCache):
    def __init__(self, url: str) -> None:
        super().__init__(url, connect_timeout=0.05)
        self.lock_reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        self.lock_reads += 1
        return super().get(key, default)

    async def aget(self, key: str, default: Any = None) -> Any:
        self.lock_reads += 1
        return await super().aget(key, default)


async def test_a_backend_that_does_not_answer_sends_the_waiter_to_compute_at_once() -> None:
    cache = _CountingRedis(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    fill = FillLock(cache, "report", _stored, wait=30)
    assert fill.acquire_or_wait() is None and not fill.held
    assert cache.lock_reads == 0  # its first call failed: no waiting, not even a look
    assert await fill.aacquire_or_wait() is None and not fill.held
    assert cache.lock_reads == 0
    await cache.aclose()


def test_waits_between_looks_grow_to_a_cap() -> None:
    delays = list(itertools.islice(poll_delays(), 30))
    assert 0.004 <= delays[0] <= 0.006  # a quick fill is seen quickly
    assert all(later > earlier for earlier, later in itertools.pairwise(delays[:6]))
    assert all(0.08 <= d <= 0.12 for d in delays[12:])  # a slow one is not hammered
    assert sum(delays) > 1.5  # 30 looks span seconds, not 300 ms


# -- leases (issue 4) -----------------------------------------------------------


def test_issue_4_a_lease_is_taken_extended_by_its_holder_and_ends(
    backend: CacheBackend, clock: FakeClock
) -> None:
    assert backend.lease("lock:page", "a", 5)
    assert not backend.lease("lock:page", "b", 5)  # another holder's lock is left alone
    clock.advance(3)
    assert backend.lease("lock:page", "a", 5)  # extended: 5 s from now
    clock.advance(3)
    assert not backend.lease("lock:page", "b", 5)
    clock.advance(2.5)
    assert backend.lease("lock:page", "b", 5)  # ended with its lease
    assert not backend.delete_if_equals("lock:page", "a")
    assert backend.delete_if_equals("lock:page", "b")


async def test_issue_4_bad_lease_arguments_are_refused_and_nothing_stored(
    backend: CacheBackend,
) -> None:
    with pytest.raises(CacheTypeError, match="key must be a str, got int"):
        backend.lease(5, "token", 5)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError, match="token must be a non-empty string"):
        await backend.alease("lock", "", 5)
    with pytest.raises(InvalidTimeoutError, match="timeout must be a positive"):
        backend.lease("lock", "token", 0)
    with pytest.raises(CacheTypeError, match="timeout must be a number of seconds"):
        backend.lease("lock", "token", "soon")  # type: ignore[arg-type]
    assert backend.get("lock", MISSING) is MISSING


def test_issue_4_a_dead_holders_lock_ends_with_its_lease(clock: FakeClock) -> None:
    cache = InMemoryCache(clock=clock)
    holder = FillLock(cache, "report", _stored, wait=30, lock_timeout=30)
    assert holder.acquire_or_wait() is None and holder.held
    assert holder._renewal is not None
    holder._renewal.stop()  # the holder dies: nobody renews, nobody releases
    clock.advance(LEASE + 0.1)
    waiter = FillLock(cache, "report", _stored, wait=0.2)
    assert waiter.acquire_or_wait() is None and waiter.held  # takes it at once
    waiter.release()
    assert cache.get(waiter.key) is None


async def test_issue_4_a_live_holder_keeps_its_lock_by_renewing(clock: FakeClock) -> None:
    cache = InMemoryCache(clock=clock)
    sync = FillLock(cache, "a", _stored, wait=30, lock_timeout=0.3)
    tasks = FillLock(cache, "b", _stored, wait=30, lock_timeout=0.3)
    assert sync.acquire_or_wait() is None and sync.held
    assert await tasks.aacquire_or_wait() is None and tasks.held
    clock.advance(0.25)  # 0.05 s left unless renewed

    async def renewed(key: str) -> bool:
        for _ in range(200):  # the renewal runs every 0.1 s of real time
            left = cache.ttl(key)
            if isinstance(left, float) and left > 0.1:
                return True
            await asyncio.sleep(0.01)
        return False

    assert await renewed(sync.key) and await renewed(tasks.key)
    sync.release()
    await tasks.arelease()
    assert cache.get(sync.key) is None and cache.get(tasks.key) is None
