"""StaleWhileRevalidateCache: windows, one refresh per key, single flight, failures."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cache.advanced import CacheStatistics, CacheTag, StaleWhileRevalidateCache
from cache.backend import CacheBackend
from cache.backend.validation import reserved_key
from cache.errors import CacheTypeError, CacheValueError
from cache.testing import FakeClock
from tests.advanced.memo.races import count_callers, until


@pytest.fixture
def stats() -> CacheStatistics:
    return CacheStatistics()


@pytest.fixture
def swr(
    backend: CacheBackend, clock: FakeClock, stats: CacheStatistics
) -> Iterator[StaleWhileRevalidateCache]:
    reader = StaleWhileRevalidateCache(backend, clock=clock, stats=stats)
    yield reader
    reader.close()


class Counter:
    """A generator that counts its calls and returns call numbers."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.calls += 1
            n = self.calls
        if self.delay:
            time.sleep(self.delay)
        return n


def test_fresh_then_stale_then_refreshed(
    swr: StaleWhileRevalidateCache, clock: FakeClock, stats: CacheStatistics
) -> None:
    gen = Counter()
    assert swr.get_with_swr("k", gen, timeout=60, stale_timeout=30) == (1, False)
    clock.advance(59)
    assert swr.get_with_swr("k", gen, timeout=60, stale_timeout=30) == (1, False)
    clock.advance(2)
    assert swr.get_with_swr("k", gen, timeout=60, stale_timeout=30) == (1, True)
    swr.wait(5)
    assert gen.calls == 2
    assert swr.get_with_swr("k", gen, timeout=60, stale_timeout=30) == (2, False)
    result = stats.get_stats()
    assert (result["hits"], result["misses"], result["stale_hits"]) == (3, 1, 1)


def test_past_both_windows_the_caller_regenerates(
    swr: StaleWhileRevalidateCache, clock: FakeClock
) -> None:
    gen = Counter()
    swr.get_with_swr("k", gen, timeout=60, stale_timeout=30)
    clock.advance(91)
    assert swr.get_with_swr("k", gen, timeout=60, stale_timeout=30) == (2, False)


def test_stale_is_served_at_once_with_exactly_one_refresh(
    swr: StaleWhileRevalidateCache, clock: FakeClock
) -> None:
    gate = threading.Event()
    calls: list[int] = []

    def gated() -> int:
        calls.append(1)
        if len(calls) > 1:
            # The refresh blocks until every reader has returned: a reader that
            # waited for it would never return, and the join below would time out.
            assert gate.wait(10)
        return len(calls)

    swr.get_with_swr("k", gated, timeout=10, stale_timeout=100)
    clock.advance(11)
    results: list[tuple[object, bool]] = []

    def read() -> None:
        results.append(swr.get_with_swr("k", gated, timeout=10, stale_timeout=100))

    threads = [threading.Thread(target=read) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == [(1, True)] * 10
    gate.set()
    swr.wait(5)
    assert len(calls) == 2  # exactly one refresh ran
    assert swr.get_with_swr("k", gated, timeout=10, stale_timeout=100) == (2, False)


def test_concurrent_misses_run_the_generator_once(swr: StaleWhileRevalidateCache) -> None:
    slow = Counter(delay=0.1)
    results: list[tuple[object, bool]] = []
    barrier = threading.Barrier(8)

    def read() -> None:
        barrier.wait()
        results.append(swr.get_with_swr("k", slow, timeout=60))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert slow.calls == 1
    assert results == [(1, False)] * 8


def test_an_exception_reaches_every_waiting_caller(swr: StaleWhileRevalidateCache) -> None:
    calls: list[int] = []

    def boom() -> int:
        calls.append(1)
        time.sleep(0.1)
        raise RuntimeError("database down")

    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def read() -> None:
        barrier.wait()
        try:
            swr.get_with_swr("k", boom, timeout=60)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(errors) == 5 and all(str(e) == "database down" for e in errors)


def test_a_failed_refresh_keeps_the_stale_value(
    swr: StaleWhileRevalidateCache,
    clock: FakeClock,
    stats: CacheStatistics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    swr.get_with_swr("k", lambda: "good", timeout=10, stale_timeout=100)
    clock.advance(11)

    def failing() -> str:
        raise RuntimeError("upstream 500")

    assert swr.get_with_swr("k", failing, timeout=10, stale_timeout=100) == ("good", True)
    swr.wait(5)
    assert swr.get_with_swr("k", failing, timeout=10, stale_timeout=100) == ("good", True)
    swr.wait(5)
    assert stats.get_stats()["errors"] == 2
    assert "background refresh of 'k' failed" in caplog.text


def test_a_refresh_claimed_by_another_process_is_not_repeated(
    swr: StaleWhileRevalidateCache, backend: CacheBackend, clock: FakeClock
) -> None:
    gen = Counter()
    swr.get_with_swr("k", gen, timeout=10, stale_timeout=100)
    clock.advance(11)
    backend.add(reserved_key("swr", "k"), "other-process-token", 30)
    assert swr.get_with_swr("k", gen, timeout=10, stale_timeout=100) == (1, True)
    swr.wait(5)
    assert gen.calls == 1
    backend.delete(reserved_key("swr", "k"))


def test_tagged_entries_are_invalidated(
    swr: StaleWhileRevalidateCache, backend: CacheBackend
) -> None:
    gen = Counter()
    assert swr.get_with_swr("k", gen, timeout=60, tags={"user:1"}) == (1, False)
    assert swr.get_with_swr("k", gen, timeout=60, tags={"user:1"}) == (1, False)
    CacheTag(backend).invalidate_tag("user:1")
    assert swr.get_with_swr("k", gen, timeout=60, tags={"user:1"}) == (2, False)


def test_early_refresh_xfetch(backend: CacheBackend, clock: FakeClock) -> None:
    swr = StaleWhileRevalidateCache(backend, clock=clock, early_refresh_beta=1e9)
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        clock.advance(2)  # took two (fake) seconds: early refresh becomes likely
        return len(calls)

    try:
        swr.get_with_swr("k", slow, timeout=600)
        assert swr.get_with_swr("k", slow, timeout=600) == (1, False)  # still fresh ...
        swr.wait(5)
        assert len(calls) == 2  # ... but refreshed ahead of expiry
    finally:
        swr.close()


def test_bad_arguments(swr: StaleWhileRevalidateCache) -> None:
    with pytest.raises(CacheValueError, match="timeout"):
        swr.get_with_swr("k", lambda: 1, timeout=0)
    with pytest.raises(CacheValueError, match="stale_timeout"):
        swr.get_with_swr("k", lambda: 1, timeout=5, stale_timeout=-1)
    with pytest.raises(CacheTypeError, match="generator"):
        swr.get_with_swr("k", 5, timeout=5)  # type: ignore[arg-type]

    async def coro() -> int:
        return 1

    with pytest.raises(CacheTypeError, match="aget_with_swr"):
        swr.get_with_swr("k", coro, timeout=5)


async def test_async_single_flight_and_stale(
    swr: StaleWhileRevalidateCache, clock: FakeClock
) -> None:
    calls: list[int] = []

    async def build() -> int:
        calls.append(1)
        await asyncio.sleep(0.05)
        return len(calls)

    results = await asyncio.gather(*(swr.aget_with_swr("k", build, 10, 100) for _ in range(10)))
    assert results == [(1, False)] * 10 and len(calls) == 1
    clock.advance(11)
    stale = await asyncio.gather(*(swr.aget_with_swr("k", build, 10, 100) for _ in range(5)))
    assert stale == [(1, True)] * 5
    await swr.await_refreshes()
    assert len(calls) == 2
    assert await swr.aget_with_swr("k", build, 10, 100) == (2, False)


async def test_async_exception_reaches_every_task(swr: StaleWhileRevalidateCache) -> None:
    async def boom() -> int:
        await asyncio.sleep(0.02)
        raise ValueError("bad")

    results = await asyncio.gather(
        *(swr.aget_with_swr("k", boom, 10) for _ in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) for r in results)


async def test_async_accepts_plain_generators(swr: StaleWhileRevalidateCache) -> None:
    main = threading.get_ident()
    seen: list[int] = []

    def plain() -> str:
        seen.append(threading.get_ident())
        return "ok"

    assert await swr.aget_with_swr("k", plain, 10) == ("ok", False)
    assert seen and seen[0] != main  # ran in a worker thread


def test_store_if_keeps_a_refused_value_out_and_the_stale_one_in(
    swr: StaleWhileRevalidateCache, clock: FakeClock
) -> None:
    def keep(value: int) -> bool:
        return value % 2 == 1  # odd call numbers only

    gen = Counter()
    assert swr.get_with_swr("k", gen, 60, 30, store_if=keep) == (1, False)
    clock.advance(61)
    assert swr.get_with_swr("k", gen, 60, 30, store_if=keep) == (1, True)
    swr.wait(5)  # call 2 ran in the background and was refused
    assert gen.calls == 2
    assert swr.get_with_swr("k", gen, 60, 30, store_if=keep) == (1, True)  # still the stale 1
    swr.wait(5)
    assert swr.get_with_swr("k", gen, 60, 30, store_if=keep) == (3, False)  # call 3 was kept
    assert swr.refresh("k", gen, 60, 30, store_if=keep) == 4  # returned, not stored
    assert swr.get_with_swr("k", gen, 60, 30, store_if=keep) == (3, False)
    with pytest.raises(CacheTypeError, match="store_if must be callable"):
        swr.get_with_swr("k", gen, 60, store_if=1)  # type: ignore[arg-type]


async def test_store_if_async(swr: StaleWhileRevalidateCache) -> None:
    async def nothing() -> None:
        return None

    def kept(value: object) -> bool:
        return value is not None

    assert await swr.aget_with_swr("a", nothing, 60, store_if=kept) == (None, False)
    assert await swr.aget_with_swr("a", lambda: "x", 60, store_if=kept) == ("x", False)
    assert await swr.aget_with_swr("a", nothing, 60, store_if=kept) == ("x", False)
    assert await swr.arefresh("a", nothing, 60, store_if=kept) is None
    assert await swr.aget_with_swr("a", nothing, 60, store_if=kept) == ("x", False)


def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any sleep of the read an error: a read that polls a lock would wait on it."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"the read waited ({seconds:.3f} s) for a refresh lock")

    async def arefuse(seconds: float) -> None:
        refuse(seconds)

    monkeypatch.setattr(time, "sleep", refuse)
    monkeypatch.setattr(asyncio, "sleep", arefuse)


def test_issue_11_a_stale_entry_invalidated_by_its_tag_is_regenerated_at_once(
    swr: StaleWhileRevalidateCache,
    backend: CacheBackend,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = Counter()
    assert swr.get_with_swr("k", gen, 10, 100, tags={"user:1"}) == (1, False)
    clock.advance(11)  # stale: the next read takes the refresh lock
    CacheTag(backend).invalidate_tag("user:1")
    threads: list[int] = []

    def generate() -> int:
        threads.append(threading.get_ident())
        return gen()

    _no_waiting(monkeypatch)
    assert swr.get_with_swr("k", generate, 10, 100, tags={"user:1"}) == (2, False)
    assert threads == [threading.get_ident()]  # once, in the caller
    assert backend.get(reserved_key("swr", "k")) is None  # the lock was given back


async def test_issue_11_async_stale_entry_invalidated_by_its_tag_is_regenerated_at_once(
    swr: StaleWhileRevalidateCache,
    backend: CacheBackend,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    async def generate() -> int:
        calls.append(1)
        return len(calls)

    assert await swr.aget_with_swr("k", generate, 10, 100, tags={"user:1"}) == (1, False)
    clock.advance(11)
    await CacheTag(backend).ainvalidate_tag("user:1")
    _no_waiting(monkeypatch)
    assert await swr.aget_with_swr("k", generate, 10, 100, tags={"user:1"}) == (2, False)
    assert calls == [1, 1]
    assert await backend.aget(reserved_key("swr", "k")) is None


async def test_issue_11_a_cancelled_leader_hands_its_miss_over_to_one_follower(
    swr: StaleWhileRevalidateCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls: list[int] = []

    async def generate() -> str:
        calls.append(1)
        started.set()
        await release.wait()
        return f"call {len(calls)}"

    reached = count_callers(swr._aflight, monkeypatch)
    leader = asyncio.create_task(swr.aget_with_swr("k", generate, 60))
    await started.wait()
    followers = [asyncio.create_task(swr.aget_with_swr("k", generate, 60)) for _ in range(3)]
    await until(lambda: len(reached) == 4)  # the followers wait on the leader's run
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    release.set()
    results = await asyncio.gather(*followers, return_exceptions=True)
    assert results == [("call 2", False)] * 3  # no CancelledError; one more run
    assert len(calls) == 2
    assert await swr.aget_with_swr("k", generate, 60) == ("call 2", False)


def test_issue_11_an_invalidation_during_a_refresh_keeps_its_result_out(
    swr: StaleWhileRevalidateCache, clock: FakeClock
) -> None:
    source = {"value": "v1"}
    entered, release = threading.Event(), threading.Event()

    def generate() -> str:
        value = source["value"]
        if value == "v1" and source.get("slow"):
            entered.set()
            assert release.wait(5)
        return value

    assert swr.get_with_swr("k", generate, 10, 100) == ("v1", False)
    clock.advance(11)
    source["slow"] = "yes"
    assert swr.get_with_swr("k", generate, 10, 100) == ("v1", True)  # refreshing from v1
    assert entered.wait(5)
    source["value"] = "v2"
    assert swr.invalidate("k", 10, 100) is True
    release.set()
    swr.wait(5)
    assert swr.get_with_swr("k", generate, 10, 100) == (
        "v2",
        False,
    )  # the refresh's v1 was not kept
    assert swr.invalidate("k", 10, 100) is True and swr.invalidate("k", 10, 100) is False


async def test_issue_11_async_invalidation_during_a_fill_keeps_its_result_out(
    swr: StaleWhileRevalidateCache,
) -> None:
    source = {"value": "v1"}
    entered, release = asyncio.Event(), asyncio.Event()

    async def generate() -> str:
        value = source["value"]
        entered.set()
        await release.wait()
        return value

    reader = asyncio.create_task(swr.aget_with_swr("k", generate, 10, 100))
    await entered.wait()
    source["value"] = "v2"
    assert await swr.ainvalidate("k", 10, 100) is False  # nothing stored yet
    release.set()
    assert await reader == ("v1", False)  # the caller gets what it computed, unstored
    assert await swr.aget_with_swr("k", generate, 10, 100) == ("v2", False)


def test_issue_11_bad_invalidate_arguments_are_refused_and_nothing_is_touched(
    swr: StaleWhileRevalidateCache, backend: CacheBackend
) -> None:
    swr.get_with_swr("k", lambda: "kept", 10, 100)
    with pytest.raises(CacheTypeError, match="key must be a str, got int"):
        swr.invalidate(7, 10)  # type: ignore[arg-type]
    with pytest.raises(CacheValueError, match="timeout"):
        swr.invalidate("k", -1)
    with pytest.raises(CacheValueError, match="stale_timeout"):
        swr.invalidate("k", 10, float("nan"))
    assert swr.get_with_swr("k", lambda: "new", 10, 100) == ("kept", False)


def _held_back(source: dict[str, str], entered: Any, release: Any) -> Any:
    """Return a generator reading ``source`` that, for "v1", waits for ``release`` after reading."""

    def generate() -> str:
        value = source["value"]
        if value == "v1":
            entered.set()
            assert release.wait(5)
        return value

    return generate


def test_issue_11_a_miss_after_an_invalidation_never_gets_a_value_read_before_it(
    swr: StaleWhileRevalidateCache, backend: CacheBackend
) -> None:
    source, entered, release = {"value": "v1"}, threading.Event(), threading.Event()
    generate = _held_back(source, entered, release)
    results: dict[str, tuple[Any, bool]] = {}

    def read(name: str) -> None:
        results[name] = swr.get_with_swr("k", generate, 10, 100, tags={"t"})

    first = threading.Thread(target=read, args=("first",))
    first.start()
    assert entered.wait(5)  # the first read's generator has read v1
    source["value"] = "v2"
    CacheTag(backend).invalidate_tag("t")  # returned: v1 may no longer be read
    second = threading.Thread(target=read, args=("second",))
    second.start()
    for _ in range(5000):  # until the second read waits on the first one's run
        call = swr._flight._calls.get("k")
        if call is not None and call.waiters:
            break
        time.sleep(0.001)
    release.set()
    first.join(5)
    second.join(5)
    assert results == {"first": ("v1", False), "second": ("v2", False)}


async def test_issue_11_async_miss_after_an_invalidation_never_gets_a_value_read_before_it(
    swr: StaleWhileRevalidateCache, backend: CacheBackend
) -> None:
    source, entered, release = {"value": "v1"}, asyncio.Event(), asyncio.Event()

    async def generate() -> str:
        value = source["value"]
        if value == "v1":
            entered.set()
            await release.wait()
        return value

    first = asyncio.create_task(swr.aget_with_swr("k", generate, 10, 100, tags={"t"}))
    await entered.wait()
    source["value"] = "v2"
    await CacheTag(backend).ainvalidate_tag("t")
    second = asyncio.create_task(swr.aget_with_swr("k", generate, 10, 100, tags={"t"}))
    await until(lambda: "k" in swr._aflight._runs and swr._aflight._runs["k"].waiters == 1)
    release.set()
    assert await first == ("v1", False)  # began before the invalidation
    assert await second == ("v2", False)
