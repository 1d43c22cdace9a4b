"""The guard of a stale-while-revalidate key: what its ``invalidate`` changes (issue 11).

Every entry records the guard's version with its tags' versions (None, the
guard being absent, until the first invalidation). ``invalidate`` sets a new
version before removing the entry, so an entry whose generation began before
the invalidation never matches again, whenever it is stored. The guard lives
past any such entry; a digest keeps its key short whatever the entry's key.
"""

from __future__ import annotations

import hashlib

from cache.advanced.tags import CacheTag

__all__ = ["guard_key", "guard_tag"]


def guard_tag(key: str) -> str:
    """Return the tag (in ``CacheTag``'s terms) guarding the entry ``key``."""
    return "#" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def guard_key(key: str) -> str:
    """Return the key holding the guard's version (the version key of :func:`guard_tag`)."""
    return CacheTag.version_key(guard_tag(key))
