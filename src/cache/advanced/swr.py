"""StaleWhileRevalidateCache: serve stale values at once while one refresh runs.

An entry is fresh for ``timeout`` seconds, then served stale for
``stale_timeout`` more while exactly one background refresh runs per key (a
lock in the backend, so one across processes too); past both it is
regenerated in the caller. Concurrent callers of a missing key share one
generator run, and its exception if it fails. A failed refresh keeps the stale
value, is logged and counted as an error.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cache._clock import Clock
from cache._types import Duration
from cache.advanced._envelope import Envelope
from cache.advanced._fill import FillLock
from cache.advanced._singleflight import AsyncSingleFlight, SingleFlight
from cache.advanced.statistics import NULL_RECORDER, StatsRecorder
from cache.advanced.tags import CacheTag, check_tags
from cache.backend._keys import check_key, check_seconds, reserved_key
from cache.backend.base import CacheBackend, Claim, Entry
from cache.errors import CacheTypeError

__all__ = ["StaleWhileRevalidateCache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Look:
    """What one read found, and what the caller does about it (sync or async alike)."""

    env: Envelope | None  # the value to serve; None: a miss
    stale: bool = False
    refresh: bool = False  # start a background refresh
    claimed: str | None = None  # the refresh lock the read took, handed to the refresh
    give_back: str | None = None  # a lock the read took but does not need


class StaleWhileRevalidateCache:
    """Stale-while-revalidate reads over any backend.

    Args:
        cache: The backend.
        tag_manager: Checks tag versions of entries written with ``tags=``;
            defaults to a ``CacheTag`` over ``cache``.
        stats: Where hits, misses, stale serves and refresh errors are recorded.
        clock: Wall-clock seconds (deadlines are shared between processes).
        lock_timeout: Seconds a refresh lock lives if its holder dies.
        early_refresh_beta: If above 0, refresh a fresh entry early with the
            probability of XFetch (Vattani et al., VLDB 2015): entries whose
            generator is slow start refreshing sooner. 1.0 is the usual value.
        max_workers: Threads running background refreshes of plain generators.
    """

    def __init__(
        self,
        cache: CacheBackend,
        *,
        tag_manager: CacheTag | None = None,
        stats: StatsRecorder = NULL_RECORDER,
        clock: Clock = time.time,
        lock_timeout: float = 30.0,
        early_refresh_beta: float = 0.0,
        max_workers: int = 4,
    ) -> None:
        self.cache = cache
        self.tags = tag_manager or CacheTag(cache)
        self.stats = stats
        self._clock = clock
        self.lock_timeout = check_seconds(lock_timeout, "lock_timeout", allow_zero=False)
        self.early_refresh_beta = check_seconds(
            early_refresh_beta, "early_refresh_beta", allow_zero=True
        )
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="cache-swr")
        self._flight = SingleFlight()
        self._aflight = AsyncSingleFlight()
        self._refreshing: set[str] = set()
        self._refreshing_lock = threading.Lock()
        self._futures: set[Future[Any]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- shared helpers -------------------------------------------------------

    @staticmethod
    def _check(
        key: str, generator: object, timeout: Duration, stale_timeout: Duration, tags: object
    ) -> tuple[str, float, float, frozenset[str]]:
        key = check_key(key)
        if not callable(generator):
            raise CacheTypeError(f"generator must be callable, got {type(generator).__name__}")
        return (
            key,
            check_seconds(timeout, "timeout", allow_zero=False),
            check_seconds(stale_timeout, "stale_timeout", allow_zero=True),
            check_tags(tags) if tags is not None else frozenset(),
        )

    def _read(self, entry: Entry) -> Envelope | None:
        """Return the usable envelope of an entry read with its refs (no further reads)."""
        env = Envelope.load(entry.value)
        if env is None or not self.tags.matches(env.tags, entry.refs):
            return None
        return env

    def _look(self, entry: Entry, claim: Claim | None) -> _Look:
        """Decide between a fresh hit, a stale hit with a refresh, and a miss."""
        now = self._clock()
        env = self._read(entry)
        claimed = claim.token if claim is not None and entry.claimed else None
        if env is not None and env.is_fresh(now):
            # A lock taken here means backend and clock disagree by a hair: give it back.
            return _Look(env, refresh=self._should_refresh_early(env, now), give_back=claimed)
        if env is not None and env.is_servable(now):
            return _Look(env, stale=True, refresh=True, claimed=claimed)
        return _Look(None)

    def _claim_for(self, key: str, stale_timeout: float) -> Claim:
        # The backend keeps the entry timeout + stale_timeout: with at most
        # stale_timeout left it is stale, and the read claims the refresh.
        return Claim(self._lock_key(key), uuid.uuid4().hex, self.lock_timeout, stale_timeout)

    def _should_refresh_early(self, env: Envelope, now: float) -> bool:
        beta = self.early_refresh_beta
        if beta <= 0 or env.duration <= 0:
            return False
        # XFetch: refresh when now - duration * beta * ln(U) passes the deadline.
        return now - env.duration * beta * math.log(1.0 - random.random()) >= env.fresh_until

    def _lock_key(self, key: str) -> str:
        return reserved_key("swr", key)

    def _claim_here(self, key: str, claimed: str | None) -> bool:
        """Claim the refresh of ``key`` in this process; False if one already runs here.

        ``claimed``: the token of a lock the read already took in the backend.
        The backend lock is the authority: its holder always refreshes. The
        in-process set only saves readers without it a round trip.
        """
        with self._refreshing_lock:
            if claimed is None and key in self._refreshing:
                return False
            self._refreshing.add(key)
            return True

    def _unclaim_here(self, key: str) -> None:
        with self._refreshing_lock:
            self._refreshing.discard(key)

    def _claim(self, key: str, claimed: str | None = None) -> str | None:
        """Claim the refresh of ``key`` in this process and in the backend; return a token."""
        if not self._claim_here(key, claimed):
            return None
        if claimed is not None:
            return claimed
        token = uuid.uuid4().hex
        if self.cache.add(self._lock_key(key), token, self.lock_timeout):
            return token
        self._unclaim_here(key)
        return None

    async def _aclaim(self, key: str, claimed: str | None = None) -> str | None:
        """Async :meth:`_claim`."""
        if not self._claim_here(key, claimed):
            return None
        if claimed is not None:
            return claimed
        token = uuid.uuid4().hex
        if await self.cache.aadd(self._lock_key(key), token, self.lock_timeout):
            return token
        self._unclaim_here(key)
        return None

    def _release(self, key: str, token: str) -> None:
        self.cache.delete_if_equals(self._lock_key(key), token)
        self._unclaim_here(key)

    def _envelope(
        self,
        value: Any,
        versions: dict[str, str],
        started: float,
        timeout: float,
        stale_timeout: float,
    ) -> Envelope:
        now = self._clock()
        return Envelope(
            value, now + timeout, now + timeout + stale_timeout, versions, now - started
        )

    def _store(
        self,
        key: str,
        value: Any,
        versions: dict[str, str],
        started: float,
        timeout: float,
        stale_timeout: float,
    ) -> None:
        env = self._envelope(value, versions, started, timeout, stale_timeout)
        self.cache.set_entry(key, env.dump(), timeout + stale_timeout, self.tags.refs(versions))

    # -- sync -----------------------------------------------------------------

    def get_with_swr(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration = 0,
        *,
        tags: Iterable[str] | None = None,
    ) -> tuple[Any, bool]:
        """Return ``(value, is_stale)``, refreshing in the background when stale.

        ``tags``: the entry is invalidated by ``CacheTag.invalidate_tag`` of any of them.
        """
        key, timeout, stale_timeout, names = self._check(
            key, generator, timeout, stale_timeout, tags
        )
        started = time.perf_counter()
        claim = self._claim_for(key, stale_timeout) if stale_timeout else None
        # Entry, tag versions and refresh lock: one read.
        look = self._look(self.cache.get_entry(key, claim), claim)
        if look.env is None:
            value = self._flight.do(
                key, lambda: self._fill(key, generator, timeout, stale_timeout, names)
            )
            self.stats.record_miss(time.perf_counter() - started)
            return value, False
        if look.give_back is not None:
            self.cache.delete_if_equals(self._lock_key(key), look.give_back)
        if look.refresh:
            self._refresh_in_background(
                key, generator, timeout, stale_timeout, names, look.claimed, early=not look.stale
            )
        return self._served(look, started)

    def _served(self, look: _Look, started: float) -> tuple[Any, bool]:
        assert look.env is not None
        if look.stale:
            self.stats.record_stale()
        self.stats.record_hit(time.perf_counter() - started)
        return look.env.value, look.stale

    def _fill(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: float,
        stale_timeout: float,
        tags: frozenset[str],
    ) -> Any:
        """Generate a missing value once across processes: take the lock, or wait for its holder."""
        fill = self._fill_lock(key)
        try:
            env = fill.acquire_or_wait()
            if env is not None:
                return env.value  # the holder stored it
            return self._generate(key, generator, timeout, stale_timeout, tags)
        finally:
            fill.release()

    def _fill_lock(self, key: str) -> FillLock[Envelope]:
        # The refresh lock: a fill and a background refresh exclude each other.
        return FillLock(
            self.cache,
            key,
            self._servable,
            self.lock_timeout,
            lock=self._lock_key(key),
            lock_timeout=self.lock_timeout,
        )

    def _servable(self, entry: Entry) -> Envelope | None:
        env = self._read(entry)
        return env if env is not None and env.is_servable(self._clock()) else None

    def _generate(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: float,
        stale_timeout: float,
        tags: frozenset[str],
    ) -> Any:
        # Versions are read before generating: an invalidation that lands while
        # the generator runs leaves the new entry already outdated, as it should.
        versions = self.tags.get_versions(tags) if tags else {}
        started = self._clock()
        value = generator()
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()  # never awaited: close it so Python does not warn
            raise CacheTypeError(
                "generator returned an awaitable: use aget_with_swr for async generators"
            )
        self._store(key, value, versions, started, timeout, stale_timeout)
        return value

    def _refresh_in_background(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: float,
        stale_timeout: float,
        tags: frozenset[str],
        claimed: str | None = None,
        early: bool = False,
    ) -> None:
        token = self._claim(key, claimed)
        if token is None:
            return

        def refresh() -> None:
            try:
                # Double-check under the lock: a refresh that ended just before
                # the claim leaves the entry fresh, with nothing left to do.
                current = None if early else self._read(self.cache.get_entry(key))
                if current is not None and current.is_fresh(self._clock()):
                    return
                self._generate(key, generator, timeout, stale_timeout, tags)
            except Exception:
                log.warning("background refresh of %r failed; serving stale", key, exc_info=True)
                self.stats.record_error()
            finally:
                self._release(key, token)

        future = self._executor.submit(refresh)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def refresh(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration = 0,
        *,
        tags: Iterable[str] | None = None,
    ) -> Any:
        """Regenerate ``key`` now, in the caller, and return the new value."""
        key, timeout, stale_timeout, names = self._check(
            key, generator, timeout, stale_timeout, tags
        )
        return self._generate(key, generator, timeout, stale_timeout, names)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the background refreshes started so far have finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for future in list(self._futures):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            future.exception(remaining)

    def close(self) -> None:
        """Wait for running refreshes and stop the worker threads."""
        self._executor.shutdown(wait=True)

    # -- async ----------------------------------------------------------------

    async def aget_with_swr(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration = 0,
        *,
        tags: Iterable[str] | None = None,
    ) -> tuple[Any, bool]:
        """Async :meth:`get_with_swr`; ``generator`` may be async or plain (run in a thread)."""
        key, timeout, stale_timeout, names = self._check(
            key, generator, timeout, stale_timeout, tags
        )
        started = time.perf_counter()
        claim = self._claim_for(key, stale_timeout) if stale_timeout else None
        look = self._look(await self.cache.aget_entry(key, claim), claim)
        if look.env is None:
            value = await self._aflight.do(
                key, lambda: self._afill(key, generator, timeout, stale_timeout, names)
            )
            self.stats.record_miss(time.perf_counter() - started)
            return value, False
        if look.give_back is not None:
            await self.cache.adelete_if_equals(self._lock_key(key), look.give_back)
        if look.refresh:
            await self._arefresh_in_background(
                key, generator, timeout, stale_timeout, names, look.claimed, early=not look.stale
            )
        return self._served(look, started)

    async def arefresh(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration = 0,
        *,
        tags: Iterable[str] | None = None,
    ) -> Any:
        """Async :meth:`refresh`; ``generator`` may be async or plain (run in a thread)."""
        key, timeout, stale_timeout, names = self._check(
            key, generator, timeout, stale_timeout, tags
        )
        return await self._agenerate(key, generator, timeout, stale_timeout, names)

    async def _afill(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: float,
        stale_timeout: float,
        tags: frozenset[str],
    ) -> Any:
        """Async :meth:`_fill`."""
        fill = self._fill_lock(key)
        try:
            env = await fill.aacquire_or_wait()
            if env is not None:
                return env.value
            return await self._agenerate(key, generator, timeout, stale_timeout, tags)
        finally:
            await fill.arelease()

    async def _agenerate(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: float,
        stale_timeout: float,
        tags: frozenset[str],
    ) -> Any:
        versions = await self.tags.aget_versions(tags) if tags else {}
        started = self._clock()
        if inspect.iscoroutinefunction(generator):
            value = await generator()
        else:
            value = await asyncio.to_thread(generator)
            if inspect.isawaitable(value):
                value = await value
        env = self._envelope(value, versions, started, timeout, stale_timeout)
        await self.cache.aset_entry(
            key, env.dump(), timeout + stale_timeout, self.tags.refs(versions)
        )
        return value

    async def _arefresh_in_background(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: float,
        stale_timeout: float,
        tags: frozenset[str],
        claimed: str | None = None,
        early: bool = False,
    ) -> None:
        token = await self._aclaim(key, claimed)
        if token is None:
            return

        async def refresh() -> None:
            try:
                current = None if early else self._read(await self.cache.aget_entry(key))
                if current is not None and current.is_fresh(self._clock()):
                    return
                await self._agenerate(key, generator, timeout, stale_timeout, tags)
            except Exception:
                log.warning("background refresh of %r failed; serving stale", key, exc_info=True)
                self.stats.record_error()
            finally:
                await self.cache.adelete_if_equals(self._lock_key(key), token)
                self._unclaim_here(key)

        task = asyncio.get_running_loop().create_task(refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def await_refreshes(self) -> None:
        """Wait for the background refreshes started from this event loop."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
