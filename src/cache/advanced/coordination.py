"""Coordination of concurrent fills: single flight in one process, a fill lock across processes.

``SingleFlight`` and ``AsyncSingleFlight`` run a generator once per key in a
process; every waiter receives the leader's value or its exception. With
``fresh=True`` a waiter takes only the value of a run that began after it
called: a caller that came during a run waits for it, then shares the next.
``FillLock`` does the same across processes through a lock key: one fills a
missing key, the rest wait for its entry. When the lock disappears, a waiter
tries to take it, which reads the entry once more. Past ``wait`` seconds, or
once a backend call of the wait failed, the waiter computes without the lock.
Used by the HTTP middlewares, stale-while-revalidate and ``@cached``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from cache.advanced._refresher import LEASE, Renewal, lease_for
from cache.advanced._releaser import agive_back, give_back, taking
from cache.backend.base import LOST_LEASES, CacheBackend, Entry, one_attempt
from cache.backend.validation import reserved_key
from cache.errors import CacheError

T = TypeVar("T")

__all__ = ["LEASE", "LOCK_TIMEOUT", "AsyncSingleFlight", "FillLock", "Renewal", "SingleFlight"]


class _Call:
    __slots__ = ("done", "error", "started", "successor", "vacant", "value", "waiters")

    def __init__(self, vacant: bool = False) -> None:
        self.done = threading.Event()
        #: When its leader began running it (``time.monotonic()``).
        self.started = time.monotonic()
        self.value: Any = None
        self.error: BaseException | None = None
        self.waiters = 0
        #: Handed over by a leader that left: the first waiter to look leads it.
        self.vacant = vacant
        #: The run that replaces this one when its leader left without a result.
        self.successor: _Call | None = None


class SingleFlight:
    """Run ``fn`` once per key among concurrent threads.

    Waiters get the leader's value or the function's exception. A leader that
    leaves without either (``KeyboardInterrupt``, ``SystemExit`` in its thread:
    not the function's failure) hands over: one waiter runs ``fn``, the others
    wait for it (issue 11).

    Args:
        fresh: A caller takes only the value of a run that began after it
            called; one that came while a run was under way waits for it,
            then shares one more run with the others that came during it.
            For a function that reads data an invalidation may change: a
            value read before an invalidation returned is never handed to a
            caller that came after it (issue 11). The function's exception
            is shared all the same.
    """

    def __init__(self, *, fresh: bool = False) -> None:
        self.fresh = fresh
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}

    def in_flight(self, key: str) -> bool:
        """Return True while a run for ``key`` is under way (a caller now would wait for it)."""
        with self._lock:
            call = self._calls.get(key)
            return call is not None and not call.vacant

    def _join(self, key: str, call: _Call | None) -> tuple[_Call, bool]:
        """Return the run to join (``call``, else the key's) and True if this caller leads it."""
        with self._lock:
            if call is None:
                call = self._calls.get(key)
            if call is None:
                call = self._calls[key] = _Call()
                return call, True
            if call.vacant:
                call.vacant, call.started = False, time.monotonic()
                return call, True
            call.waiters += 1
            return call, False

    def _leave(self, key: str, call: _Call, handed_over: bool) -> None:
        with self._lock:
            if handed_over:
                call.successor = _Call(vacant=True)
            if self._calls.get(key) is call:
                if call.successor is not None and call.waiters:
                    self._calls[key] = call.successor
                else:
                    del self._calls[key]
        call.done.set()

    def do(self, key: str, fn: Callable[[], Any]) -> Any:
        """Return ``fn()``, or the result of the run already under way for ``key``."""
        since, call = time.monotonic(), None
        while True:
            call, leader = self._join(key, call)
            if leader:
                break
            call.done.wait()
            with self._lock:
                call.waiters -= 1
            if call.successor is not None:
                call = call.successor  # the leader left: the first waiter here leads
            elif call.error is not None:
                raise call.error
            elif not self.fresh or call.started >= since:
                return call.value
            else:
                call = None  # a run begun before this call: share the next one
        handed_over = True
        try:
            call.value = fn()
            handed_over = False
        except Exception as exc:
            call.error, handed_over = exc, False
            raise
        finally:
            self._leave(key, call, handed_over)
        return call.value


class _LeaderGone(Exception):  # noqa: N818 - a signal between callers, never raised to users
    """The leader of a run left without a result: a waiter runs the function instead."""


class _Run:
    __slots__ = ("future", "started", "successor", "vacant", "waiters")

    def __init__(self, vacant: bool = False) -> None:
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.started = time.monotonic()
        self.waiters = 0
        self.vacant = vacant
        self.successor: _Run | None = None


class AsyncSingleFlight:
    """Await ``fn()`` once per key among concurrent tasks of one event loop.

    Cancel-safe: a cancelled waiter leaves the run alone, and a cancelled
    leader hands over: one waiter runs ``fn``, the others wait for it, and no
    waiter gets a ``CancelledError`` it was not sent (issue 11). ``fresh``: as
    for :class:`SingleFlight`.
    """

    def __init__(self, *, fresh: bool = False) -> None:
        self.fresh = fresh
        self._runs: dict[str, _Run] = {}

    def in_flight(self, key: str) -> bool:
        """Return True while a run for ``key`` is under way (a caller now would wait for it)."""
        run = self._runs.get(key)
        return run is not None and not run.vacant

    async def do(
        self,
        key: str,
        fn: Callable[[], Awaitable[Any]],
        recheck: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> Any:
        """Return ``await fn()``, or the result of the run already under way for ``key``.

        ``recheck`` (with ``fresh``): given the value of a run that began
        before this call, return a value this caller may take (e.g. the
        stored copy, read again and found still valid), or None to share
        the next run.
        """
        since, run = time.monotonic(), self._runs.get(key)
        while True:
            if run is None:
                run = self._runs[key] = _Run()
                break
            if run.vacant:
                run.vacant, run.started = False, time.monotonic()
                break
            joined = run
            joined.waiters += 1
            try:
                # shield: a cancelled waiter must not cancel the leader's run.
                value = await asyncio.shield(joined.future)
            except _LeaderGone:
                run = joined.successor  # the first waiter to wake leads it
                continue
            finally:
                joined.waiters -= 1
            if not self.fresh or joined.started >= since:
                return value
            if recheck is not None:
                checked = await recheck(value)
                if checked is not None:
                    return checked
            run = self._runs.get(key)  # a run begun before this call: share the next one
        return await self._lead(key, run, fn)

    async def _lead(self, key: str, run: _Run, fn: Callable[[], Awaitable[Any]]) -> Any:
        try:
            value = await fn()
        except Exception as exc:
            run.future.set_exception(exc)
            raise
        except BaseException:  # cancelled: not the function's failure, not the waiters'
            run.successor = _Run(vacant=True)
            run.future.set_exception(_LeaderGone())
            raise
        else:
            run.future.set_result(value)
            return value
        finally:
            run.future.exception()  # mark retrieved: waiters, if any, re-raise it
            if self._runs.get(key) is run:
                if run.successor is not None and run.waiters:
                    self._runs[key] = run.successor
                else:
                    del self._runs[key]


#: Seconds between looks at an entry another process fills: short at first (most
#: fills are quick), then longer, not to hammer the backend (three commands a look).
FIRST_POLL = 0.005
MAX_POLL = 0.1


def poll_delays() -> Iterator[float]:
    """Yield the waits between looks: 5 ms growing by half each time up to 100 ms, jittered."""
    delay = FIRST_POLL
    while True:
        yield delay * random.uniform(0.8, 1.2)  # spreads waiters apart
        delay = min(delay * 1.5, MAX_POLL)


#: Seconds a waiter waits for a fill by default (``@cached``): the holder is
#: alive as long as it renews its lease, so this bounds a slow fill, not a dead one.
LOCK_TIMEOUT = 30.0


class FillLock(Generic[T]):
    """The backend lock taken by the one process that fills ``key`` on a miss.

    The lock is a lease (:meth:`CacheBackend.lease`) of at most :data:`LEASE`
    seconds, renewed while its holder fills: a holder that dies leaves it for
    one lease at most, and a request that reached a hung server after its
    caller gave up takes none (issue 4).

    Args:
        cache: The backend holding the entry and the lock.
        key: The entry's key.
        usable: What a read of the entry yields, or None if it is not usable.
        wait: Seconds a waiter waits for the holder before computing itself.
        lock: The lock's key; by default one reserved for ``key``.
        lock_timeout: Seconds the lock lives unrenewed, at most :data:`LEASE`.
    """

    def __init__(
        self,
        cache: CacheBackend,
        key: str,
        usable: Callable[[Entry], T | None],
        wait: float,
        *,
        lock: str | None = None,
        lock_timeout: float = LEASE,
    ) -> None:
        self.cache = cache
        self.key = lock if lock is not None else reserved_key("fill", key)
        self.entry_key = key
        self.usable = usable
        self.wait = wait
        self.lock_timeout = lease_for(lock_timeout)
        self.token = uuid.uuid4().hex
        self.held = False
        self._unsure = False  # a lease request of ours failed: the lock may be ours
        self._holder: Any = None
        self._renewal: Renewal | None = None

    def _took(self, took: bool, in_loop: bool, unconfirmed: bool) -> None:
        # A lease request that failed may be applied later (a paused server
        # resumes): its token is released, or noted lost, like a held one.
        self._unsure = self._unsure or unconfirmed
        self.held = took
        if took and self._renewal is None:
            self._renewal = Renewal(self.cache, self.key, self.token, self.lock_timeout)
            self._renewal.astart() if in_loop else self._renewal.start()

    def acquire_or_wait(self) -> T | None:
        """Return what another process stored, or None: fill now (with the lock if ``held``).

        A caller given an entry still calls :meth:`release`. One attempt
        (:func:`~cache.backend.base.one_attempt`): once a call of it failed,
        the waiter stops waiting and fills without the lock.
        """
        with one_attempt() as attempt:
            deadline, vacant, delays = time.monotonic() + self.wait, False, poll_delays()
            while True:
                failures = attempt.failures
                with taking(self.cache, self.key, self.token, self.lock_timeout):
                    took = self.cache.lease(self.key, self.token, self.lock_timeout)
                self._took(took, in_loop=False, unconfirmed=attempt.failures > failures)
                # Read even with the lock: its last holder may have stored just now.
                found = self.usable(self.cache.get_entry(self.entry_key))
                if found is not None or took:
                    return found
                if attempt.failed or time.monotonic() > deadline:
                    return None  # the backend failed, or the holder is too slow: fill unlocked
                step = self._after(self.cache.get(self.key), vacant)
                if step == "give up":
                    return None  # no lock to take and none held: the backend is not answering
                if step == "break":
                    with contextlib.suppress(CacheError):  # best effort: the lease runs out
                        if self.cache.delete_if_equals(self.key, self._holder):
                            LOST_LEASES.discard(self._holder)
                vacant = step == "look"
                if step == "sleep":
                    time.sleep(next(delays))

    async def aacquire_or_wait(self) -> T | None:
        """Async :meth:`acquire_or_wait`."""
        with one_attempt() as attempt:
            deadline, vacant, delays = time.monotonic() + self.wait, False, poll_delays()
            while True:
                failures = attempt.failures
                with taking(self.cache, self.key, self.token, self.lock_timeout):  # cancelled
                    took = await self.cache.alease(self.key, self.token, self.lock_timeout)
                self._took(took, in_loop=True, unconfirmed=attempt.failures > failures)
                found = self.usable(await self.cache.aget_entry(self.entry_key))
                if found is not None or took:
                    return found
                if attempt.failed or time.monotonic() > deadline:
                    return None
                step = self._after(await self.cache.aget(self.key), vacant)
                if step == "give up":
                    return None
                if step == "break":
                    with contextlib.suppress(CacheError):
                        if await self.cache.adelete_if_equals(self.key, self._holder):
                            LOST_LEASES.discard(self._holder)
                vacant = step == "look"
                if step == "sleep":
                    await asyncio.sleep(next(delays))

    def _after(self, holder: Any, vacant: bool) -> str:
        """Return a waiter's next step, given the lock's ``holder`` (None: no lock).

        "look" again at once (the holder finished between our reads), "give
        up" (no lock twice: the backend is not answering), "break" a lease
        nobody holds (:data:`~cache.backend.base.LOST_LEASES`), or "sleep".
        """
        self._holder = holder
        if holder is None:
            return "give up" if vacant else "look"
        return "break" if holder in LOST_LEASES else "sleep"

    def _stop(self) -> bool:
        if self._renewal is not None:
            self._renewal.stop()
            self._renewal = None
        held, self.held, self._unsure = self.held or self._unsure, False, False
        return held

    def release(self) -> None:
        """Give the lock back if this process holds it (or may: a lease request failed).

        A release the backend cannot confirm is not an error here: the token
        joins :data:`~cache.backend.base.LOST_LEASES`, so that this process's
        waiters break the lock at once, and the process keeps giving the
        lease back in the background: waiters of other processes get the
        lock as soon as the server answers again.
        """
        if self._stop():
            give_back(self.cache, self.key, self.token, self.lock_timeout)

    async def arelease(self) -> None:
        """Async :meth:`release`."""
        if self._stop():
            await agive_back(self.cache, self.key, self.token, self.lock_timeout)
