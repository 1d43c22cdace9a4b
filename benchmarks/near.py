"""The near cache: a local hit against a Redis read, its hit ratio shared by 4 processes, delays.

    python -m benchmarks.near [--quick]

One fresh loopback redis-server, started here. Three figures, one run:

1. **Read cost**: ``NearCache.get`` of a key held locally, ``RedisCache.get``
   over loopback and ``InMemoryCache.get``, best of 5 (a 20-field dict), as
   ratios to the Redis read.
2. **Hit ratio of the local tier** on a Zipf(0.99) workload over 20,000 keys
   shared by 4 processes, each with ``local_cache=2000`` (10% of the keys),
   1% of the operations writes (each invalidates the key in the others).
3. **Invalidation delay**: from a ``set`` returning in one near cache to the
   other (its own connections) having forgotten the key, p50/p99 of 1,000.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from cache.backend import InMemoryCache, NearCache, RedisCache, from_url
from cache.testing.redis_server import RedisServer

VALUE = {f"field{i}": f"value {i}" for i in range(20)}
KEYS = 20_000
LOCAL = 2_000


def _best_get(cache: Any, n: int) -> float:
    keys = [f"k{i % 100}" for i in range(n)]
    for key in set(keys):
        cache.set(key, VALUE, 300)
    for key in set(keys):
        cache.get(key)  # the near cache keeps it now
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for key in keys:
            cache.get(key)
        best = min(best, (time.perf_counter() - started) / n)
    return best * 1e6


def read_cost(url: str, quick: bool) -> list[str]:
    n = 2_000 if quick else 20_000
    near = NearCache(RedisCache(url, namespace="cost"))
    near.wait_live()
    plain, memory = RedisCache(url, namespace="plain"), InMemoryCache()
    try:
        figures = {
            "NearCache.get (local hit)": _best_get(near, n),
            "RedisCache.get (loopback)": _best_get(plain, n // 10),
            "InMemoryCache.get": _best_get(memory, n),
        }
    finally:
        near.close()
        plain.close()
    redis_us = figures["RedisCache.get (loopback)"]
    lines = ["| read | µs | ratio to RedisCache.get |", "|---|---|---|"]
    lines += [f"| {k} | {v:.2f} | {v / redis_us:.3f}x |" for k, v in figures.items()]
    return lines


def zipf_reader(url: str, seed: int, operations: int, start_at: float) -> dict[str, int]:
    """One process of the shared Zipf workload; return its local tier's figures."""
    engine = from_url(f"{url}?namespace=zipf&local_cache={LOCAL}&local_ttl=30")
    assert isinstance(engine, NearCache)
    engine.wait_live(10)
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.99 for rank in range(KEYS)]
    keys = rng.choices(range(KEYS), weights, k=operations)
    time.sleep(max(0.0, start_at - time.monotonic()))
    for number in keys:
        key = f"z{number}"
        if rng.random() < 0.01 or engine.get(key) is None:  # a write, or a miss filled
            engine.set(key, number, 600)
    info = engine.info()
    engine.close()
    return {k: int(info[k]) for k in ("local_hits", "local_misses", "messages_received")}


def shared_zipf(url: str, quick: bool) -> list[str]:
    operations = 20_000 if quick else 100_000
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=context) as pool:
        start = time.monotonic() + 3
        results = list(pool.map(zipf_reader, [url] * 4, range(4), [operations] * 4, [start] * 4))
    lines = [
        "| process | local hits | local misses | hit ratio | messages |",
        "|---|---|---|---|---|",
    ]
    for number, figures in enumerate(results):
        hits, misses = figures["local_hits"], figures["local_misses"]
        ratio = hits / (hits + misses)
        lines.append(
            f"| {number} | {hits} | {misses} | {ratio:.3f} | {figures['messages_received']} |"
        )
    return lines


def delays(url: str, quick: bool) -> list[str]:
    a = NearCache(RedisCache(url, namespace="delay"))
    b = NearCache(RedisCache(url, namespace="delay"))
    a.wait_live(), b.wait_live()
    heard = threading.Event()
    forget = b.tier.invalidate

    def invalidate(keys: Any) -> None:
        forget(keys)
        heard.set()

    b.tier.invalidate = invalidate  # type: ignore[method-assign]
    measured = []
    try:
        for i in range(200 if quick else 1_000):
            heard.clear()
            a.set("k", i)
            returned = time.perf_counter()
            if heard.wait(5):
                measured.append((time.perf_counter() - returned) * 1000)
    finally:
        a.close()
        b.close()
    p99 = statistics.quantiles(measured, n=100)[98]
    return [
        f"{len(measured)} invalidations: after the write returned, the other process had "
        f"forgotten the key within p50 {statistics.median(measured):.3f} ms, p99 {p99:.3f} ms, "
        f"max {max(measured):.3f} ms (negative: before the writer's call returned)"
    ]


def report(quick: bool) -> str:
    """Run all three on a fresh server; return the Markdown report."""
    with tempfile.TemporaryDirectory() as workdir:
        server = RedisServer(Path(workdir))
        server.start()
        try:
            version = server.version
            parts = [f"Server: {version}. One run.", ""]
            parts += [*read_cost(server.url, quick), ""]
            parts += [*shared_zipf(server.url, quick), ""]
            parts += delays(server.url, quick)
        finally:
            server.stop()
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations")
    print(report(parser.parse_args().quick))


if __name__ == "__main__":
    main()
