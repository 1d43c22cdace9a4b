"""One generator run per key at a time, shared by every concurrent caller.

Threads and asyncio each get their own: a waiting thread blocks on an Event, a
waiting task awaits a Future. Either way every waiter receives the leader's
value, or the leader's exception.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["AsyncSingleFlight", "SingleFlight"]


class _Call:
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class SingleFlight:
    """Run ``fn`` once per key among concurrent threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}

    def do(self, key: str, fn: Callable[[], Any]) -> Any:
        """Return ``fn()``, or the result of the run already under way for ``key``."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.value
        try:
            call.value = fn()
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
        return call.value


class AsyncSingleFlight:
    """Await ``fn()`` once per key among concurrent tasks of one event loop."""

    def __init__(self) -> None:
        self._calls: dict[str, asyncio.Future[Any]] = {}

    async def do(self, key: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Return ``await fn()``, or the result of the run already under way for ``key``."""
        running = self._calls.get(key)
        if running is not None:
            # shield: a cancelled waiter must not cancel the leader's run.
            return await asyncio.shield(running)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[key] = future
        try:
            value = await fn()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # mark retrieved: waiters, if any, re-raise it
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._calls[key]
