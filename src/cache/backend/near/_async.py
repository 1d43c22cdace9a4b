"""The async twins of :class:`~cache.backend.NearCache`: the same rules, Redis awaited.

The local tier is in memory and never blocks; the message after a write is
sent from a worker thread, in the same sequence as the sync side's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from cache._types import MISSING, Timeout
from cache.backend.base import CacheBackend, Claim, Entry
from cache.backend.near._tier import LocalTier, Stored, cacheable
from cache.backend.proxy import ProxyBackend
from cache.backend.validation import check_keys, resolve_timeout

if TYPE_CHECKING:
    from cache.backend.redis.engine import RedisCache

__all__ = ["AsyncTwins", "removes"]

T = TypeVar("T")


def removes(timeout: Timeout, default: float | None) -> bool:
    """Return True if ``timeout`` means "remove" (0 or less), as a write's timeout."""
    seconds = resolve_timeout(timeout, default)
    return seconds is not None and seconds <= 0


class AsyncTwins(ProxyBackend):
    """The ``a*`` methods of the near cache (the rules are in its sync methods)."""

    if TYPE_CHECKING:
        cache: RedisCache
        tier: LocalTier

        def _announce(self, keys: list[str] | None, removal: bool) -> None: ...
        def _local_many(self, keys: list[str]) -> tuple[dict[str, Any], list[str]]: ...
        def _fill_many(
            self, ticket: int | None, read: Mapping[str, tuple[Any, float | None]]
        ) -> dict[str, Any]: ...
        def _local_entry(self, key: str, claim: Claim | None) -> Entry | None: ...
        def _entry_records(self, key: str, entry: Entry, ttl: Any) -> dict[str, Stored] | None: ...

    async def aget(self, key: str, default: Any = None) -> Any:
        """Async :meth:`get`."""
        ticket = None
        if cacheable(key):
            record = self.tier.record(key)
            if record is not None:
                return self.tier.value(record)
            ticket = self.tier.ticket()
            read = await self.cache.aget_many_with_ttl([key])
            value = self._fill_many(ticket, read).get(key, MISSING)
        else:
            value = await self.cache.aget(key, MISSING)
        return default if value is MISSING else value

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Async :meth:`get_many`."""
        found, wanted = self._local_many(check_keys(keys))
        ticket = self.tier.ticket()
        if wanted:
            found.update(self._fill_many(ticket, await self.cache.aget_many_with_ttl(wanted)))
        return found

    async def ahas_key(self, key: str) -> bool:
        """Async :meth:`has_key`."""
        return await self.aget(key, MISSING) is not MISSING

    async def aget_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Async :meth:`get_entry`."""
        local = self._local_entry(key, claim)
        if local is not None:
            return local
        ticket = self.tier.ticket() if cacheable(key) else None
        entry = await self.cache.aget_entry(key, claim)
        if ticket is not None and entry.value is not MISSING:
            records = self._entry_records(key, entry, await self.cache.attl(key))
            if records is not None:
                self.tier.fill(ticket, records)
        return entry

    # The protocol's own, over the methods above (a callable default may be async).
    aget_or_set = CacheBackend.aget_or_set

    # -- writes ---------------------------------------------------------------------

    async def _awrite(
        self, keys: Iterable[str], call: Callable[[], Awaitable[T]], removal: bool = False
    ) -> T:
        mine = [key for key in keys if cacheable(key)]
        if not mine:
            return await call()
        self.tier.invalidate(mine)
        try:
            result = await call()
        finally:
            self.tier.invalidate(mine)
        await asyncio.to_thread(self._announce, mine, removal)
        return result

    async def aset(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Async :meth:`set`."""
        gone = removes(timeout, self.cache.default_timeout)
        await self._awrite([key], lambda: self.cache.aset(key, value, timeout), removal=gone)

    async def aadd(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Async :meth:`add`."""
        return await self._awrite([key], lambda: self.cache.aadd(key, value, timeout))

    async def aset_many(self, mapping: Mapping[str, Any], timeout: Timeout = None) -> None:
        """Async :meth:`set_many`."""
        gone = removes(timeout, self.cache.default_timeout)
        await self._awrite(list(mapping), lambda: self.cache.aset_many(mapping, timeout), gone)

    async def aset_entry(
        self, key: str, value: Any, timeout: Timeout = None, refs: Sequence[str] = ()
    ) -> None:
        """Async :meth:`set_entry`."""
        gone = removes(timeout, self.cache.default_timeout)
        call = lambda: self.cache.aset_entry(key, value, timeout, refs)  # noqa: E731
        await self._awrite([key], call, removal=gone)

    async def adelete(self, key: str) -> bool:
        """Async :meth:`delete`."""
        return await self._awrite([key], lambda: self.cache.adelete(key), removal=True)

    async def adelete_many(self, keys: Iterable[str]) -> int:
        """Async :meth:`delete_many`."""
        names = check_keys(keys)
        return await self._awrite(names, lambda: self.cache.adelete_many(names), removal=True)

    async def adelete_if_equals(self, key: str, expected: Any) -> bool:
        """Async :meth:`delete_if_equals`."""
        call = lambda: self.cache.adelete_if_equals(key, expected)  # noqa: E731
        return await self._awrite([key], call, removal=True)

    async def alease(self, key: str, token: str, timeout: float) -> bool:
        """Async :meth:`lease`."""
        return await self._awrite([key], lambda: self.cache.alease(key, token, timeout))

    async def atouch(self, key: str, timeout: Timeout = None) -> bool:
        """Async :meth:`touch`."""
        if not removes(timeout, self.cache.default_timeout):
            return await self.cache.atouch(key, timeout)
        return await self._awrite([key], lambda: self.cache.atouch(key, timeout), removal=True)

    async def aincr(self, key: str, delta: int = 1) -> int:
        """Async :meth:`incr`."""
        return await self._awrite([key], lambda: self.cache.aincr(key, delta))

    async def adecr(self, key: str, delta: int = 1) -> int:
        """Async :meth:`decr`."""
        return await self._awrite([key], lambda: self.cache.adecr(key, delta))

    async def aclear(self) -> None:
        """Async :meth:`clear`."""
        self.tier.flush()
        try:
            await self.cache.aclear()
        finally:
            self.tier.flush()
        await asyncio.to_thread(self._announce, None, True)
