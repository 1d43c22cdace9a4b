"""The overhead of a memoizing decorator on a hit: ``@cached`` against its peers, in one run.

    python -m benchmarks.decorator [--quick]

Each decorated function takes one int and returns a small dict; every call
is a hit on one of 1,000 keys stored beforehand. Overhead is the time per
call minus the time of calling the undecorated function, so it is what the
decorator adds. Sync decorators are compared with cachetools' ``@cached``
(over a ``TTLCache``, its usual set-up with expiry); async ones with
cashews' ``@cache`` (``mem://``) and aiocache's ``@cached``
(``SimpleMemoryCache``), all in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

KEYS = list(range(1_000))


def _value(n: int) -> dict[str, int]:
    return {"n": n}


def _time_sync(fn: Callable[[int], Any], rounds: int, repeat: int) -> float:
    keys = KEYS * rounds
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for k in keys:
            fn(k)
        best = min(best, time.perf_counter() - start)
    return best / len(keys) * 1e9


async def _time_async(fn: Callable[[int], Awaitable[Any]], rounds: int, repeat: int) -> float:
    keys = KEYS * rounds
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for k in keys:
            await fn(k)
        best = min(best, time.perf_counter() - start)
    return best / len(keys) * 1e9


def sync_contenders() -> dict[str, Callable[[int], Any]]:
    import cachetools

    from cache import cached
    from cache.backend import InMemoryCache

    @cached(timeout=600, cache=InMemoryCache(max_entries=10_000))
    def ours(n: int) -> dict[str, int]:
        return _value(n)

    @cachetools.cached(cachetools.TTLCache(maxsize=10_000, ttl=600))
    def peer(n: int) -> dict[str, int]:
        return _value(n)

    return {"cache @cached": ours, "cachetools @cached (TTLCache)": peer}


def async_contenders() -> dict[str, Callable[[int], Awaitable[Any]]]:
    import aiocache
    from cashews import cache as cashews_cache

    from cache import cached
    from cache.backend import InMemoryCache

    cashews_cache.setup("mem://?size=10000")

    @cached(timeout=600, cache=InMemoryCache(max_entries=10_000))
    async def ours(n: int) -> dict[str, int]:
        return _value(n)

    @cashews_cache(ttl="10m")
    async def cashews(n: int) -> dict[str, int]:
        return _value(n)

    @aiocache.cached(ttl=600)
    async def aio(n: int) -> dict[str, int]:
        return _value(n)

    return {
        "cache @cached (async)": ours,
        "cashews @cache (mem://)": cashews,
        "aiocache @cached (memory)": aio,
    }


async def _run_async(rounds: int, repeat: int) -> dict[str, float]:
    async def bare(n: int) -> dict[str, int]:
        return _value(n)

    base = await _time_async(bare, rounds, repeat)
    out = {}
    for name, fn in async_contenders().items():
        for k in KEYS:
            await fn(k)  # fill: every timed call is a hit
        out[name] = await _time_async(fn, rounds, repeat) - base
    return out


def run(quick: bool = False) -> dict[str, float]:
    """Return ns of overhead per hit for each decorator."""
    rounds, repeat = (5, 3) if quick else (50, 5)
    base = _time_sync(_value, rounds, repeat)
    out = {}
    for name, fn in sync_contenders().items():
        for k in KEYS:
            fn(k)
        out[name] = _time_sync(fn, rounds, repeat) - base
    out.update(asyncio.run(_run_async(rounds, repeat)))
    return out


def report(results: dict[str, float]) -> str:
    """Return a table: overhead per hit and its ratio to ours (sync or async)."""
    lines = [
        "| decorator | overhead per hit (ns) | vs cache @cached (sync or async) |",
        "|---|---|---|",
    ]
    for name, ns in results.items():
        is_async = "async" in name or name.startswith(("aiocache", "cashews"))
        ours = results["cache @cached (async)" if is_async else "cache @cached"]
        lines.append(f"| {name} | {ns:,.0f} | {ns / ours:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: check the harness")
    args = parser.parse_args()
    print(report(run(args.quick)))


if __name__ == "__main__":
    main()
