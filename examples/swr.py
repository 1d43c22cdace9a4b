"""Stale-while-revalidate: stale served at once, one refresh in the background."""

import time

from cache.advanced import StaleWhileRevalidateCache
from cache.backend import InMemoryCache
from cache.testing import FakeClock

clock = FakeClock(start=time.time())  # a clock we can move, to show the windows quickly
swr_cache = StaleWhileRevalidateCache(InMemoryCache(), clock=clock)
calls = []


def fetch_latest_data() -> str:
    calls.append(1)
    time.sleep(0.1)  # an expensive query
    return f"data v{len(calls)}"


def read(label: str) -> None:
    started = time.perf_counter()
    value, is_stale = swr_cache.get_with_swr(
        "data:latest", fetch_latest_data, timeout=60, stale_timeout=30
    )
    ms = (time.perf_counter() - started) * 1000
    print(f"  {label:28} {value!r:12} stale={is_stale!s:5} served in {ms:5.1f} ms")


read("first read (miss)")
read("second read (fresh)")
clock.advance(70)
read("70 s later (stale window)")
swr_cache.wait()
read("after the background refresh")
clock.advance(100)
read("100 s later (past both)")
swr_cache.close()
