"""CacheWarmer: pre-populate keys, on demand or on a cron schedule.

Generators may be plain functions (run in a worker thread, so the event loop
never blocks) or ``async`` functions. A failing generator never stops the
others and never removes the value already cached; its error shows in
:meth:`CacheWarmer.get_warming_status`. When several processes share a backend
and run the same schedule, each scheduled tick of a key is claimed with
``add`` so that one of them warms it.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from cache._clock import Clock
from cache.advanced._scheduler import BackgroundLoop, Schedule
from cache.advanced.statistics import NULL_RECORDER, StatsRecorder
from cache.backend.base import CacheBackend, check_backend
from cache.backend.validation import MAX_KEY_LENGTH, check_key, reserved_key, resolve_timeout
from cache.errors import CacheTypeError, CacheValueError, UnknownWarmingTaskError

__all__ = ["CacheWarmer", "WarmingStatus"]

log = logging.getLogger(__name__)

#: Longest pause of the background loop between two looks at the schedule.
_MAX_SLEEP = 60.0
#: Longest scheduled key: each tick is claimed under ``__cache__:warm:<key>:<tick>`` (issue 9).
_MAX_SCHEDULED_KEY = MAX_KEY_LENGTH - len(reserved_key("warm", "", "9" * 12))


@dataclass
class WarmingStatus:
    """What is known of one warming task (times are epoch seconds)."""

    state: str = "idle"  # idle | running | ok | failed
    last_run: float | None = None
    last_success: float | None = None
    duration: float | None = None
    runs: int = 0
    failures: int = 0
    last_error: str | None = None
    schedule: str | None = None
    next_run: float | None = None
    #: Scheduled ticks another process claimed first (it warmed them).
    skipped_ticks: int = 0


@dataclass
class _Task:
    key: str
    generator: Callable[[], Any]
    timeout: float | int | datetime.timedelta | None
    schedule: Schedule | None
    status: WarmingStatus


class CacheWarmer:
    """Registered warming tasks, run together, one by one, or on their schedules.

    Args:
        cache: The backend to warm.
        max_concurrency: Generators running at once in ``warm_cache()``.
        stats: Records a set per warmed key and an error per failure.
        clock: Wall-clock seconds; cron ticks are computed from it.
        timezone: Zone the cron expressions are read in (default UTC).
    """

    def __init__(
        self,
        cache: CacheBackend,
        *,
        max_concurrency: int = 4,
        stats: StatsRecorder = NULL_RECORDER,
        clock: Clock = time.time,
        timezone: datetime.tzinfo = datetime.timezone.utc,
    ) -> None:
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise CacheTypeError(
                f"max_concurrency must be an int, got {type(max_concurrency).__name__}"
            )
        if max_concurrency < 1:
            raise CacheValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if not isinstance(timezone, datetime.tzinfo):
            raise CacheTypeError(
                f"timezone must be a datetime.tzinfo, e.g. zoneinfo.ZoneInfo('Europe/Paris'), "
                f"got {type(timezone).__name__} {timezone!r:.60}"
            )
        self.cache = check_backend(cache)
        self.max_concurrency = max_concurrency
        self.stats = stats
        self._clock = clock
        self.timezone = timezone
        self._tasks: dict[str, _Task] = {}
        self._loop = BackgroundLoop(self._tick, name="cache-warmer")
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    # -- registration -------------------------------------------------------------

    def register_warming_task(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: float | int | datetime.timedelta | None = None,
        schedule: str | None = None,
    ) -> None:
        """Register (or replace) the task that warms ``key``.

        ``schedule`` is a five-field cron expression (``"0 * * * *"``: hourly);
        a bad one raises ``ValueError`` here, not later.
        """
        key = check_key(key, "key", MAX_KEY_LENGTH if schedule is None else _MAX_SCHEDULED_KEY)
        if not callable(generator):
            raise CacheTypeError(f"generator must be callable, got {type(generator).__name__}")
        ttl = resolve_timeout(timeout, None)
        if ttl is not None and ttl <= 0:
            raise CacheValueError(f"timeout of a warming task must be positive, got {timeout!r}")
        parsed = Schedule(schedule, self.timezone) if schedule is not None else None
        status = WarmingStatus(schedule=parsed.expression if parsed else None)
        if parsed is not None:
            status.next_run = parsed.next_after(self._clock())
        self._tasks[key] = _Task(key, generator, timeout, parsed, status)

    def unregister_warming_task(self, key: str) -> None:
        """Forget the task of ``key``."""
        self._task(key)
        del self._tasks[key]

    @property
    def keys(self) -> list[str]:
        """The keys with a registered task."""
        return list(self._tasks)

    def _task(self, key: str) -> _Task:
        try:
            return self._tasks[key]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._tasks)) or "none"
            raise UnknownWarmingTaskError(
                f"no warming task for key {key!r}; registered: {known}"
            ) from None

    # -- running ------------------------------------------------------------------

    async def _run(self, task: _Task, gate: asyncio.Semaphore) -> dict[str, Any]:
        async with gate:
            status = task.status
            status.state = "running"
            started = self._clock()
            clock_start = time.perf_counter()
            status.last_run = started
            status.runs += 1
            try:
                if inspect.iscoroutinefunction(task.generator):
                    value = await task.generator()
                else:
                    value = await asyncio.to_thread(task.generator)
                    if inspect.isawaitable(value):
                        value = await value
                await self.cache.aset(task.key, value, task.timeout)
            except Exception as exc:
                status.duration = time.perf_counter() - clock_start
                status.state = "failed"
                status.failures += 1
                status.last_error = f"{type(exc).__name__}: {exc}"
                self.stats.record_error()
                log.warning("warming %r failed; the cached value is kept", task.key, exc_info=True)
                return {"ok": False, "duration": status.duration, "error": status.last_error}
            status.duration = time.perf_counter() - clock_start
            status.state = "ok"
            status.last_success = started
            status.last_error = None
            self.stats.record_set()
            return {"ok": True, "duration": status.duration, "error": None}

    async def warm_cache(self, key: str | None = None) -> dict[str, dict[str, Any]]:
        """Warm every task (concurrently, bounded), or the one of ``key``.

        Returns ``{key: {"ok": bool, "duration": seconds, "error": str | None}}``;
        a failing generator is reported there, never raised. An unknown ``key``
        raises ``UnknownWarmingTaskError`` (a ``LookupError``).
        """
        tasks = [self._task(key)] if key is not None else list(self._tasks.values())
        return await self._run_all(tasks)

    async def _run_all(self, tasks: list[_Task]) -> dict[str, dict[str, Any]]:
        gate = asyncio.Semaphore(self.max_concurrency)
        results = await asyncio.gather(*(self._run(t, gate) for t in tasks))
        return {t.key: r for t, r in zip(tasks, results, strict=True)}

    def get_warming_status(self) -> dict[str, dict[str, Any]]:
        """Return, per key: state, last run, duration, runs, failures, last error, next run."""
        return {key: asdict(task.status) for key, task in self._tasks.items()}

    # -- schedule ---------------------------------------------------------------

    def _claim_key(self, key: str, tick: float) -> str:
        return reserved_key("warm", key, str(int(tick)))

    async def run_pending(self) -> dict[str, dict[str, Any]]:
        """Warm the scheduled tasks whose tick has come; return what ran.

        Each tick is claimed in the backend first, so that of several
        processes running the same schedule one warms it. Missed ticks are not
        replayed: the next run is the first tick after now.
        """
        now = self._clock()
        due: list[_Task] = []
        for task in self._tasks.values():
            status, schedule = task.status, task.schedule
            if schedule is None or status.next_run is None or status.next_run > now:
                continue
            tick = status.next_run
            status.next_run = schedule.next_after(now)
            claim_ttl = max(1.0, status.next_run - now)
            if await self.cache.aadd(self._claim_key(task.key, tick), self.worker_id, claim_ttl):
                due.append(task)
            else:
                status.skipped_ticks += 1
        return await self._run_all(due) if due else {}

    def seconds_until_next_run(self) -> float:
        """Return seconds until the earliest scheduled tick (inf if none)."""
        ticks = [t.status.next_run for t in self._tasks.values() if t.status.next_run is not None]
        return max(0.0, min(ticks) - self._clock()) if ticks else math.inf

    async def _tick(self) -> float:
        try:
            await self.run_pending()
        except Exception:  # a backend outage must not kill the schedule
            log.exception("scheduled warming failed")
        return min(_MAX_SLEEP, self.seconds_until_next_run())

    def start(self) -> None:
        """Run the schedule in the background (a task in a running loop, else a thread)."""
        self._loop.start()

    def stop(self) -> None:
        """Stop the background schedule."""
        self._loop.stop()

    @property
    def running(self) -> bool:
        """True while the background schedule runs."""
        return self._loop.running

    async def __aenter__(self) -> CacheWarmer:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        await self._loop.wait_stopped()
