"""The guard of a stale-while-revalidate key: what its ``invalidate`` changes (issue 11).

Every entry records the guard's version with its tags' versions. A
generation creates the guard (a random version) when it is absent, so that no
entry records "no guard": a guard lost to eviction (``maxmemory-policy
allkeys-*``) after an invalidation then makes the entries written before it
mismatch, never match again. ``invalidate`` sets a new
version before removing the entry, so an entry whose generation began before
the invalidation never matches again, whenever it is stored. The guard lives
past any such entry; a digest keeps its key short whatever the entry's key.
"""

from __future__ import annotations

import hashlib
import uuid

from cache.advanced.tags import CacheTag
from cache.backend.base import CacheBackend

__all__ = ["acurrent", "current", "guard_key", "guard_tag"]


def guard_tag(key: str) -> str:
    """Return the tag (in ``CacheTag``'s terms) guarding the entry ``key``."""
    return "#" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def guard_key(key: str) -> str:
    """Return the key holding the guard's version (the version key of :func:`guard_tag`)."""
    return CacheTag.version_key(guard_tag(key))


def current(cache: CacheBackend, key: str, lifetime: float) -> str:
    """Return the version of ``key``'s guard, created if absent, living ``lifetime`` more."""
    name = guard_key(key)
    version = cache.get(name)
    if version is not None:
        cache.touch(name, lifetime)  # it outlives the entry about to be stored
        return str(version)
    fresh = uuid.uuid4().hex
    if cache.add(name, fresh, lifetime):
        return fresh
    return str(cache.get(name) or fresh)  # another generation created it: theirs


async def acurrent(cache: CacheBackend, key: str, lifetime: float) -> str:
    """Async :func:`current`."""
    name = guard_key(key)
    version = await cache.aget(name)
    if version is not None:
        await cache.atouch(name, lifetime)
        return str(version)
    fresh = uuid.uuid4().hex
    if await cache.aadd(name, fresh, lifetime):
        return fresh
    return str(await cache.aget(name) or fresh)
