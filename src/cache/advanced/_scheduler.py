"""Cron schedules, per-tick claims, and the loop that runs a warmer in the background.

Cron expressions are parsed by cronsim: strict five-field syntax, no
dependencies, maintained with the Healthchecks.io service that runs on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import threading
from collections.abc import Awaitable, Callable

from cronsim import CronSim, CronSimError

from cache.errors import CacheTypeError, CacheValueError

__all__ = ["BackgroundLoop", "Schedule"]


class Schedule:
    """A five-field cron expression evaluated in one time zone."""

    def __init__(self, expression: str, tz: datetime.tzinfo) -> None:
        if not isinstance(expression, str):
            raise CacheTypeError(
                f"schedule must be a cron expression string, got {type(expression).__name__}"
            )
        fields = expression.split()
        if len(fields) != 5:
            raise CacheValueError(
                f"schedule {expression!r} must have 5 fields (minute hour day month weekday), "
                f"e.g. '0 * * * *' for every hour; it has {len(fields)}"
            )
        self.expression = " ".join(fields)
        self.tz = tz
        try:
            CronSim(self.expression, datetime.datetime.now(tz))
        except CronSimError as exc:
            raise CacheValueError(f"schedule {expression!r} is not valid cron: {exc}") from None

    def next_after(self, timestamp: float) -> float:
        """Return the first tick strictly after ``timestamp`` (epoch seconds)."""
        start = datetime.datetime.fromtimestamp(timestamp, self.tz)
        return next(CronSim(self.expression, start)).timestamp()


class BackgroundLoop:
    """Run ``tick()`` repeatedly, sleeping what it returns, in a task or a thread.

    ``start()`` inside a running event loop creates a task there; elsewhere it
    starts a daemon thread with an event loop of its own.
    """

    def __init__(self, tick: Callable[[], Awaitable[float]], name: str) -> None:
        self._tick = tick
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        """True while the loop runs."""
        return (self._task is not None and not self._task.done()) or (
            self._thread is not None and self._thread.is_alive()
        )

    async def _run(self) -> None:
        while not self._stop.is_set():
            delay = await self._tick()
            # Sleep in short steps so that a stop from another thread is seen soon.
            slept = 0.0
            while slept < delay and not self._stop.is_set():
                step = min(0.25, delay - slept)
                await asyncio.sleep(step)
                slept += step

    def start(self) -> None:
        """Start the loop (a no-op if it already runs)."""
        if self.running:
            return
        self._stop.clear()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._thread = threading.Thread(
                target=lambda: asyncio.run(self._run()), name=self._name, daemon=True
            )
            self._thread.start()
        else:
            self._task = loop.create_task(self._run(), name=self._name)

    def stop(self) -> None:
        """Ask the loop to stop; a task is cancelled, a thread ends after its current tick."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()

    async def wait_stopped(self) -> None:
        """Wait until a stopped loop has ended."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
