"""The async twins of :class:`~cache.backend.NearCache`: the same rules, Redis awaited.

The local tier is in memory and never blocks; the message after a write is
sent from a worker thread, in the same sequence as the sync side's. A write
that raises or is cancelled is told all the same (it may have been applied):
its message goes out from the thread whatever happens to the task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from cache._types import MISSING, Timeout
from cache.backend.base import CacheBackend, Claim, Entry
from cache.backend.near._base import NearBase, removes
from cache.backend.near._tier import cacheable
from cache.backend.validation import check_keys

__all__ = ["AsyncTwins"]

T = TypeVar("T")


class AsyncTwins(NearBase):
    """The ``a*`` methods of the near cache (the rules are in its sync methods)."""

    async def aget(self, key: str, default: Any = None) -> Any:
        """Async :meth:`get`."""
        if not cacheable(key):
            return await self.cache.aget(key, default)
        record = self.tier.record(key)
        if record is not None:
            return self.tier.value(record)
        ticket, started = self.tier.ticket(), self._clock()
        read = await self.cache.aget_many_with_ttl([key])
        value = self._fill_many(ticket, read, started).get(key, MISSING)
        return default if value is MISSING else value

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Async :meth:`get_many`."""
        found, wanted = self._local_many(check_keys(keys))
        ticket, started = self.tier.ticket(), self._clock()
        if wanted:
            read = await self.cache.aget_many_with_ttl(wanted)
            found.update(self._fill_many(ticket, read, started))
        return found

    async def ahas_key(self, key: str) -> bool:
        """Async :meth:`has_key`."""
        return await self.aget(key, MISSING) is not MISSING

    async def aget_entry(self, key: str, claim: Claim | None = None) -> Entry:
        """Async :meth:`get_entry`."""
        local = self._local_entry(key, claim)
        if local is not None:
            return local
        ticket, started = self.tier.ticket() if cacheable(key) else None, self._clock()
        entry = await self.cache.aget_entry(key, claim)
        if ticket is not None and entry.value is not MISSING and not entry.absent:
            records = self._entry_records(key, entry, await self.cache.attl(key), started)
            if records is not None:
                self.tier.fill(ticket, records)
        return entry

    # The protocol's own, over the methods above (a callable default may be async).
    aget_or_set = CacheBackend.aget_or_set

    # -- writes ---------------------------------------------------------------------

    async def _awrite(
        self, keys: Iterable[str], call: Callable[[], Awaitable[T]], removal: bool = False
    ) -> T:
        mine = self._mine(keys)
        if not mine:
            return await call()
        self.tier.invalidate(mine)
        try:
            result = await call()
        except BaseException:  # raised or cancelled: it may have been applied
            self.tier.invalidate(mine)
            loop = asyncio.get_running_loop()
            loop.run_in_executor(None, self._announce, mine, removal, True)
            raise
        self.tier.invalidate(mine)
        await asyncio.to_thread(self._announce, mine, removal)
        return result

    async def _aflush(self, call: Callable[[], Awaitable[None]], everywhere: bool) -> None:
        self.tier.flush()
        try:
            await call()
        except BaseException:
            self.tier.flush()
            loop = asyncio.get_running_loop()
            loop.run_in_executor(None, self._announce, None, True, True, everywhere)
            raise
        self.tier.flush()
        await asyncio.to_thread(self._announce, None, True, False, everywhere)

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
        gone = removes(timeout, self.cache.default_timeout)
        return await self._awrite([key], lambda: self.cache.atouch(key, timeout), removal=gone)

    async def aincr(self, key: str, delta: int = 1) -> int:
        """Async :meth:`incr`."""
        return await self._awrite([key], lambda: self.cache.aincr(key, delta))

    async def adecr(self, key: str, delta: int = 1) -> int:
        """Async :meth:`decr`."""
        return await self._awrite([key], lambda: self.cache.adecr(key, delta))

    async def aclear(self) -> None:
        """Async :meth:`clear`."""
        await self._aflush(self.cache.aclear, everywhere=False)

    async def aflush_database(self) -> None:
        """Async :meth:`flush_database`."""
        await self._aflush(self.cache.aflush_database, everywhere=True)

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await asyncio.to_thread(self.bus.stop)
        await self.cache.aclose()
