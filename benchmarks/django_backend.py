"""cache.django.CacheBackend against django-redis and Django's own Redis backend, one server.

    python -m benchmarks.django_backend [--quick]

The three are Django ``CACHES`` entries over the same loopback redis-server
(a fresh one, started here); each runs ``set`` and ``get`` of a 20-item dict
(the same keys, values and timeouts), best of 5 runs, interleaved so that
the machine's noise falls on all three. The in-memory backend is timed
against Django's local-memory backend the same way.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import django
from django.conf import settings

from cache.testing.redis_server import RedisServer

VALUE = {f"field{i}": f"value {i}" for i in range(20)}


def _configure(url: str) -> None:
    settings.configure(
        SECRET_KEY="benchmark-only-secret-key-0123456789",
        CACHES={
            "ours": {"BACKEND": "cache.django.CacheBackend", "LOCATION": f"{url}?namespace=b"},
            "django-redis": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url},
            "django": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
            "ours-memory": {"BACKEND": "cache.django.CacheBackend", "LOCATION": "memory://"},
            "django-locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        },
    )
    django.setup()


def _best(cache: Any, op: str, n: int) -> float:
    keys = [f"k{i % 100}" for i in range(n)]
    if op == "get":
        for key in set(keys):
            cache.set(key, VALUE, 300)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        if op == "set":
            for key in keys:
                cache.set(key, VALUE, 300)
        else:
            for key in keys:
                cache.get(key)
        best = min(best, (time.perf_counter() - started) / n)
    return best * 1e6


def report(quick: bool) -> str:
    """Run on a fresh loopback server; return the markdown table (µs per op and ratios)."""
    n = 500 if quick else 5_000
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            _configure(server.url)
            from django.core.cache import caches

            figures = {
                (name, op): _best(caches[name], op, n)
                for op in ("set", "get")
                for name in ("ours", "django-redis", "django", "ours-memory", "django-locmem")
            }
        finally:
            server.stop()
    lines = [
        "### Django CACHES backends, µs per op (best of 5; same redis-server)",
        "",
        "| backend | set | get | set vs django-redis | get vs django-redis |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("ours", "django-redis", "django", "ours-memory", "django-locmem"):
        s, g = figures[name, "set"], figures[name, "get"]
        ratio = ""
        if name in ("ours", "django"):
            ratio = (
                f" {s / figures['django-redis', 'set']:.2f}x |"
                f" {g / figures['django-redis', 'get']:.2f}x |"
            )
        else:
            ratio = " | |"
        lines.append(f"| {name} | {s:,.1f} | {g:,.1f} |{ratio}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.django_backend")
    parser.add_argument("--quick", action="store_true", help="fewer operations")
    print(report(parser.parse_args().quick))
