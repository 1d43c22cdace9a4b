"""CacheWarmer: on demand, concurrently, on a cron schedule, once per tick across workers."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time

import pytest

from cache.advanced import CacheWarmer
from cache.backend import CacheBackend
from cache.errors import CacheTypeError, CacheValueError, UnknownWarmingTaskError
from cache.testing import FakeClock

# 2026-01-01 10:30:00 UTC: half past, so "0 * * * *" is due at 11:00.
HALF_PAST = datetime.datetime(2026, 1, 1, 10, 30, tzinfo=datetime.timezone.utc).timestamp()


@pytest.fixture
def wall(clock: FakeClock) -> FakeClock:
    clock.advance(HALF_PAST - clock())
    return clock


async def test_spec_example(backend: CacheBackend, wall: FakeClock) -> None:
    warmer = CacheWarmer(backend, clock=wall)

    def generate_homepage() -> str:
        return "<h1>home</h1>"

    def load_homepage() -> str:
        return generate_homepage()

    warmer.register_warming_task(
        key="page:home", generator=load_homepage, timeout=600, schedule="0 * * * *"
    )
    summary = await warmer.warm_cache()
    assert summary["page:home"]["ok"] is True
    assert backend.get("page:home") == "<h1>home</h1>"
    backend.delete("page:home")
    await warmer.warm_cache(key="page:home")
    assert backend.get("page:home") == "<h1>home</h1>"
    status = warmer.get_warming_status()["page:home"]
    assert status["state"] == "ok" and status["runs"] == 2 and status["failures"] == 0
    assert status["last_run"] == HALF_PAST
    assert status["next_run"] == HALF_PAST + 1800
    assert status["schedule"] == "0 * * * *"
    assert status["duration"] >= 0


async def test_plain_generators_run_in_a_worker_thread(backend: CacheBackend) -> None:
    warmer = CacheWarmer(backend)
    seen: list[int] = []

    def plain() -> str:
        seen.append(threading.get_ident())
        return "v"

    async def coro() -> str:
        return "a"

    warmer.register_warming_task("p", plain, 60)
    warmer.register_warming_task("a", coro, 60)
    await warmer.warm_cache()
    assert seen and seen[0] != threading.get_ident()
    assert backend.get_many(["p", "a"]) == {"p": "v", "a": "a"}


async def test_concurrency_is_bounded(backend: CacheBackend) -> None:
    warmer = CacheWarmer(backend, max_concurrency=2)
    running = 0
    peak = 0

    async def task() -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return 1

    for i in range(6):
        warmer.register_warming_task(f"k{i}", task, 60)
    summary = await warmer.warm_cache()
    assert len(summary) == 6 and all(r["ok"] for r in summary.values())
    assert peak == 2


async def test_a_failure_stops_nothing_and_keeps_the_cached_value(backend: CacheBackend) -> None:
    warmer = CacheWarmer(backend)
    backend.set("bad", "previous")

    def broken() -> str:
        raise ConnectionError("db unreachable")

    warmer.register_warming_task("bad", broken, 60)
    warmer.register_warming_task("good", lambda: "fresh", 60)
    summary = await warmer.warm_cache()
    assert summary["good"] == {"ok": True, "duration": summary["good"]["duration"], "error": None}
    assert summary["bad"]["ok"] is False
    assert summary["bad"]["error"] == "ConnectionError: db unreachable"
    assert backend.get("bad") == "previous"
    assert backend.get("good") == "fresh"
    status = warmer.get_warming_status()["bad"]
    assert (status["state"], status["failures"], status["runs"]) == ("failed", 1, 1)
    assert status["last_error"] == "ConnectionError: db unreachable"


async def test_unknown_key_is_a_clear_lookup_error(backend: CacheBackend) -> None:
    warmer = CacheWarmer(backend)
    warmer.register_warming_task("page:home", lambda: 1, 60)
    with pytest.raises(LookupError, match=r"'page:nope'.*page:home") as info:
        await warmer.warm_cache(key="page:nope")
    assert isinstance(info.value, UnknownWarmingTaskError)


@pytest.mark.parametrize("bad", ["61 * * * *", "* * *", "0 0 * * * *", "every hour", "* * 32 * *"])
def test_bad_schedule_is_refused_at_registration(backend: CacheBackend, bad: str) -> None:
    warmer = CacheWarmer(backend)
    with pytest.raises(ValueError, match="schedule"):
        warmer.register_warming_task("k", lambda: 1, 60, schedule=bad)
    assert warmer.keys == []


def test_bad_registration_arguments(backend: CacheBackend) -> None:
    warmer = CacheWarmer(backend)
    with pytest.raises(CacheTypeError, match="generator"):
        warmer.register_warming_task("k", "not callable", 60)  # type: ignore[arg-type]
    with pytest.raises(CacheValueError, match="timeout"):
        warmer.register_warming_task("k", lambda: 1, 0)
    with pytest.raises(CacheTypeError, match="schedule"):
        warmer.register_warming_task("k", lambda: 1, 60, schedule=5)  # type: ignore[arg-type]
    with pytest.raises(CacheValueError, match="max_concurrency"):
        CacheWarmer(backend, max_concurrency=0)


async def test_schedule_runs_each_tick_once(backend: CacheBackend, wall: FakeClock) -> None:
    warmer = CacheWarmer(backend, clock=wall)
    runs: list[int] = []
    warmer.register_warming_task("k", lambda: runs.append(1) or len(runs), 600, "0 * * * *")
    assert await warmer.run_pending() == {}
    assert warmer.seconds_until_next_run() == 1800
    wall.advance(1800)  # 11:00
    assert list(await warmer.run_pending()) == ["k"]
    assert await warmer.run_pending() == {}  # same tick: not again
    assert warmer.get_warming_status()["k"]["next_run"] == HALF_PAST + 1800 + 3600
    wall.advance(3 * 3600)  # 14:00, three ticks missed: run once, not three times
    await warmer.run_pending()
    assert runs == [1, 1]


async def test_one_worker_warms_a_tick_when_several_share_a_backend(
    backend: CacheBackend, wall: FakeClock
) -> None:
    runs: list[str] = []
    workers = [CacheWarmer(backend, clock=wall) for _ in range(3)]
    for n, worker in enumerate(workers):
        worker.register_warming_task("k", lambda n=n: runs.append(f"w{n}") or n, 600, "0 * * * *")
    wall.advance(1800)
    for worker in workers:
        await worker.run_pending()
    assert len(runs) == 1
    skipped = sum(w.get_warming_status()["k"]["skipped_ticks"] for w in workers)
    assert skipped == 2
    wall.advance(3600)
    for worker in reversed(workers):
        await worker.run_pending()
    assert len(runs) == 2


async def test_background_schedule_in_the_event_loop(
    backend: CacheBackend, wall: FakeClock
) -> None:
    warmer = CacheWarmer(backend, clock=wall)
    warmer.register_warming_task("k", lambda: "warm", 600, "0 * * * *")
    wall.advance(1800)  # due now
    async with warmer:
        assert warmer.running
        for _ in range(200):
            if backend.get("k") == "warm":
                break
            await asyncio.sleep(0.01)
    assert backend.get("k") == "warm"
    assert not warmer.running


def test_background_schedule_in_a_thread_without_a_loop(
    backend: CacheBackend, wall: FakeClock
) -> None:
    warmer = CacheWarmer(backend, clock=wall)
    warmer.register_warming_task("k", lambda: "warm", 600, "0 * * * *")
    wall.advance(1800)
    warmer.start()
    try:
        deadline = time.monotonic() + 5
        while backend.get("k") != "warm" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert backend.get("k") == "warm"
    finally:
        warmer.stop()
    for _ in range(100):
        if not warmer.running:
            break
        time.sleep(0.05)
    assert not warmer.running


def test_unregister(backend: CacheBackend) -> None:
    warmer = CacheWarmer(backend)
    warmer.register_warming_task("k", lambda: 1, 60)
    warmer.unregister_warming_task("k")
    assert warmer.get_warming_status() == {}
    with pytest.raises(UnknownWarmingTaskError):
        warmer.unregister_warming_task("k")
