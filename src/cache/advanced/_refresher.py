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
import contextvars
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from cache.advanced._releaser import SETTLE, agive_back, give_back, lost, taking
from cache.backend.base import CacheBackend, one_attempt
from cache.errors import CacheError

__all__ = ["LEASE", "Refresher", "Renewal", "lease_for"]

#: Seconds a fill or refresh lock lives unless its holder renews it: a holder
#: that died (or a lock nobody holds) is gone this soon (issue 4).
LEASE = 3.0


def lease_for(lock_timeout: float) -> float:
    """Return the lease of a lock whose owner asked for ``lock_timeout``: at most :data:`LEASE`."""
    return min(lock_timeout, LEASE)


class Renewal:
    """Extend a held lock every third of its lease, in the background, until stopped.

    A thread for sync holders, a task for async ones. Stops by itself when the
    lock is no longer the token's (it expired and another took it).
    """

    def __init__(self, cache: CacheBackend, key: str, token: str, lease: float) -> None:
        self.cache, self.key, self.token, self.lease = cache, key, token, lease
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._sleeping = False

    def renew(self) -> bool:
        """Extend the lock now; False if the token no longer holds it (unconfirmed: True).

        A renewal still under way when the holder released the lock may land
        after the release and take the lock again: it is given back at once,
        or noted lost (and given back later) if that cannot be confirmed.
        """
        try:
            return self.cache.lease(self.key, self.token, self.lease)
        except CacheError:  # not confirmed: try again at the next beat
            return True
        finally:
            if self._stop.is_set():
                give_back(self.cache, self.key, self.token, self.lease)

    async def arenew(self) -> bool:
        """Async :meth:`renew`."""
        try:
            return await self.cache.alease(self.key, self.token, self.lease)
        except CacheError:
            return True
        finally:
            if self._stop.is_set():
                await agive_back(self.cache, self.key, self.token, self.lease)

    def start(self) -> None:
        """Renew from a daemon thread."""

        def run() -> None:
            while not self._stop.wait(self.lease / 3) and self.renew():
                pass

        threading.Thread(target=run, name="cache-lease", daemon=True).start()

    def astart(self) -> None:
        """Renew from a task of the running event loop."""

        async def run() -> None:
            while not self._stop.is_set():
                self._sleeping = True
                await asyncio.sleep(self.lease / 3)
                self._sleeping = False
                if self._stop.is_set() or not await self.arenew():
                    return

        # A fresh context: the renewal is no part of the attempt that took the lock.
        self._task = contextvars.Context().run(asyncio.get_running_loop().create_task, run())

    def stop(self) -> None:
        """Stop renewing (the lock then lives at most one lease more).

        A renewal under way finishes (and gives back what it took): it is not
        cancelled, since its command may reach the server all the same.
        """
        self._stop.set()
        if self._task is not None and self._sleeping:
            self._task.cancel()


class Refresher:
    """Run refreshes in the background, at most one per lock at a time.

    Plain refreshes run on ``max_workers`` threads, async ones as tasks of the
    running event loop. A refresh handles its own errors: the lock is released
    whatever happens.
    """

    def __init__(self, cache: CacheBackend, lock_timeout: float, max_workers: int) -> None:
        self.cache = cache
        self.lock_timeout = lease_for(lock_timeout)
        self._claim_timeout = lock_timeout  # a read's claim lives this long until renewed
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
        try:
            with one_attempt() as attempt, taking(self.cache, lock, token, self.lock_timeout):
                if self.cache.lease(lock, token, self.lock_timeout):
                    return token
                if attempt.failures:  # a request sent that failed may still be applied
                    lost(self.cache, lock, token, self.lock_timeout, SETTLE)
        except BaseException:
            self._unclaim_here(lock)
            raise
        self._unclaim_here(lock)
        return None

    async def _aclaim(self, lock: str, claimed: str | None) -> str | None:
        """Async :meth:`_claim`."""
        if not self._claim_here(lock, claimed):
            return None
        if claimed is not None:
            return claimed
        token = uuid.uuid4().hex
        try:  # the reader's task may be cancelled while the request is out
            with one_attempt() as attempt, taking(self.cache, lock, token, self.lock_timeout):
                if await self.cache.alease(lock, token, self.lock_timeout):
                    return token
                if attempt.failures:
                    lost(self.cache, lock, token, self.lock_timeout, SETTLE)
        except BaseException:
            self._unclaim_here(lock)
            raise
        self._unclaim_here(lock)
        return None

    def start(self, lock: str, claimed: str | None, refresh: Callable[[], None]) -> None:
        """Run ``refresh`` on a worker thread under ``lock``, unless a refresh holds it."""
        token = self._claim(lock, claimed)
        if token is None:
            return
        renewal = Renewal(self.cache, lock, token, self.lock_timeout)
        lifetime = self.lock_timeout if claimed is None else self._claim_timeout

        def run() -> None:
            if claimed is not None:  # a read's claim lives lock_timeout: make it a lease
                renewal.renew()
            renewal.start()
            try:
                refresh()
            finally:
                renewal.stop()
                give_back(self.cache, lock, token, lifetime)  # or owe it, if unconfirmed
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
        lifetime = self.lock_timeout if claimed is None else self._claim_timeout

        async def run() -> None:
            if claimed is not None:
                await renewal.arenew()
            renewal.astart()
            try:
                await refresh()
            finally:
                renewal.stop()
                await agive_back(self.cache, lock, token, lifetime)
                self._unclaim_here(lock)

        # A fresh context: the refresh is no part of the attempt of the read that started it.
        task = contextvars.Context().run(asyncio.get_running_loop().create_task, run())
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
