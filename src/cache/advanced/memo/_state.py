"""The switch and the default backend shared by every ``@cached`` function."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from cache.backend.base import CacheBackend
from cache.errors import CacheTypeError

__all__ = [
    "caching_disabled",
    "caching_enabled",
    "get_default_cache",
    "set_caching_enabled",
    "set_default_cache",
]


class State:
    enabled = True
    default: CacheBackend | None = None
    lock = threading.Lock()


def set_caching_enabled(enabled: bool) -> None:
    """Turn every ``@cached`` function on or off (off: each call runs the function)."""
    State.enabled = bool(enabled)


def caching_enabled() -> bool:
    """Return whether ``@cached`` functions use the cache."""
    return State.enabled


@contextlib.contextmanager
def caching_disabled() -> Iterator[None]:
    """Run the block with every ``@cached`` function calling straight through (for tests)."""
    before = State.enabled
    State.enabled = False
    try:
        yield
    finally:
        State.enabled = before


def set_default_cache(backend: CacheBackend | None) -> None:
    """Set the backend of ``@cached`` functions given no ``cache=`` (None: back to the default)."""
    if backend is not None and not isinstance(backend, CacheBackend):
        raise CacheTypeError(f"backend must be a CacheBackend, got {type(backend).__name__}")
    State.default = backend


def get_default_cache() -> CacheBackend:
    """Return the default backend: set by :func:`set_default_cache`, else from ``CACHE_URL``.

    Without either, an ``InMemoryCache`` of 10,000 entries.
    """
    backend = State.default
    if backend is None:
        with State.lock:
            if State.default is None:
                from cache.backend.config import from_url  # noqa: PLC0415 - the config is rarely needed

                State.default = from_url(os.environ.get("CACHE_URL") or "memory://")
            backend = State.default
    return backend
