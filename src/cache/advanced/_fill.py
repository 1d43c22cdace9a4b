"""Single flight across processes: one fills a missing key, the rest wait for its entry.

The filler holds a lock key in the backend while it computes; a process that
finds the lock taken polls the entry until the holder stores it. When the
lock disappears, the waiter tries to take it, which reads the entry once more:
a holder that just stored is found, and one that stored nothing (it failed, or
its result could not be shared) leaves the lock to the waiter, who computes
the value. Past ``wait`` seconds, or when the backend answers neither the lock
nor the entry, the waiter computes without the lock. Used by the HTTP
middlewares, stale-while-revalidate and ``@cached``; in-process callers are
collapsed before this by a single flight.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from cache.backend._keys import reserved_key
from cache.backend.base import CacheBackend, Entry

__all__ = ["FillLock"]

T = TypeVar("T")

#: Seconds between looks at an entry another process is filling: short at
#: first (most fills are quick), then longer, so that a waiter on a slow fill
#: does not hammer the backend (three commands a look).
FIRST_POLL = 0.005
MAX_POLL = 0.1


def poll_delays() -> Iterator[float]:
    """Yield the waits between looks: 5 ms growing by half each time up to 100 ms, jittered."""
    delay = FIRST_POLL
    while True:
        yield delay * random.uniform(0.8, 1.2)  # spreads waiters apart
        delay = min(delay * 1.5, MAX_POLL)


#: Seconds the lock lives if its holder dies.
LOCK_TIMEOUT = 30.0


class FillLock(Generic[T]):
    """The backend lock taken by the one process that fills ``key`` on a miss.

    Args:
        cache: The backend holding the entry and the lock.
        key: The entry's key.
        usable: What a read of the entry yields, or None if it is not usable.
        wait: Seconds a waiter waits for the holder before computing itself.
        lock: The lock's key; by default one reserved for ``key``.
        lock_timeout: Seconds the lock lives if its holder dies.
    """

    def __init__(
        self,
        cache: CacheBackend,
        key: str,
        usable: Callable[[Entry], T | None],
        wait: float,
        *,
        lock: str | None = None,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.cache = cache
        self.key = lock if lock is not None else reserved_key("fill", key)
        self.entry_key = key
        self.usable = usable
        self.wait = wait
        self.lock_timeout = lock_timeout
        self.token = uuid.uuid4().hex
        self.held = False

    def acquire_or_wait(self) -> T | None:
        """Return what another process stored, or None: fill now (with the lock if ``held``).

        A caller given an entry still calls :meth:`release`.
        """
        deadline = time.monotonic() + self.wait
        vacant = False
        delays = poll_delays()
        while True:
            took = self.cache.add(self.key, self.token, self.lock_timeout)
            self.held = took
            # Read even with the lock: its last holder may have stored just now.
            found = self.usable(self.cache.get_entry(self.entry_key))
            if found is not None or took:
                return found
            if time.monotonic() > deadline:
                return None  # the holder is too slow: fill without the lock
            if self.cache.get(self.key) is None:
                if vacant:
                    return None  # no lock to take and none held: the backend is not answering
                vacant = True  # the holder finished between our reads: look again at once
                continue
            vacant = False
            time.sleep(next(delays))

    async def aacquire_or_wait(self) -> T | None:
        """Async :meth:`acquire_or_wait`."""
        deadline = time.monotonic() + self.wait
        vacant = False
        delays = poll_delays()
        while True:
            took = await self.cache.aadd(self.key, self.token, self.lock_timeout)
            self.held = took
            found = self.usable(await self.cache.aget_entry(self.entry_key))
            if found is not None or took:
                return found
            if time.monotonic() > deadline:
                return None
            if await self.cache.aget(self.key) is None:
                if vacant:
                    return None
                vacant = True
                continue
            vacant = False
            await asyncio.sleep(next(delays))

    def release(self) -> None:
        """Give the lock back if this process holds it."""
        if self.held:
            self.held = False
            self.cache.delete_if_equals(self.key, self.token)

    async def arelease(self) -> None:
        """Async :meth:`release`."""
        if self.held:
            self.held = False
            await self.cache.adelete_if_equals(self.key, self.token)
