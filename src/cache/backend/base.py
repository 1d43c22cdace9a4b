"""The backend protocol: the one contract every storage engine implements.

Features in ``cache.advanced`` talk to storage only through these methods, so
every feature works unchanged on every engine. Engines implement the abstract
primitives; everything else here is derived from them once.

Timeouts are seconds (int or float) or a ``datetime.timedelta``. ``None`` means
the engine's ``default_timeout``; ``0`` or a negative number means "do not
store" (and removes what was stored), as in Django.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cache._types import MISSING, Missing, Timeout
from cache.backend._claim import (
    LOST_LEASES,
    Attempt,
    Claim,
    LostLeases,
    check_claim,
    check_lease,
    current_attempt,
    one_attempt,
)
from cache.backend.validation import (
    check_delta,
    check_key,
    check_keys,
    check_mapping,
)
from cache.errors import CacheTypeError

__all__ = [
    "LOST_LEASES",
    "Attempt",
    "CacheBackend",
    "Claim",
    "Entry",
    "LostLeases",
    "check_backend",
    "check_claim",
    "check_lease",
    "current_attempt",
    "one_attempt",
]


@dataclass(frozen=True)
class Entry:
    """What :meth:`CacheBackend.get_entry` read: the value, its refs' values, the claim."""

    value: Any
    refs: dict[str, Any] = field(default_factory=dict)
    claimed: bool = False
    #: The refs that held nothing, if the engine says (Redis does); with ``refs``: every ref.
    absent: tuple[str, ...] = ()


class CacheBackend(abc.ABC):
    """Abstract storage engine: key-value primitives plus an ordered key index.

    Every sync method has an async twin with an ``a`` prefix (``get``/``aget``).
    The twins defined here call the sync method directly, which is right for
    engines that never block (in memory); network engines override them.
    """

    # -- key-value primitives -------------------------------------------------

    @abc.abstractmethod
    def get(self, key: str, default: Any = None) -> Any:
        """Return the value stored under ``key``, or ``default`` on a miss.

        Pass ``default=MISSING`` to tell a cached ``None`` from a miss.
        """

    @abc.abstractmethod
    def set(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Store ``value`` under ``key``, replacing any value there.

        A timeout of ``0`` or less stores nothing and removes the old value.
        """

    @abc.abstractmethod
    def add(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Store ``value`` only if ``key`` holds nothing; return True if it did.

        Atomic: of several concurrent ``add`` calls on one key exactly one
        returns True, which makes ``add`` the lock and claim primitive.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``; return True if a live value was removed."""

    @abc.abstractmethod
    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Remove ``key`` only if it holds ``expected``; return True if removed.

        Atomic: the release half of a lock taken with ``add`` and a token, so
        that only the owner's token releases it.
        """

    @abc.abstractmethod
    def lease(self, key: str, token: str, timeout: float) -> bool:
        """Hold the lock ``key`` for ``token`` ``timeout`` seconds more; return True if held.

        Takes the lock if it is free, extends it if ``token`` holds it, and
        leaves another holder's lock alone. Atomic. A network engine refuses
        a request that reaches the server after its caller gave up (past the
        socket timeout): no lock is taken for a caller told it failed (issue 4).
        Released with :meth:`delete_if_equals` and the token.
        """

    @abc.abstractmethod
    def touch(self, key: str, timeout: Timeout = None) -> bool:
        """Give a live ``key`` a new timeout; return True if the key exists."""

    @abc.abstractmethod
    def ttl(self, key: str) -> float | Missing | None:
        """Return the seconds ``key`` has left, None if it never expires, MISSING if absent."""

    @abc.abstractmethod
    def incr(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` to the integer under ``key`` atomically; return the result.

        A missing key starts from 0 and is stored with the default timeout; a
        non-integer value raises ``CacheTypeError`` and is left as it was.
        """

    @abc.abstractmethod
    def set_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Store ``value`` together with the keys it depends on (``refs``).

        :meth:`get` returns the value alone; :meth:`get_entry` also returns
        the current values of the refs, in the same round trip where the
        engine can.
        """

    @abc.abstractmethod
    def get_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Read ``key``, the current values of its refs, and try ``claim``, in one step.

        ``Entry.value`` is ``MISSING`` on a miss; ``Entry.refs`` maps each
        ref that holds a value to that value.
        """

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove every entry and every index."""

    @abc.abstractmethod
    def cleanup_expired(self) -> int:
        """Remove expired entries now; return how many were removed."""

    # -- ordered key index ----------------------------------------------------
    # Named sets of members (keys), each with a score (e.g. time registered),
    # ordered by member for prefix ranges and by score for age-based cleanup.

    @abc.abstractmethod
    def index_add(self, index: str, members: Mapping[str, float]) -> int:
        """Add members with their scores (updating existing scores); return how many are new."""

    @abc.abstractmethod
    def index_remove(self, index: str, members: Iterable[str]) -> int:
        """Remove members; return how many were present."""

    @abc.abstractmethod
    def index_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """Return members starting with ``prefix`` in lexical order, at most ``limit``."""

    @abc.abstractmethod
    def index_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """Return up to ``count`` members greater than ``after``, in lexical order.

        Iterate a whole index by passing the last member returned as ``after``.
        """

    @abc.abstractmethod
    def index_remove_below(self, index: str, cutoff: float) -> int:
        """Remove members scored below ``cutoff``; return how many were removed."""

    @abc.abstractmethod
    def index_trim(self, index: str, max_size: int) -> int:
        """Remove the lowest-scored members beyond ``max_size``; return how many."""

    @abc.abstractmethod
    def index_len(self, index: str) -> int:
        """Return the number of members in ``index``."""

    @abc.abstractmethod
    def index_score(self, index: str, member: str) -> float | None:
        """Return the score of ``member``, or None if absent."""

    # -- derived conveniences -------------------------------------------------

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return a dict of the keys that are cached, with their values."""
        found: dict[str, Any] = {}
        for key in check_keys(keys):
            value = self.get(key, MISSING)
            if value is not MISSING:
                found[key] = value
        return found

    def set_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Store every item of ``mapping`` with one timeout."""
        mapping = check_mapping(mapping)  # reject the batch before storing any of it
        for key, value in mapping.items():
            self.set(key, value, timeout)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove ``keys``; return how many live values were removed."""
        return sum(self.delete(k) for k in check_keys(keys))

    def has_key(self, key: str) -> bool:
        """Return True if ``key`` holds a live value."""
        return self.get(key, MISSING) is not MISSING

    def __contains__(self, key: object) -> bool:
        return self.get(check_key(key), MISSING) is not MISSING

    def decr(self, key: str, delta: int = 1) -> int:
        """Subtract ``delta`` atomically; see :meth:`incr`."""
        return self.incr(key, -check_delta(delta))

    def get_or_set(
        self, key: str, default: Callable[[], Any] | Any, timeout: Timeout = None
    ) -> Any:
        """Return the cached value, or store ``default`` (called if callable) and return it.

        Concurrent callers all return the value that won the ``add``.
        """
        value = self.get(key, MISSING)
        if value is not MISSING:
            return value
        value = default() if callable(default) else default
        self.add(key, value, timeout)
        stored = self.get(key, MISSING)
        return value if stored is MISSING else stored

    def index_iter(self, index: str, count: int = 1000) -> Iterator[str]:
        """Yield every member of ``index`` in lexical order, a page at a time."""
        after = ""
        while True:
            page = self.index_scan(index, after, count)
            yield from page
            if len(page) < count:
                return
            after = page[-1]

    def info(self) -> dict[str, Any]:
        """Return what the engine knows of itself (entries, memory, evictions...), for operators."""
        return {"engine": type(self).__name__}

    def close(self) -> None:  # noqa: B027 - a no-op default engines may override
        """Release resources (threads, connections); the engine is unusable after."""

    # -- async twins ----------------------------------------------------------

    async def aget(self, key: str, default: Any = None) -> Any:
        """Async :meth:`get`."""
        return self.get(key, default)

    async def aset(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Async :meth:`set`."""
        self.set(key, value, timeout)

    async def aadd(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Async :meth:`add`."""
        return self.add(key, value, timeout)

    async def adelete(self, key: str) -> bool:
        """Async :meth:`delete`."""
        return self.delete(key)

    async def adelete_if_equals(self, key: str, expected: Any) -> bool:
        """Async :meth:`delete_if_equals`."""
        return self.delete_if_equals(key, expected)

    async def alease(self, key: str, token: str, timeout: float) -> bool:
        """Async :meth:`lease`."""
        return self.lease(key, token, timeout)

    async def aset_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Async :meth:`set_entry`."""
        self.set_entry(key, value, timeout, refs)

    async def aget_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Async :meth:`get_entry`."""
        return self.get_entry(key, claim)

    async def atouch(self, key: str, timeout: Timeout = None) -> bool:
        """Async :meth:`touch`."""
        return self.touch(key, timeout)

    async def aincr(self, key: str, delta: int = 1) -> int:
        """Async :meth:`incr`."""
        return self.incr(key, delta)

    async def adecr(self, key: str, delta: int = 1) -> int:
        """Async :meth:`decr`."""
        return await self.aincr(key, -check_delta(delta))

    async def attl(self, key: str) -> float | Missing | None:
        """Async :meth:`ttl`."""
        return self.ttl(key)

    async def aclear(self) -> None:
        """Async :meth:`clear`."""
        self.clear()

    async def acleanup_expired(self) -> int:
        """Async :meth:`cleanup_expired`."""
        return self.cleanup_expired()

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Async :meth:`get_many`."""
        return self.get_many(keys)

    async def aset_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Async :meth:`set_many`."""
        self.set_many(mapping, timeout)

    async def adelete_many(self, keys: Iterable[str]) -> int:
        """Async :meth:`delete_many`."""
        return self.delete_many(keys)

    async def ahas_key(self, key: str) -> bool:
        """Async :meth:`has_key`."""
        return await self.aget(key, MISSING) is not MISSING

    async def aget_or_set(
        self, key: str, default: Callable[[], Any] | Any, timeout: Timeout = None
    ) -> Any:
        """Async :meth:`get_or_set`; a callable ``default`` may be async (it is awaited)."""
        value = await self.aget(key, MISSING)
        if value is not MISSING:
            return value
        value = default() if callable(default) else default
        if inspect.isawaitable(value):
            value = await value
        await self.aadd(key, value, timeout)
        stored = await self.aget(key, MISSING)
        return value if stored is MISSING else stored

    async def aindex_add(self, index: str, members: Mapping[str, float]) -> int:
        """Async :meth:`index_add`."""
        return self.index_add(index, members)

    async def aindex_remove(self, index: str, members: Iterable[str]) -> int:
        """Async :meth:`index_remove`."""
        return self.index_remove(index, members)

    async def aindex_prefix(self, index: str, prefix: str, limit: int | None = None) -> list[str]:
        """Async :meth:`index_prefix`."""
        return self.index_prefix(index, prefix, limit)

    async def aindex_scan(self, index: str, after: str = "", count: int = 1000) -> list[str]:
        """Async :meth:`index_scan`."""
        return self.index_scan(index, after, count)

    async def aindex_remove_below(self, index: str, cutoff: float) -> int:
        """Async :meth:`index_remove_below`."""
        return self.index_remove_below(index, cutoff)

    async def aindex_trim(self, index: str, max_size: int) -> int:
        """Async :meth:`index_trim`."""
        return self.index_trim(index, max_size)

    async def aindex_len(self, index: str) -> int:
        """Async :meth:`index_len`."""
        return self.index_len(index)

    async def aindex_score(self, index: str, member: str) -> float | None:
        """Async :meth:`index_score`."""
        return self.index_score(index, member)

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        self.close()


def check_backend(cache: object, name: str = "cache") -> CacheBackend:
    """Return ``cache`` if it is a :class:`CacheBackend`, else raise naming ``name``."""
    if not isinstance(cache, CacheBackend):
        raise CacheTypeError(
            f"{name} must be a CacheBackend such as InMemoryCache() or "
            f"RedisCache(url), got {type(cache).__name__} {cache!r:.60}"
        )
    return cache
