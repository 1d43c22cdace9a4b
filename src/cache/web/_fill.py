"""Single flight for an HTTP miss across processes: one fetches, the rest wait for its entry.

The fetcher holds a lock key in the backend while the app runs; a process
that finds the lock taken polls the entry until the holder stores it. When
the lock disappears with nothing stored (the response could not be shared),
or the wait passes ``wait`` seconds, the waiter asks the app itself.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from cache.advanced._envelope import Envelope
from cache.backend._keys import reserved_key
from cache.backend.base import CacheBackend, Entry

__all__ = ["FillLock"]

POLL = 0.02
LOCK_TIMEOUT = 30.0


class FillLock:
    """The backend lock taken by the one process that fetches ``key`` on a miss."""

    def __init__(
        self,
        cache: CacheBackend,
        key: str,
        usable: Callable[[Entry], Envelope | None],
        wait: float,
    ) -> None:
        self.cache = cache
        self.key = reserved_key("fill", key)
        self.entry_key = key
        self.usable = usable
        self.wait = wait
        self.token = uuid.uuid4().hex
        self.held = False

    def acquire_or_wait(self) -> Envelope | None:
        """Return the entry another process stored, or None: fetch now (with the lock if ``held``).

        A caller given an entry still calls :meth:`release`.
        """
        deadline = time.monotonic() + self.wait
        while True:
            took = self.cache.add(self.key, self.token, LOCK_TIMEOUT)
            self.held = took
            # Read even with the lock: its last holder may have stored just now.
            env = self.usable(self.cache.get_entry(self.entry_key))
            if env is not None or took:
                return env
            if time.monotonic() > deadline or self.cache.get(self.key) is None:
                return None  # no holder left, or it is too slow: fetch without the lock
            time.sleep(POLL)

    async def aacquire_or_wait(self) -> Envelope | None:
        """Async :meth:`acquire_or_wait`."""
        deadline = time.monotonic() + self.wait
        while True:
            took = await self.cache.aadd(self.key, self.token, LOCK_TIMEOUT)
            self.held = took
            env = self.usable(await self.cache.aget_entry(self.entry_key))
            if env is not None or took:
                return env
            if time.monotonic() > deadline or await self.cache.aget(self.key) is None:
                return None
            await asyncio.sleep(POLL)

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
