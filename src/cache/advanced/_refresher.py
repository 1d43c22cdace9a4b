"""Background refreshes for stale-while-revalidate: one per lock, here and in other processes.

The lock is a key in the backend, a lease taken with a token, renewed while
the refresh runs and released with ``delete_if_equals``, so that processes
sharing the backend refresh a key once. The lease is short (``LEASE``): a
refresher that dies, or a claim whose reader gave up, blocks refreshes for
seconds, not for ``lock_timeout`` (issue 4). A set of the locks held in this
process saves readers the round trip while this process already refreshes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from cache.advanced.coordination import Renewal, lease_for
from cache.backend.base import CacheBackend
from cache.errors import CacheError

__all__ = ["Refresher"]


class Refresher:
    """Run refreshes in the background, at most one per lock at a time.

    Plain refreshes run on ``max_workers`` threads, async ones as tasks of the
    running event loop. A refresh handles its own errors: the lock is released
    whatever happens.
    """

    def __init__(self, cache: CacheBackend, lock_timeout: float, max_workers: int) -> None:
        self.cache = cache
        self.lock_timeout = lease_for(lock_timeout)
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="cache-swr")
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._futures: set[Future[Any]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def _claim_here(self, lock: str, claimed: str | None) -> bool:
        """Claim ``lock`` in this process; False if a refresh here holds it.

        ``claimed``: the token of the lock a read already took in the backend.
        The backend lock is the authority: its holder always refreshes.
        """
        with self._held_lock:
            if claimed is None and lock in self._held:
                return False
            self._held.add(lock)
            return True

    def _unclaim_here(self, lock: str) -> None:
        with self._held_lock:
            self._held.discard(lock)

    def _claim(self, lock: str, claimed: str | None) -> str | None:
        """Claim ``lock`` in this process and in the backend; return its token."""
        if not self._claim_here(lock, claimed):
            return None
        if claimed is not None:
            return claimed  # shortened to a lease by the refresh, off the reader's path
        token = uuid.uuid4().hex
        if self.cache.lease(lock, token, self.lock_timeout):
            return token
        self._unclaim_here(lock)
        return None

    async def _aclaim(self, lock: str, claimed: str | None) -> str | None:
        """Async :meth:`_claim`."""
        if not self._claim_here(lock, claimed):
            return None
        if claimed is not None:
            return claimed
        token = uuid.uuid4().hex
        if await self.cache.alease(lock, token, self.lock_timeout):
            return token
        self._unclaim_here(lock)
        return None

    def start(self, lock: str, claimed: str | None, refresh: Callable[[], None]) -> None:
        """Run ``refresh`` on a worker thread under ``lock``, unless a refresh holds it."""
        token = self._claim(lock, claimed)
        if token is None:
            return
        renewal = Renewal(self.cache, lock, token, self.lock_timeout)

        def run() -> None:
            if claimed is not None:  # a read's claim lives lock_timeout: make it a lease
                renewal.renew()
            renewal.start()
            try:
                refresh()
            finally:
                renewal.stop()
                with contextlib.suppress(CacheError):  # unconfirmed: it ends with its lease
                    self.cache.delete_if_equals(lock, token)
                self._unclaim_here(lock)

        future = self._executor.submit(run)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    async def astart(
        self, lock: str, claimed: str | None, refresh: Callable[[], Awaitable[None]]
    ) -> None:
        """Async :meth:`start`: run ``refresh`` as a task of the running event loop."""
        token = await self._aclaim(lock, claimed)
        if token is None:
            return
        renewal = Renewal(self.cache, lock, token, self.lock_timeout)

        async def run() -> None:
            if claimed is not None:
                await renewal.arenew()
            renewal.astart()
            try:
                await refresh()
            finally:
                renewal.stop()
                with contextlib.suppress(CacheError):
                    await self.cache.adelete_if_equals(lock, token)
                self._unclaim_here(lock)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the thread refreshes started so far have finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for future in list(self._futures):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            future.exception(remaining)

    def close(self) -> None:
        """Wait for running thread refreshes and stop the threads."""
        self._executor.shutdown(wait=True)

    async def await_refreshes(self) -> None:
        """Wait for the task refreshes started from this event loop."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
