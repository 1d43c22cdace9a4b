"""What the processes of the multi-process near cache test run (spawned, not forked)."""

from __future__ import annotations

import time

from cache.advanced import CachePolicy, ContentTypeCacheManager
from cache.backend import NearCache, from_url

#: The keys a reader reads and the writer writes: plain keys, a prefix, tagged content.
KEYS = [f"k:{i}" for i in range(5)]
PREFIXED = [f"p:{i}" for i in range(3)]
PAGE = "page"

#: One read: what was read, when the read began and ended (monotonic), the value (or None).
Read = tuple[str, float, float, float | None]


def manager(engine: NearCache) -> ContentTypeCacheManager:
    """The content manager both sides use: pages tagged ``pages``, ten minutes."""
    pages = ContentTypeCacheManager(engine)
    pages.register_policy("page", CachePolicy(timeout=600, tags={"pages"}))
    return pages


def read_until(url: str, start_at: float, stop_at: float) -> tuple[list[Read], dict[str, int]]:
    """Read every name in a loop from ``start_at`` to ``stop_at``; return the reads and figures."""
    engine = from_url(url)
    assert isinstance(engine, NearCache)
    engine.wait_live(10)
    pages = manager(engine)
    reads: list[Read] = []
    time.sleep(max(0.0, start_at - time.monotonic()))
    while time.monotonic() < stop_at:
        for name in (*KEYS, *PREFIXED, PAGE):
            began = time.monotonic()
            page = name == PAGE
            value = pages.get_cached_content("page", "home") if page else engine.get(name)
            reads.append((name, began, time.monotonic(), value))
        time.sleep(0.002)
    info = engine.info()
    engine.close()
    names = ("local_hits", "local_misses", "message_gaps", "subscriptions_lost")
    figures = {k: int(info[k]) for k in names}
    return reads, figures
