"""What ``@cached(...).invalidate()`` leaves behind: a mark, so that no older result lands after it.

A result computed from data read before an invalidation must not be stored
after it (issue 11). The invalidation replaces the result with a mark (a
random token under the reserved prefix) that outlives any computation under
way; a computation stores its result only over what it saw before computing:
``add`` over nothing, or over the very mark it saw, removed first with
``delete_if_equals``. One that started before the invalidation meets the new
mark and stores nothing. The state lives in the backend: it holds across
processes, costs a hit nothing but a type check, and a miss no extra read
(the fill's own read is the one seen).
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from cache._types import MISSING
from cache.advanced._oversize import uncached_if_too_large
from cache.backend.base import CacheBackend
from cache.errors import BackendUnavailableError, CacheError

__all__ = [
    "MARK",
    "MARK_END",
    "REFUSED",
    "afence",
    "ainvalidate",
    "astore_over",
    "aunfence",
    "fence",
    "invalidate",
    "is_mark",
    "store_over",
    "unfence",
]

#: How every mark starts; the rest is random, so that no two invalidations leave the same one.
MARK = "__cache__:invalidated:"
#: The least str past those starting with MARK: ``MARK <= s < MARK_END`` tests the prefix.
MARK_END = MARK[:-1] + chr(ord(MARK[-1]) + 1)


def is_mark(value: Any) -> bool:
    """Return True if ``value`` is an invalidation's mark, not a result."""
    return type(value) is str and value.startswith(MARK)


#: What :func:`fence` returns when the computation must store nothing.
REFUSED: Any = object()


def _pending() -> str:
    return MARK + secrets.token_hex(8)


def fence(backend: CacheBackend, key: str, seen: Any, mark_timeout: float) -> Any:
    """Return what a computation about to start stores over: ``seen``, or a mark of its own.

    Over nothing (``seen`` MISSING) the computation first puts a mark of its
    own, so that it stores only over a mark it saw: an invalidation replaces
    that mark, and one whose own mark was evicted (``maxmemory-policy
    allkeys-*``) leaves the key empty; either way nothing is stored. Without
    the mark, an evicted invalidation would look like "never computed" and a
    result computed from the old data would be stored. :data:`REFUSED` when
    the mark could not be put (another caller's, or the server is down).
    """
    if seen is not MISSING:
        return seen
    mark = _pending()
    return mark if backend.add(key, mark, mark_timeout) else REFUSED


async def afence(backend: CacheBackend, key: str, seen: Any, mark_timeout: float) -> Any:
    """Async :func:`fence`."""
    if seen is not MISSING:
        return seen
    mark = _pending()
    return mark if await backend.aadd(key, mark, mark_timeout) else REFUSED


def unfence(backend: CacheBackend, key: str, fenced: Any, seen: Any) -> None:
    """Take back the mark :func:`fence` put, if it put one (best effort)."""
    if fenced is not seen and fenced is not REFUSED:
        with contextlib.suppress(CacheError):
            backend.delete_if_equals(key, fenced)


async def aunfence(backend: CacheBackend, key: str, fenced: Any, seen: Any) -> None:
    """Async :func:`unfence`."""
    if fenced is not seen and fenced is not REFUSED:
        with contextlib.suppress(CacheError):
            await backend.adelete_if_equals(key, fenced)


def store_over(backend: CacheBackend, key: str, seen: Any, value: Any, timeout: float) -> bool:
    """Store ``value`` only if ``key`` still holds ``seen`` (a mark, or MISSING); True if stored."""
    if seen is REFUSED:
        return False
    try:
        if seen is not MISSING and not backend.delete_if_equals(key, seen):
            return False  # invalidated again, or stored by another caller, since it was seen
    except BackendUnavailableError:
        return False  # a result not stored costs time, never correctness: the read goes on
    with uncached_if_too_large(key):  # larger than the engine's whole bound: not cached
        return backend.add(key, value, timeout)
    return False


async def astore_over(
    backend: CacheBackend, key: str, seen: Any, value: Any, timeout: float
) -> bool:
    """Async :func:`store_over`."""
    if seen is REFUSED:
        return False
    try:
        if seen is not MISSING and not await backend.adelete_if_equals(key, seen):
            return False
    except BackendUnavailableError:
        return False
    with uncached_if_too_large(key):
        return await backend.aadd(key, value, timeout)
    return False


def invalidate(backend: CacheBackend, key: str, mark_timeout: float) -> bool:
    """Replace the result under ``key`` by a new mark; return True if a result was stored.

    The removal comes first: it raises ``BackendUnavailableError`` when it
    cannot be confirmed (issue 1). A result stored between it and the mark
    is overwritten by the mark.
    """
    stored = backend.get(key, MISSING)
    backend.delete(key)
    backend.set(key, _pending(), mark_timeout)
    return stored is not MISSING and not is_mark(stored)


async def ainvalidate(backend: CacheBackend, key: str, mark_timeout: float) -> bool:
    """Async :func:`invalidate`."""
    stored = await backend.aget(key, MISSING)
    await backend.adelete(key)
    await backend.aset(key, _pending(), mark_timeout)
    return stored is not MISSING and not is_mark(stored)
