"""Costs of the cache.advanced features on the in-memory engine.

    python -m benchmarks.features [--quick]

- ``invalidate_tag`` with 1 and with N tagged entries (the ratio should be ~1);
- ``invalidate_prefix`` of 1,000 keys among N registered;
- a tagged read and a policy read against a plain read;
- stale-while-revalidate: read latency while a 100 ms refresh runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from cache.advanced import (
    CacheInvalidator,
    CachePolicy,
    CacheTag,
    ContentTypeCacheManager,
    StaleWhileRevalidateCache,
)
from cache.backend import InMemoryCache
from cache.testing import FakeClock


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _bump_and_time(tags: CacheTag, tag: str, repeat: int) -> float:
    return _best(lambda: tags.invalidate_tag(tag), repeat) * 1e6


def tag_invalidation(n: int) -> tuple[float, float]:
    """Return µs of invalidate_tag with 1 and with ``n`` tagged entries."""
    cache = InMemoryCache(max_entries=n + 1_000)
    tags = CacheTag(cache)
    cache.set(tags.tag_cache_key("one", {"small"}), 1, timeout=3600)
    for i in range(n):
        cache.set(tags.tag_cache_key(f"entry:{i}", {"big"}), i, timeout=3600)
    return _bump_and_time(tags, "small", 200), _bump_and_time(tags, "big", 200)


def prefix_invalidation(n: int, matches: int = 1_000) -> float:
    """Return ms to invalidate ``matches`` keys by prefix among ``n`` registered."""
    cache = InMemoryCache(max_entries=matches + 10)
    invalidator = CacheInvalidator(cache, max_keys=n + matches)
    batch = 10_000
    for start in range(0, n, batch):
        invalidator.register_keys(f"user:{i:08d}" for i in range(start, min(n, start + batch)))
    keys = [f"page:{i:05d}" for i in range(matches)]
    invalidator.register_keys(keys)
    cache.set_many(dict.fromkeys(keys, "html"))
    t = time.perf_counter()
    count = invalidator.invalidate_prefix("page:")
    elapsed = time.perf_counter() - t
    assert count == matches
    return elapsed * 1e3


def tagged_read(repeat: int, n: int = 10_000) -> dict[str, float]:
    """Return ns per read: plain get, tagged get (2 tags), policy get_cached_content."""
    cache = InMemoryCache(max_entries=3 * n + 100)
    tags = CacheTag(cache)
    manager = ContentTypeCacheManager(cache, tag_manager=tags)
    manager.register_policy("post", CachePolicy(timeout=3600, tags={"post"}))
    keys = [f"post:{i}" for i in range(n)]
    for i, key in enumerate(keys):
        cache.set(key, i)
        cache.set(tags.tag_cache_key(key, {"posts", f"user:{i % 100}"}), i)
        manager.cache_content("post", i, i, extra_tags={f"user:{i % 100}"})

    def plain() -> None:
        for key in keys:
            cache.get(key)

    def tagged() -> None:
        for i, key in enumerate(keys):
            cache.get(tags.tag_cache_key(key, {"posts", f"user:{i % 100}"}))

    def policy() -> None:
        for i in range(n):
            manager.get_cached_content("post", i)

    return {
        "plain get": _best(plain, repeat) / n * 1e9,
        "tagged get (2 tags)": _best(tagged, repeat) / n * 1e9,
        "policy get_cached_content (2 tags)": _best(policy, repeat) / n * 1e9,
    }


def stale_latency(reads: int) -> dict[str, float]:
    """Return read latencies (ms) while a 100 ms generator refreshes a stale key."""
    clock = FakeClock(start=time.time())
    swr = StaleWhileRevalidateCache(InMemoryCache(), clock=clock)

    def slow() -> str:
        time.sleep(0.1)
        return "fresh"

    try:
        t = time.perf_counter()
        swr.get_with_swr("k", slow, timeout=60, stale_timeout=600)
        miss_ms = (time.perf_counter() - t) * 1e3
        clock.advance(61)
        samples = []
        stale = 0
        for _ in range(reads):
            t = time.perf_counter()
            _, is_stale = swr.get_with_swr("k", slow, timeout=60, stale_timeout=600)
            samples.append((time.perf_counter() - t) * 1e3)
            stale += is_stale
        swr.wait()
    finally:
        swr.close()
    samples.sort()
    return {
        "miss (generator runs in the caller)": miss_ms,
        "stale read, median": statistics.median(samples),
        "stale read, p99": samples[int(len(samples) * 0.99) - 1],
        "stale reads served": float(stale),
    }


def report(quick: bool) -> str:
    """Run every feature benchmark and return a markdown report."""
    n = 20_000 if quick else 1_000_000
    lines = ["### cache.advanced on InMemoryCache\n"]
    small, big = tag_invalidation(n)
    lines.append(
        f"invalidate_tag: {small:.1f} µs with 1 tagged entry, {big:.1f} µs with "
        f"{n:,} ({big / small:.2f}x)\n"
    )
    ms = prefix_invalidation(n)
    lines.append(f"invalidate_prefix of 1,000 keys among {n:,} registered: {ms:.1f} ms\n")
    reads = tagged_read(3 if quick else 7)
    base = reads["plain get"]
    lines.append("| read | ns | vs plain get |\n|---|---|---|")
    lines += [f"| {name} | {ns:.0f} | {ns / base:.1f}x |" for name, ns in reads.items()]
    lat = stale_latency(200 if quick else 2_000)
    lines.append("\n| stale-while-revalidate, 100 ms generator | ms |\n|---|---|")
    lines += [
        f"| {name} | {value:.4f} |" if "served" not in name else f"| {name} | {value:.0f} |"
        for name, value in lat.items()
    ]
    return "\n".join(lines)


def main() -> None:
    """Print the report."""
    parser = argparse.ArgumentParser(description="cache.advanced feature costs")
    parser.add_argument("--quick", action="store_true")
    print(report(parser.parse_args().quick))


if __name__ == "__main__":
    main()
