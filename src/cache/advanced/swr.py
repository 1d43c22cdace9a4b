"""StaleWhileRevalidateCache: serve stale values at once while one refresh runs.

Fresh for ``timeout`` seconds, then served stale for ``stale_timeout`` more
while one background refresh runs per key (a lock in the backend); past both
it is regenerated in the caller; a failed refresh keeps the stale value.
Concurrent callers of a missing key share one generator run and its
exception; one that came during a run shares the next, so that no value read
before an invalidation reaches a caller that came after it (issue 11).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cache._clock import Clock
from cache._types import Duration
from cache.advanced import keyguard
from cache.advanced._oversize import uncached_if_too_large
from cache.advanced._refresher import Refresher
from cache.advanced._releaser import agive_back, claiming, give_back
from cache.advanced.coordination import AsyncSingleFlight, FillLock, SingleFlight
from cache.advanced.envelope import Envelope
from cache.advanced.keyguard import guard_key, guard_tag
from cache.advanced.statistics import NULL_RECORDER, StatsRecorder
from cache.advanced.tags import CacheTag, check_tags
from cache.backend.base import CacheBackend, Claim, Entry, one_attempt
from cache.backend.validation import MAX_KEY_LENGTH, check_key, check_seconds, reserved_key
from cache.errors import CacheTypeError

__all__ = ["StaleWhileRevalidateCache"]

log = logging.getLogger(__name__)

#: Longest key: its refresh lock is ``__cache__:swr:<key>`` (issue 9).
_MAX_KEY = MAX_KEY_LENGTH - len(reserved_key("swr", ""))


@dataclass(frozen=True, slots=True)
class _Look:
    """What one read found, and what the caller does about it (sync or async alike)."""

    env: Envelope | None  # the value to serve; None: a miss
    stale: bool = False
    refresh: bool = False  # start a background refresh
    claimed: str | None = None  # the refresh lock the read took, handed to the refresh
    give_back: str | None = None  # a lock the read took but does not need


@dataclass(frozen=True, slots=True)
class _Job:
    """One key's generation: what to call, how long its result lives, what it is tagged."""

    key: str
    generator: Callable[[], Any]
    timeout: float
    stale_timeout: float
    tags: frozenset[str]
    store_if: Callable[[Any], bool] | None = None

    def keeps(self, value: Any) -> bool:
        """Return True if ``value`` is to be stored (``store_if`` says so, or is not set)."""
        return self.store_if is None or bool(self.store_if(value))


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
        self._refresher = Refresher(cache, self.lock_timeout, max_workers)
        self._flight = SingleFlight(fresh=True)
        self._aflight = AsyncSingleFlight(fresh=True)

    @staticmethod
    def _job(
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration,
        tags: Iterable[str] | None,
        store_if: Callable[[Any], bool] | None,
    ) -> _Job:
        """Validate the arguments of one call (naming the bad one) and bundle them."""
        if not callable(generator):
            raise CacheTypeError(f"generator must be callable, got {type(generator).__name__}")
        if store_if is not None and not callable(store_if):
            raise CacheTypeError(f"store_if must be callable, got {type(store_if).__name__}")
        return _Job(
            check_key(key, "key", _MAX_KEY),
            generator,
            check_seconds(timeout, "timeout", allow_zero=False),
            check_seconds(stale_timeout, "stale_timeout", allow_zero=True),
            check_tags(tags) if tags is not None else frozenset(),
            store_if,
        )

    def _read(self, entry: Entry) -> Envelope | None:
        """Return the usable envelope of an entry read with its refs (no further reads)."""
        env = Envelope.load(entry.value)
        if env is None or not self.tags.matches(env.tags, entry.refs):
            return None
        return env

    def _look(self, entry: Entry, claim: Claim | None) -> _Look:
        """Decide between a fresh hit, a stale hit with a refresh, and a miss."""
        now, env = self._clock(), self._read(entry)
        claimed = claim.token if claim is not None and entry.claimed else None
        if env is not None and env.is_servable(now) and not env.is_fresh(now):
            return _Look(env, stale=True, refresh=True, claimed=claimed)
        # A lock the read took but does not need (backend and clock disagree by a
        # hair, or the entry was invalidated) is given back: owed if that fails.
        if env is not None and env.is_fresh(now):
            return _Look(env, refresh=self._should_refresh_early(env, now), give_back=claimed)
        return _Look(None, give_back=claimed)

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

    def _entry(
        self, job: _Job, value: Any, versions: dict[str, str], started: float
    ) -> tuple[list[Any], float, list[str]]:
        """Return what ``set_entry`` stores for ``value``: data, lifetime and refs."""
        now, fresh = self._clock(), job.timeout
        env = Envelope(value, now + fresh, now + fresh + job.stale_timeout, versions, now - started)
        return env.dump(), fresh + job.stale_timeout, self.tags.refs(versions)

    # -- sync -----------------------------------------------------------------

    def get_with_swr(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration = 0,
        *,
        tags: Iterable[str] | None = None,
        store_if: Callable[[Any], bool] | None = None,
    ) -> tuple[Any, bool]:
        """Return ``(value, is_stale)``, refreshing in the background when stale.

        ``tags``: the entry is invalidated by ``CacheTag.invalidate_tag`` of any of them.
        ``store_if``: a generated value for which it returns False is returned
        but not stored (e.g. ``lambda v: v is not None``).
        """
        job = self._job(key, generator, timeout, stale_timeout, tags, store_if)
        with one_attempt():  # a failing server is waited for once in the whole read
            return self._get(job, time.perf_counter())

    def _get(self, job: _Job, started: float) -> tuple[Any, bool]:
        claim = self._claim_for(job.key, job.stale_timeout) if job.stale_timeout else None
        # Entry, tag versions and refresh lock: one read.
        with claiming(self.cache, claim):
            entry = self.cache.get_entry(job.key, claim)
        look = self._look(entry, claim)
        if look.give_back is not None:
            give_back(self.cache, self._lock_key(job.key), look.give_back, self.lock_timeout)
        if look.env is None:
            value = self._flight.do(job.key, lambda: self._fill(job))
            self.stats.record_miss(time.perf_counter() - started)
            return value, False
        if look.refresh:
            self._refresh_in_background(job, look.claimed, early=not look.stale)
        return self._served(look, started)

    def _served(self, look: _Look, started: float) -> tuple[Any, bool]:
        assert look.env is not None
        if look.stale:
            self.stats.record_stale()
        self.stats.record_hit(time.perf_counter() - started)
        return look.env.value, look.stale

    def _fill(self, job: _Job) -> Any:
        """Generate a missing value once across processes: take the lock, or wait for its holder."""
        fill = self._fill_lock(job.key)
        try:
            env = fill.acquire_or_wait()
            if env is not None:
                return env.value  # the holder stored it
            return self._generate(job)
        finally:
            fill.release()

    def _fill_lock(self, key: str) -> FillLock[Envelope]:
        # The refresh lock: a fill and a background refresh exclude each other.
        lock, wait = self._lock_key(key), self.lock_timeout
        return FillLock(self.cache, key, self._servable, wait, lock=lock, lock_timeout=wait)

    def _servable(self, entry: Entry) -> Envelope | None:
        env = self._read(entry)
        return env if env is not None and env.is_servable(self._clock()) else None

    def _generate(self, job: _Job) -> Any:
        # Versions are read before generating: an invalidation that lands while
        # the generator runs leaves the new entry already outdated, as it should.
        versions: dict[str, Any] = self.tags.get_versions(job.tags) if job.tags else {}
        versions[guard_tag(job.key)] = keyguard.current(self.cache, job.key, self._life(job))
        started = self._clock()
        value = job.generator()
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()  # never awaited: close it so Python does not warn
            raise CacheTypeError(
                "generator returned an awaitable: use aget_with_swr for async generators"
            )
        if job.keeps(value):
            with uncached_if_too_large(job.key):
                self.cache.set_entry(job.key, *self._entry(job, value, versions, started))
        return value

    def _refresh_in_background(self, job: _Job, claimed: str | None, early: bool) -> None:
        def refresh() -> None:
            try:
                # Double-check under the lock: a refresh that ended just before
                # the claim leaves the entry fresh, with nothing left to do.
                current = None if early else self._read(self.cache.get_entry(job.key))
                if current is not None and current.is_fresh(self._clock()):
                    return
                self._generate(job)
            except Exception:
                self._refresh_failed(job.key)

        self._refresher.start(self._lock_key(job.key), claimed, refresh)

    def _refresh_failed(self, key: str) -> None:
        """Log and count the failure of a background refresh (from its ``except`` block)."""
        log.warning("background refresh of %r failed; serving stale", key, exc_info=True)
        self.stats.record_error()

    def refresh(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration = 0,
        *,
        tags: Iterable[str] | None = None,
        store_if: Callable[[Any], bool] | None = None,
    ) -> Any:
        """Regenerate ``key`` now, in the caller, and return the new value."""
        return self._generate(self._job(key, generator, timeout, stale_timeout, tags, store_if))

    def invalidate(self, key: str, timeout: Duration, stale_timeout: Duration = 0) -> bool:
        """Remove ``key`` (written with these timeouts) for good; return True if it was stored."""
        job = self._job(key, lambda: None, timeout, stale_timeout, None, None)
        self.cache.set(guard_key(job.key), uuid.uuid4().hex, self._life(job))
        return self.cache.delete(key)

    async def ainvalidate(self, key: str, timeout: Duration, stale_timeout: Duration = 0) -> bool:
        """Async :meth:`invalidate`."""
        job = self._job(key, lambda: None, timeout, stale_timeout, None, None)
        await self.cache.aset(guard_key(job.key), uuid.uuid4().hex, self._life(job))
        return await self.cache.adelete(key)

    def _life(self, job: _Job) -> float:  # a guard's lifetime: past any entry recording it
        return job.timeout + job.stale_timeout + self.lock_timeout

    def wait(self, timeout: float | None = None) -> None:
        """Block until the background refreshes started so far have finished."""
        self._refresher.wait(timeout)

    def close(self) -> None:
        """Wait for running refreshes and stop the worker threads."""
        self._refresher.close()

    async def aget_with_swr(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration = 0,
        *,
        tags: Iterable[str] | None = None,
        store_if: Callable[[Any], bool] | None = None,
    ) -> tuple[Any, bool]:
        """Async :meth:`get_with_swr`; ``generator`` may be async or plain (run in a thread)."""
        job = self._job(key, generator, timeout, stale_timeout, tags, store_if)
        with one_attempt():
            return await self._aget(job, time.perf_counter())

    async def _aget(self, job: _Job, started: float) -> tuple[Any, bool]:
        claim = self._claim_for(job.key, job.stale_timeout) if job.stale_timeout else None
        with claiming(self.cache, claim):  # lost if the read fails or is cancelled
            entry = await self.cache.aget_entry(job.key, claim)
        look = self._look(entry, claim)
        if look.give_back is not None:
            await agive_back(self.cache, self._lock_key(job.key), look.give_back, self.lock_timeout)
        if look.env is None:
            value = await self._aflight.do(job.key, lambda: self._afill(job))
            self.stats.record_miss(time.perf_counter() - started)
            return value, False
        if look.refresh:
            await self._arefresh_in_background(job, look.claimed, early=not look.stale)
        return self._served(look, started)

    async def arefresh(
        self,
        key: str,
        generator: Callable[[], Any],
        timeout: Duration,
        stale_timeout: Duration = 0,
        *,
        tags: Iterable[str] | None = None,
        store_if: Callable[[Any], bool] | None = None,
    ) -> Any:
        """Async :meth:`refresh`; ``generator`` may be async or plain (run in a thread)."""
        job = self._job(key, generator, timeout, stale_timeout, tags, store_if)
        return await self._agenerate(job)

    async def _afill(self, job: _Job) -> Any:
        """Async :meth:`_fill`."""
        fill = self._fill_lock(job.key)
        try:
            env = await fill.aacquire_or_wait()
            if env is not None:
                return env.value
            return await self._agenerate(job)
        finally:
            await fill.arelease()

    async def _agenerate(self, job: _Job) -> Any:
        versions: dict[str, Any] = await self.tags.aget_versions(job.tags) if job.tags else {}
        versions[guard_tag(job.key)] = await keyguard.acurrent(self.cache, job.key, self._life(job))
        started = self._clock()
        if inspect.iscoroutinefunction(job.generator):
            value = await job.generator()
        else:
            value = await asyncio.to_thread(job.generator)
            if inspect.isawaitable(value):
                value = await value
        if job.keeps(value):
            with uncached_if_too_large(job.key):
                await self.cache.aset_entry(job.key, *self._entry(job, value, versions, started))
        return value

    async def _arefresh_in_background(self, job: _Job, claimed: str | None, early: bool) -> None:
        async def refresh() -> None:
            try:
                current = None if early else self._read(await self.cache.aget_entry(job.key))
                if current is not None and current.is_fresh(self._clock()):
                    return
                await self._agenerate(job)
            except Exception:
                self._refresh_failed(job.key)

        await self._refresher.astart(self._lock_key(job.key), claimed, refresh)

    async def await_refreshes(self) -> None:
        """Wait for the background refreshes started from this event loop."""
        await self._refresher.await_refreshes()
