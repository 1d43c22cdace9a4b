"""RedisCache against raw redis-py and django-redis, over loopback, in one run.

    python -m benchmarks.redis_engine [--quick]

Starts its own redis-server on a free loopback port (needs ``redis-server``).
- get/set latency of RedisCache against raw ``GET``/``SET`` (overhead ratio);
- a tagged read (``get_cached_content``, 2 tags) against a plain get: round
  trips and latency;
- ``invalidate_prefix`` of 1,000 keys among N registered against
  django-redis' ``delete_pattern`` (SCAN over the keyspace) on the same data.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from cache.advanced import CacheInvalidator, CachePolicy, ContentTypeCacheManager
from cache.backend import RedisCache
from cache.testing.redis_server import RedisServer


def _per_op_us(fn: Callable[[int], Any], n: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        best = min(best, time.perf_counter() - t)
    return best / n * 1e6


class _Counting(redis.Connection):
    sent = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        _Counting.sent += 1
        super().send_packed_command(command, check_health)


def latency(url: str, port: int, n: int) -> list[tuple[str, float]]:
    """Return (name, µs per op) for raw and RedisCache get/set, and tagged reads."""
    raw = redis.Redis.from_url(url)
    cache = RedisCache(url)
    keys = [f"k:{i}" for i in range(n)]
    for k in keys:
        raw.set(k, b'j"value"')
    manager = ContentTypeCacheManager(cache)
    manager.register_policy("post", CachePolicy(timeout=3600, tags={"post"}))
    for i in range(n):
        manager.cache_content("post", i, {"id": i}, extra_tags={f"author:{i % 50}"})
    rows = [
        ("raw redis-py GET", _per_op_us(lambda i: raw.get(keys[i]), n)),
        ("RedisCache.get", _per_op_us(lambda i: cache.get(keys[i]), n)),
        ("raw redis-py SET", _per_op_us(lambda i: raw.set(keys[i], b'j"v"'), n)),
        ("RedisCache.set", _per_op_us(lambda i: cache.set(keys[i], "v"), n)),
        (
            "get_cached_content (2 tags)",
            _per_op_us(lambda i: manager.get_cached_content("post", i), n),
        ),
    ]
    raw.close()
    cache.close()
    return rows


def round_trips(port: int) -> dict[str, int]:
    """Return round trips of a plain get and of a tagged read (steady state)."""
    client = redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=_Counting, port=port)
    )
    cache = RedisCache(client=client)
    manager = ContentTypeCacheManager(cache)
    manager.register_policy("post", CachePolicy(timeout=3600, tags={"post"}))
    manager.cache_content("post", "rt", "x", extra_tags={"author:1"})
    cache.set("plain", "x")
    manager.get_cached_content("post", "rt")  # script load, once

    def count(fn: Callable[[], Any]) -> int:
        before = _Counting.sent
        fn()
        return _Counting.sent - before

    out = {
        "plain get": count(lambda: cache.get("plain")),
        "get_cached_content (2 tags)": count(lambda: manager.get_cached_content("post", "rt")),
    }
    client.close()
    return out


def prefix_against_scan(url: str, n: int, matches: int = 1_000) -> tuple[float, float]:
    """Return ms of invalidate_prefix and of django-redis delete_pattern on the same data."""
    raw = redis.Redis.from_url(url)
    raw.flushdb()
    cache = RedisCache(url)
    invalidator = CacheInvalidator(cache, max_keys=n + matches)
    batch = 10_000
    for start in range(0, n, batch):
        names = [f"user:{i:08d}" for i in range(start, min(n, start + batch))]
        pipe = raw.pipeline(transaction=False)
        for name in names:
            pipe.set(name, b"j1")
        pipe.execute()
        invalidator.register_keys(names)

    def pages() -> list[str]:
        names = [f"page:{i:05d}" for i in range(matches)]
        pipe = raw.pipeline(transaction=False)
        for name in names:
            pipe.set(name, b"j1")
        pipe.execute()
        return names

    invalidator.register_keys(pages())
    t = time.perf_counter()
    assert invalidator.invalidate_prefix("page:") == matches
    ours = (time.perf_counter() - t) * 1e3

    pages()
    django_cache = _django_redis(url)
    t = time.perf_counter()
    deleted = django_cache.delete_pattern("page:*")
    theirs = (time.perf_counter() - t) * 1e3
    assert deleted == matches, deleted
    raw.flushdb()
    raw.close()
    cache.close()
    return ours, theirs


def _django_redis(url: str) -> Any:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            CACHES={
                "default": {
                    "BACKEND": "django_redis.cache.RedisCache",
                    "LOCATION": url,
                    "KEY_FUNCTION": lambda key, prefix, version: key,  # keys as stored above
                }
            }
        )
        django.setup()
    from django.core.cache import caches

    return caches["default"]


def report(quick: bool) -> str:
    """Run the Redis benchmarks on a fresh loopback server; return markdown."""
    n_ops = 2_000 if quick else 20_000
    n_keys = 20_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            rows = latency(server.url, server.port, n_ops)
            trips = round_trips(server.port)
            ours, theirs = prefix_against_scan(server.url, n_keys)
        finally:
            server.stop()
    base = dict(rows)
    lines = ["### RedisCache over loopback (one redis-server, same machine)\n"]
    lines.append("| operation | µs per op | ratio |\n|---|---|---|")
    ratio = {
        "RedisCache.get": base["RedisCache.get"] / base["raw redis-py GET"],
        "RedisCache.set": base["RedisCache.set"] / base["raw redis-py SET"],
        "get_cached_content (2 tags)": base["get_cached_content (2 tags)"]
        / base["raw redis-py GET"],
    }
    for name, us in rows:
        lines.append(
            f"| {name} | {us:.1f} | {ratio[name]:.2f}x raw |"
            if name in ratio
            else f"| {name} | {us:.1f} | 1.00x |"
        )
    lines.append("\n| read | round trips |\n|---|---|")
    lines += [f"| {name} | {count} |" for name, count in trips.items()]
    lines.append(
        f"\ninvalidate 1,000 keys among {n_keys:,}: `invalidate_prefix` {ours:.1f} ms, "
        f"django-redis `delete_pattern` (SCAN) {theirs:.1f} ms ({theirs / ours:.0f}x slower)"
    )
    return "\n".join(lines)


def main() -> None:
    """Print the report."""
    parser = argparse.ArgumentParser(description="RedisCache benchmarks")
    parser.add_argument("--quick", action="store_true")
    print(report(parser.parse_args().quick))


if __name__ == "__main__":
    main()
