"""What the features do with a computed value too large for the engine: return it, uncached."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from cache.errors import ValueTooLargeError

__all__ = ["uncached_if_too_large"]

log = logging.getLogger("cache.cached")


@contextlib.contextmanager
def uncached_if_too_large(key: str) -> Iterator[None]:
    """Let a store that is larger than the engine's whole bound pass as "not cached" (logged).

    ``@cached`` and stale-while-revalidate compute a value to return it: one
    that does not fit is still the caller's answer (``InMemoryCache(max_bytes=...)``).
    """
    try:
        yield
    except ValueTooLargeError as exc:
        log.warning("result for %r not stored: %s", key, exc)
