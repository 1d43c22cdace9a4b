"""Functions run in separate worker processes by the distributed tests (spawned, not forked)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cache import cached
from cache.advanced import CacheStatistics, CacheWarmer, StaleWhileRevalidateCache
from cache.backend import RedisCache
from cache.testing import FakeClock


def ready(_: int = 0) -> bool:
    return True


def _slow_counted(cache: RedisCache, counter: str, value: str) -> Any:
    def generate() -> str:
        cache.incr(counter)
        time.sleep(0.3)
        return value

    return generate


def read_with_swr(url: str, key: str, start_at: float, pid: int) -> tuple[Any, bool]:
    """Wait for the common start, then read ``key`` stale-while-revalidate."""
    cache = RedisCache(url)
    swr = StaleWhileRevalidateCache(cache)
    time.sleep(max(0.0, start_at - time.time()))
    try:
        result = swr.get_with_swr(
            key, _slow_counted(cache, "calls", f"from-{pid}"), timeout=10, stale_timeout=600
        )
        swr.wait(10)
        return result
    finally:
        swr.close()
        cache.close()


def warm_scheduled_tick(url: str, tick: float) -> list[str]:
    """Run a warmer whose hourly tick is due; return the keys this process warmed."""
    cache = RedisCache(url)
    clock = FakeClock(start=tick - 10)
    warmer = CacheWarmer(cache, clock=clock)

    def homepage() -> str:
        cache.incr("warm_calls")
        return "<h1>home</h1>"

    warmer.register_warming_task("page:home", homepage, 600, schedule="0 * * * *")
    clock.advance(11)
    ran = asyncio.run(warmer.run_pending())
    cache.close()
    return list(ran)


def record_and_push(url: str, hits: int, misses: int) -> None:
    """Record some traffic and push it to the shared counters."""
    cache = RedisCache(url)
    stats = CacheStatistics()
    for _ in range(hits):
        stats.record_hit(0.001)
    for _ in range(misses):
        stats.record_miss(0.01)
    stats.push(cache, group="web")
    stats.push(cache, group="web")  # a second push adds nothing new
    cache.close()


def call_cached(url: str, start_at: float, pid: int) -> str:
    """Wait for the common start, then call a plain ``@cached`` function that misses."""
    cache = RedisCache(url)

    @cached(timeout=60, cache=cache, prefix="report")
    def report(day: int) -> str:
        cache.incr("decorated_calls")
        time.sleep(0.3)
        return f"day {day} from {pid}"

    time.sleep(max(0.0, start_at - time.time()))
    try:
        return report(1)
    finally:
        cache.close()


def acall_cached(url: str, start_at: float, pid: int) -> str:
    """:func:`call_cached` with an ``async def`` function."""

    async def main() -> str:
        cache = RedisCache(url)

        @cached(timeout=60, cache=cache, prefix="areport")
        async def report(day: int) -> str:
            await cache.aincr("decorated_calls")
            await asyncio.sleep(0.3)
            return f"day {day} from {pid}"

        await asyncio.sleep(max(0.0, start_at - time.time()))
        try:
            return await report(1)
        finally:
            await cache.aclose()

    return asyncio.run(main())
