"""Locks in the backend: the claim a read may take, the checks of lock arguments, attempts.

An *attempt* is one operation of a caller (a read through stale-while-
revalidate, a ``@cached`` call, a fill lock's wait) seen by the engine: once
one of its calls failed to reach a server (a timeout, a reset), the rest of
its calls to that server fail at once, as if the circuit were open, instead
of each waiting a socket timeout. So an operation waits on a failing server
once at most: no longer than the socket timeout and a margin.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from cache.backend.validation import check_key, check_seconds
from cache.errors import CacheTypeError

__all__ = [
    "LOST_LEASES",
    "Attempt",
    "Claim",
    "LostLeases",
    "check_claim",
    "check_lease",
    "current_attempt",
    "one_attempt",
]


@dataclass
class Attempt:
    """What one operation met: the servers (scopes) it failed to reach, how many failures."""

    #: The scopes (a cluster node's name, "" for a single server) that failed in it.
    failed: set[str] = field(default_factory=set)
    #: Calls sent that failed (a server may still apply them: a paused one resumes).
    failures: int = 0
    #: Background work nobody waits for (giving back a lost lease): its calls
    #: are sent even through an open circuit, to learn when the server answers.
    background: bool = False

    def gave_up(self, scope: str = "") -> bool:
        """Return True if a call to ``scope`` failed in this operation."""
        return scope in self.failed

    def note(self, scope: str, sent: bool = True) -> None:
        """Note a call to ``scope`` that failed (``sent``: tried, not cut short by a circuit)."""
        self.failed.add(scope)
        self.failures += sent


_ATTEMPT: ContextVar[Attempt | None] = ContextVar("cache_attempt", default=None)


def current_attempt() -> Attempt | None:
    """Return the attempt the running code is part of, if any."""
    return _ATTEMPT.get()


@contextlib.contextmanager
def one_attempt(background: bool = False) -> Iterator[Attempt]:
    """Run the block as one attempt (an enclosing one, if any, goes on: nested blocks join it).

    A thread starts outside any attempt; an asyncio task inherits its
    creator's, so background work starts its tasks in a fresh context.
    ``background``: a new attempt is :attr:`Attempt.background`.
    """
    outer = _ATTEMPT.get()
    if outer is not None:
        yield outer
        return
    attempt = Attempt(background=background)
    token = _ATTEMPT.set(attempt)
    try:
        yield attempt
    finally:
        _ATTEMPT.reset(token)


@dataclass(frozen=True)
class Claim:
    """Ask :meth:`CacheBackend.get_entry` to take a lock when an entry nears expiry.

    The lock ``key`` is added (only if absent) with ``token`` for ``timeout``
    seconds when the entry exists and has at most ``when_ttl_below`` seconds
    left to live. As with :meth:`CacheBackend.lease`, a network engine takes
    no lock for a read whose caller already gave up (issue 4).
    """

    key: str
    token: str
    timeout: float
    when_ttl_below: float


def check_claim(claim: object) -> Claim | None:
    """Return ``claim`` (None or a valid :class:`Claim`), else raise naming the field at fault."""
    if claim is None:
        return None
    if not isinstance(claim, Claim):
        raise CacheTypeError(
            f"claim must be a Claim(key, token, timeout, when_ttl_below) or None, "
            f"got {type(claim).__name__}"
        )
    check_key(claim.key, "claim.key")
    check_seconds(claim.timeout, "claim.timeout", allow_zero=False)
    check_seconds(claim.when_ttl_below, "claim.when_ttl_below", allow_zero=True)
    return claim


def check_lease(key: object, token: object, timeout: object) -> tuple[str, str, float]:
    """Return the arguments of ``CacheBackend.lease`` checked, else raise naming the bad one."""
    return (
        check_key(key),
        check_key(token, "token"),
        check_seconds(timeout, "timeout", allow_zero=False),
    )


class LostLeases:
    """Tokens of leases nobody holds, though their lock may still be in the backend.

    A holder whose release could not be confirmed (the server down, hung,
    restarting with its data) or a caller whose lease request timed out (a
    paused server applies it when it resumes) adds its token: a waiter of this
    process that finds the lock under such a token removes it at once instead
    of waiting for the lease to run out (and the process gives the lease back
    in the background, for the waiters of other processes). Bounded: the
    oldest tokens go first. A forked child keeps the tokens: nobody holds
    those leases there either.
    """

    def __init__(self, size: int = 16_384) -> None:
        self.size = size
        self._tokens: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        # A thread of the parent may hold the lock at the fork: the child's is new.
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._lock = threading.Lock()

    def add(self, token: str) -> None:
        """Note that nobody holds the lease of ``token``."""
        with self._lock:
            self._tokens[token] = None
            while len(self._tokens) > self.size:
                self._tokens.popitem(last=False)

    def discard(self, token: str) -> None:
        """Forget ``token`` (its lock is gone)."""
        with self._lock:
            self._tokens.pop(token, None)

    def __contains__(self, token: object) -> bool:
        return token in self._tokens


#: The process's lost leases (fill locks, refresh locks).
LOST_LEASES = LostLeases()
