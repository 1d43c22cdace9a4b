"""CacheTag: invalidate every entry of a tag at once, in O(1) per tag.

Each tag has a version stored in the backend under a reserved key. A tagged
key embeds a digest of its tags' current versions, so deleting a version (the
next read creates a new one) makes every key written under the old one
unreachable: no entry is scanned or deleted. Versions are random, never
counters: a version lost to eviction comes back as a new random value, so an
invalidated entry can never match again. Unreachable entries are reclaimed by
their own timeout or by eviction.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from collections.abc import Iterable, Mapping

from cache._types import Timeout
from cache.advanced._listeners import Listener, Listeners
from cache.backend.base import CacheBackend, check_backend, one_attempt
from cache.backend.validation import MAX_KEY_LENGTH, check_key, reserved_key, resolve_timeout
from cache.errors import CacheTypeError

__all__ = ["MAX_TAG_LENGTH", "CacheTag", "check_tags"]


_COLLECTIONS = (set, frozenset, list, tuple)

#: Longest tag: its version key (``__cache__:tag:<tag>``) must fit in a key,
#: and a longer tag is reported as the tag, not as that key (issue 9).
MAX_TAG_LENGTH = MAX_KEY_LENGTH - len(reserved_key("tag", ""))


def check_tags(tags: object, name: str = "tags") -> frozenset[str]:
    """Return ``tags`` as a frozenset of valid tag names, or raise naming ``name``."""
    if isinstance(tags, _COLLECTIONS):
        # Fast path of every tagged read: plain short strings need no more checks.
        for tag in tags:
            if type(tag) is not str or not tag or len(tag) > MAX_TAG_LENGTH:
                break
        else:
            return frozenset(tags)
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise CacheTypeError(
            f"{name} must be a collection of tag names, e.g. {{'posts'}}, "
            f"got {type(tags).__name__} {tags!r:.60}"
        )
    return frozenset(check_key(tag, f"a tag of {name}", MAX_TAG_LENGTH) for tag in tags)


def _check_recorded(recorded: object) -> None:
    if not isinstance(recorded, Mapping):
        raise CacheTypeError(
            f"recorded must be a mapping of tag to version (as get_versions returns), "
            f"got {type(recorded).__name__}"
        )


@functools.lru_cache(maxsize=16_384)
def _digest(versions: frozenset[tuple[str, str]]) -> str:
    """Digest a set of (tag, version) pairs; memoized, since the same sets recur."""
    joined = "\0".join(f"{tag}={version}" for tag, version in sorted(versions))
    # 64 bits: a collision would let an invalidated entry match, so not crc32.
    return hashlib.blake2b(joined.encode(), digest_size=8).hexdigest()


def _new_version() -> str:
    return secrets.token_hex(8)


class CacheTag:
    """Tag versions kept in ``cache``; every ``CacheTag`` over one backend agrees.

    Args:
        cache: The backend holding the versions (and, usually, the entries).
        version_timeout: How long a version lives; the default, ``math.inf``,
            keeps it until the engine evicts it. A lost version only
            invalidates the tag's entries early, never revives old ones.
    """

    def __init__(self, cache: CacheBackend, *, version_timeout: Timeout = math.inf) -> None:
        self.cache = check_backend(cache)
        resolve_timeout(version_timeout, None)  # refuse a bad one now, not at the first write
        self.version_timeout = version_timeout
        self._listeners = Listeners()

    def on_invalidate(self, listener: Listener) -> None:
        """Call ``listener("tag", "a, b")`` after each invalidation applied here."""
        self._listeners.add(listener)

    def off_invalidate(self, listener: Listener) -> None:
        """Stop calling a listener given to :meth:`on_invalidate`."""
        self._listeners.remove(listener)

    @staticmethod
    @functools.lru_cache(maxsize=65_536)
    def version_key(tag: str) -> str:
        """Return the reserved key holding ``tag``'s version."""
        return reserved_key("tag", tag)

    def get_versions(self, tags: Iterable[str]) -> dict[str, str]:
        """Return the current version of each tag, creating missing ones (one batched read).

        One attempt (:func:`~cache.backend.base.one_attempt`): a server that
        failed the read is not waited for again to create a version.
        """
        with one_attempt():
            return self._get_versions(tags)

    def _get_versions(self, tags: Iterable[str]) -> dict[str, str]:
        names = check_tags(tags)
        keys = {self.version_key(tag): tag for tag in names}
        found = self.cache.get_many(keys)
        versions = {keys[k]: v for k, v in found.items()}
        if len(versions) == len(keys):
            return versions
        for key, tag in keys.items():
            if tag not in versions:
                fresh = _new_version()
                if self.cache.add(key, fresh, self.version_timeout):
                    versions[tag] = fresh
                else:  # another writer created it first: use theirs
                    versions[tag] = self.cache.get(key) or fresh
        return versions

    async def aget_versions(self, tags: Iterable[str]) -> dict[str, str]:
        """Async :meth:`get_versions`."""
        with one_attempt():
            return await self._aget_versions(tags)

    async def _aget_versions(self, tags: Iterable[str]) -> dict[str, str]:
        names = check_tags(tags)
        keys = {self.version_key(tag): tag for tag in names}
        found = await self.cache.aget_many(keys)
        versions = {keys[k]: v for k, v in found.items()}
        for key, tag in keys.items():
            if tag not in versions:
                fresh = _new_version()
                if await self.cache.aadd(key, fresh, self.version_timeout):
                    versions[tag] = fresh
                else:
                    versions[tag] = await self.cache.aget(key) or fresh
        return versions

    @staticmethod
    def _tagged(key: str, versions: Mapping[str, str]) -> str:
        if not versions:
            return key
        return f"{key}:tags={_digest(frozenset(versions.items()))}"

    def tag_cache_key(self, key: str, tags: Iterable[str]) -> str:
        """Return ``key`` versioned by the current versions of ``tags`` (order irrelevant)."""
        key = check_key(key)
        return self._tagged(key, self.get_versions(tags))

    async def atag_cache_key(self, key: str, tags: Iterable[str]) -> str:
        """Async :meth:`tag_cache_key`."""
        key = check_key(key)
        return self._tagged(key, await self.aget_versions(tags))

    def versions_match(self, recorded: Mapping[str, str]) -> bool:
        """Return True if every tag still has the version recorded with an entry."""
        _check_recorded(recorded)
        if not recorded:
            return True
        keys = {self.version_key(tag): version for tag, version in recorded.items()}
        current = self.cache.get_many(keys)
        return all(current.get(k) == v for k, v in keys.items())

    async def aversions_match(self, recorded: Mapping[str, str]) -> bool:
        """Async :meth:`versions_match`."""
        _check_recorded(recorded)
        if not recorded:
            return True
        keys = {self.version_key(tag): version for tag, version in recorded.items()}
        current = await self.cache.aget_many(keys)
        return all(current.get(k) == v for k, v in keys.items())

    def refs(self, recorded: Mapping[str, str]) -> list[str]:
        """Return the version keys of ``recorded`` tags, to store as an entry's refs."""
        return [self.version_key(tag) for tag in recorded]

    def matches(self, recorded: Mapping[str, str], refs: Mapping[str, object]) -> bool:
        """Return True if ``refs`` (as read by ``get_entry``) still hold the recorded versions."""
        return all(refs.get(self.version_key(tag)) == v for tag, v in recorded.items())

    def invalidate_tag(self, tag: str) -> None:
        """Invalidate every entry tagged ``tag`` (one write, whatever their number)."""
        self.invalidate_tags([check_key(tag, "tag", MAX_TAG_LENGTH)])

    def invalidate_tags(self, tags: Iterable[str]) -> None:
        """Invalidate every entry carrying any of ``tags`` (one batched removal).

        The versions are deleted, not overwritten: a removal is never lost
        quietly. If the backend cannot confirm it (Redis down, hung, circuit
        open) it raises ``BackendUnavailableError`` and the tags' entries stay
        valid until a retried call succeeds (issue 1). The next read creates
        a new random version, which no stored entry carries.
        """
        names = check_tags(tags)
        self.cache.delete_many([self.version_key(tag) for tag in names])
        self._listeners.notify("tag", ", ".join(names))

    async def ainvalidate_tag(self, tag: str) -> None:
        """Async :meth:`invalidate_tag`."""
        await self.ainvalidate_tags([check_key(tag, "tag", MAX_TAG_LENGTH)])

    async def ainvalidate_tags(self, tags: Iterable[str]) -> None:
        """Async :meth:`invalidate_tags`."""
        names = check_tags(tags)
        await self.cache.adelete_many([self.version_key(tag) for tag in names])
        self._listeners.notify("tag", ", ".join(names))
