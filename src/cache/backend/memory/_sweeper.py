"""The optional background thread that drops InMemoryCache's expired entries."""

from __future__ import annotations

import threading
import weakref
from typing import Protocol

from cache.errors import CacheValueError

__all__ = ["start_sweeper"]


class _Sweepable(Protocol):
    def cleanup_expired(self) -> int: ...


def start_sweeper(cache: _Sweepable, interval: float) -> threading.Event:
    """Call ``cache.cleanup_expired()`` every ``interval`` seconds until the event is set."""
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
        raise CacheValueError(
            f"sweep_interval must be a positive number of seconds, got {interval!r}"
        )
    stop = threading.Event()
    ref = weakref.ref(cache)  # the thread must not keep an abandoned cache alive

    def sweep() -> None:
        while not stop.wait(interval):
            alive = ref()
            if alive is None:
                return
            alive.cleanup_expired()
            del alive

    threading.Thread(target=sweep, name="cache-sweeper", daemon=True).start()
    return stop
