"""Leases whose release went unconfirmed, given back in the background once the server answers.

A holder whose release could not be confirmed (the server down, hung,
restarting with its data) or a caller whose lease request failed (a paused
server applies it when it resumes) notes the lease lost: its token joins
:data:`~cache.backend.base.LOST_LEASES`, so that a waiter of this process
breaks the lock at once, and the process owes the release. One daemon thread
per process pays what is owed: it sends ``delete_if_equals(lock, token)`` on
the sync API (every engine has one: an async holder's engine too, and the
thread never blocks an event loop) until the server confirms (the lock
deleted, or held by another token, or gone), then forgets the token. So
waiters of other processes find the lock gone within about ``MAX_DELAY`` of
the server answering again, instead of waiting for the lease to run out.

The thread backs off from ``FIRST_DELAY`` to ``MAX_DELAY`` while the server
fails, tries a server through its open circuit (nobody waits for it), gives
up on a lease once its lock has expired by itself, keeps at most
``MAX_OWED`` releases (the oldest go first: their locks still expire), never
raises, and ends when nothing is owed. A forked child owes nothing: the
parent's thread keeps paying the parent's releases, and the child's tokens
are its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cache.backend.base import LOST_LEASES, CacheBackend, Claim, one_attempt
from cache.errors import CacheError

__all__ = [
    "FIRST_DELAY",
    "MAX_DELAY",
    "MAX_OWED",
    "RELEASER",
    "SETTLE",
    "Releaser",
    "agive_back",
    "claiming",
    "give_back",
    "lost",
    "taking",
]

log = logging.getLogger(__name__)

#: Seconds before the first try, doubled after each round that met a failure, up to MAX_DELAY.
FIRST_DELAY = 0.05
MAX_DELAY = 0.25
#: Releases a process owes at most.
MAX_OWED = 1024
#: Seconds before giving back the lock of a request left without its answer: by
#: then it has landed, or will be refused (a lease request is refused past its
#: caller's socket timeout, 0.25 s by default), so "no such lock" is final.
SETTLE = 0.5


@dataclass(frozen=True)
class _Owed:
    cache: CacheBackend
    key: str
    token: str
    until: float  # the releaser's clock: past it the lock has expired by itself
    after: float  # not tried before (a request that may still land)


class Releaser:
    """The releases this process owes, paid by a daemon thread (``background``) or by :meth:`run`.

    Args:
        max_owed: Releases kept at most; the oldest are dropped first.
        first_delay: Seconds before the first try, doubled while tries fail.
        max_delay: The longest wait between two rounds of tries.
        clock: Monotonic seconds.
        background: Pay from a daemon thread started on demand (else only :meth:`run`).
    """

    def __init__(
        self,
        *,
        max_owed: int = MAX_OWED,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self.max_owed, self.first_delay, self.max_delay = max_owed, first_delay, max_delay
        self.clock, self.background = clock, background
        self.delay = first_delay
        self._owed: OrderedDict[str, _Owed] = OrderedDict()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        _ALL.add(self)

    def owe(
        self, cache: CacheBackend, key: str, token: str, lifetime: float, after: float = 0.0
    ) -> None:
        """Owe the release of ``key`` by ``token``, whose lock lives ``lifetime`` s at most.

        ``after``: seconds before the first try (the request taking it may still land).
        """
        with self._lock:
            now = self.clock()
            self._owed[token] = _Owed(cache, key, token, now + lifetime, now + after)
            self._owed.move_to_end(token)
            while len(self._owed) > self.max_owed:
                self._owed.popitem(last=False)  # its lock expires by itself
            if self.background and self._thread is None:
                self._thread = threading.Thread(
                    target=self._pay, name="cache-lease-release", daemon=True
                )
                self._thread.start()

    def owed(self) -> list[str]:
        """Return the tokens whose release is owed, the oldest first."""
        with self._lock:
            return list(self._owed)

    def run(self) -> float | None:
        """Try every owed release once; return the seconds until the next round (None: all paid).

        A lease whose lock has expired is dropped untried. After the first
        failure on an engine the rest of its releases wait for the next round
        (its server is not answering); the failed one goes last. A round with a
        failure doubles the delay (up to ``max_delay``); one without resets it.
        """
        with self._lock:
            now = self.clock()
            for token in [t for t, owed in self._owed.items() if owed.until <= now]:
                del self._owed[token]  # expired (its token stays lost: harmless, and bounded)
            batch = list(self._owed.values())
        failing: set[int] = set()
        for owed in batch:
            if id(owed.cache) in failing or owed.after > now:
                continue
            confirmed = _release(owed)
            with self._lock:
                if self._owed.get(owed.token) is not owed:
                    continue  # owed anew meanwhile: its next round decides
                if confirmed:
                    del self._owed[owed.token]
                    LOST_LEASES.discard(owed.token)
                else:
                    self._owed.move_to_end(owed.token)
                    failing.add(id(owed.cache))
        with self._lock:
            self.delay = min(self.delay * 2, self.max_delay) if failing else self.first_delay
            return self.delay if self._owed else None

    def _pay(self) -> None:
        """Run rounds, ``delay`` apart, until nothing is owed (the daemon thread)."""
        time.sleep(self.delay)
        while True:
            try:
                wait = self.run()
            except Exception:  # never: but a dead thread would leave the rest unpaid
                log.exception("giving back lost leases failed")
                wait = self.max_delay
            with self._lock:
                if not self._owed:
                    self._thread, self.delay = None, self.first_delay
                    return
            time.sleep(self.first_delay if wait is None else wait)

    def _forked(self) -> None:
        """In a forked child: owe nothing (the parent's thread pays the parent's releases)."""
        self._lock = threading.Lock()
        self._owed.clear()
        self._thread, self.delay = None, self.first_delay


def _release(owed: _Owed) -> bool:
    """Send one release; return True if the server confirmed it (deleted, another's, gone)."""
    with one_attempt(background=True) as attempt:
        try:
            owed.cache.delete_if_equals(owed.key, owed.token)
        except Exception:  # a strict engine raises; any error: not confirmed, tried again
            return False
        return not attempt.failed


_ALL: weakref.WeakSet[Releaser] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for releaser in list(_ALL):
        releaser._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)

#: The process's releaser.
RELEASER = Releaser()


def lost(cache: CacheBackend, key: str, token: str, lifetime: float, after: float = 0.0) -> None:
    """Note the lease of ``key`` by ``token`` held by nobody, and owe its release.

    ``lifetime``: seconds the lock may still live (its lease, or a claim's
    timeout); ``after``: seconds before the first try (:data:`SETTLE` when
    the request taking it may still land).
    """
    LOST_LEASES.add(token)
    RELEASER.owe(cache, key, token, lifetime, after)


@contextlib.contextmanager
def taking(cache: CacheBackend, key: str, token: str, lifetime: float) -> Iterator[None]:
    """Run a request that may take the lock ``key`` for ``token``: :func:`lost` if it raises.

    A request left without its answer (the caller's task cancelled while it
    was out, a strict engine's error) may take the lock all the same: nobody
    would hold it, and every waiter would wait for the lease (issue 11).
    """
    try:
        yield
    except BaseException:
        lost(cache, key, token, lifetime, SETTLE)
        raise


@contextlib.contextmanager
def claiming(cache: CacheBackend, claim: Claim | None) -> Iterator[None]:
    """Run a read that may take ``claim``: :func:`taking`, and lost if a call of it failed.

    A read whose request was sent and failed may take the claim all the same
    (a paused server applies it when it resumes).
    """
    if claim is None:
        yield
        return
    with one_attempt() as attempt, taking(cache, claim.key, claim.token, claim.timeout):
        failures = attempt.failures
        yield
        if attempt.failures > failures:
            lost(cache, claim.key, claim.token, claim.timeout, SETTLE)


def give_back(cache: CacheBackend, key: str, token: str, lifetime: float) -> None:
    """Release the lease of ``key`` by ``token`` now; if unconfirmed, note it :func:`lost`.

    Part of the running attempt, if any: after a failure of it the release is
    not sent, and is owed instead. Never raises :class:`CacheError`; a release
    cut short (``KeyboardInterrupt``, a cancelled task) is owed, and re-raised.
    """
    with (
        one_attempt() as attempt,
        contextlib.suppress(CacheError),
        taking(cache, key, token, lifetime),
    ):
        cache.delete_if_equals(key, token)
        if attempt.failed:
            lost(cache, key, token, lifetime)


async def agive_back(cache: CacheBackend, key: str, token: str, lifetime: float) -> None:
    """Async :func:`give_back`."""
    with (
        one_attempt() as attempt,
        contextlib.suppress(CacheError),
        taking(cache, key, token, lifetime),
    ):
        await cache.adelete_if_equals(key, token)
        if attempt.failed:
            lost(cache, key, token, lifetime)
