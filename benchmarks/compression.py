"""Bytes saved and time spent by compression, on a realistic HTML page and JSON document.

    python -m benchmarks.compression

The page is the demo's home page markup repeated to 40 kB; the document is
an API listing of 200 posts. Each is encoded and decoded by JSON alone, and
by ``Compressed`` (zlib level 6, zstandard level 3) around it: the table
gives the stored size, and the best of 7 runs of the time per operation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cache.backend import Compressed, JSONSerializer, Serializer

PAGE = "".join(
    f'<li class="post"><a href="/posts/{i}">Notes on caching, part {i}</a> by '
    f'<a href="/authors/{i % 7}">Author {i % 7}</a> <span class=meta>{i * 7 % 60} min</span></li>\n'
    for i in range(400)
)
DOCUMENT = {
    "posts": [
        {
            "id": i,
            "title": f"Notes on caching, part {i}",
            "author": {"id": i % 7, "name": f"Author {i % 7}"},
            "tags": ["python", "cache", "http"][: 1 + i % 3],
            "published": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:00Z",
            "summary": "A look at what a cache keeps, for how long, and who decides. " * 2,
        }
        for i in range(200)
    ]
}


def _best(fn: Callable[[], Any], repeat: int = 7, number: int = 200) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - started) / number)
    return best * 1e6


def report() -> str:
    """Return the table: stored bytes, encode and decode microseconds, per codec and payload."""
    codecs: dict[str, Serializer] = {
        "JSON": JSONSerializer(),
        "JSON + zlib 6": Compressed(threshold=1024),
        "JSON + zstd 3": Compressed(threshold=1024, algorithm="zstd"),
    }
    lines = [
        "### Compression: stored size and time per operation (best of 7 x 200)",
        "",
        "| payload | codec | bytes | vs JSON | encode us | decode us |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, value in (("HTML page", {"html": PAGE}), ("JSON listing", DOCUMENT)):
        plain = len(codecs["JSON"].dumps(value))
        for label, codec in codecs.items():
            data = codec.dumps(value)
            encode = _best(lambda codec=codec, value=value: codec.dumps(value))
            decode = _best(lambda codec=codec, data=data: codec.loads(data))
            lines.append(
                f"| {name} | {label} | {len(data):,} | {len(data) / plain:.2f}x "
                f"| {encode:,.0f} | {decode:,.0f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
