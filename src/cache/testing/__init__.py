"""Helpers for testing code that uses the cache.

``FakeClock`` needs nothing beyond the package; the backend contract suite,
which needs pytest, lives in ``cache.testing.contract``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that moves only when told to; thread-safe.

    Pass it as ``clock=`` to engines and features, then ``advance()`` it
    instead of sleeping.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._listeners: list[Callable[[float], None]] = []

    def __call__(self) -> float:
        """Return the current fake time in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, then tell the listeners."""
        with self._lock:
            self._now += seconds
        for listener in self._listeners:
            listener(seconds)

    def on_advance(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(seconds)`` after every advance.

        Lets time move for what the clock cannot drive, such as TTLs kept by
        a Redis server (the test suite shortens them by the same amount).
        """
        self._listeners.append(listener)
