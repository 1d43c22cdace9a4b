"""The operations of the load: plain keys, tagged content, stale-while-revalidate, ``@cached``.

Every item has one owner (a worker), which writes it and invalidates it one
step at a time; every worker reads every item. Four kinds of item:

- ``kv``: ``set`` a new value; invalidate with ``delete``.
- ``doc``: ``ContentTypeCacheManager.cache_content`` with a tag per item;
  invalidate with ``CacheTag.invalidate_tag``; read with ``get_cached_content``.
- ``swr``: a source the generator of ``get_with_swr`` reads; the owner
  updates the source, then invalidates the item's tag.
- ``memo``: a source a ``@cached`` function returns; the owner updates the
  source, then calls ``invalidate``.

An invalidation that returned records the highest sequence it removed; one
that raised ``BackendUnavailableError`` is counted apart.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cache import cached
from cache.advanced import CachePolicy, CacheTag, ContentTypeCacheManager, StaleWhileRevalidateCache
from cache.backend import CacheBackend
from cache.errors import BackendUnavailableError
from tests.faults.ledger import Ledger

KINDS = ("kv", "doc", "swr", "memo")
#: Kinds whose values come from a source the owner updates before invalidating.
SOURCES = ("swr", "memo")
#: Items of each kind.
ITEMS = 16
#: Seconds an SWR entry is fresh, then served stale while refreshed.
FRESH, STALE = 0.05, 1.0
#: Seconds an impatient async caller waits before giving up (cancelling its call).
PATIENCE = 0.1

_FAILED = object()


class Workloads:
    """The load's operations over one backend, sync and async."""

    def __init__(self, backend: CacheBackend, ledger: Ledger, workers: int) -> None:
        self.backend = backend
        self.ledger = ledger
        self.workers = workers
        self.tags = CacheTag(backend)
        self.manager = ContentTypeCacheManager(backend, tag_manager=self.tags)
        self.manager.register_policy("doc", CachePolicy(timeout=60, tags={"docs"}))
        self.swr = StaleWhileRevalidateCache(backend, tag_manager=self.tags)
        self.source = {
            f"{kind}/{i}": ledger.next_value(f"{kind}/{i}", -1)
            for kind in SOURCES
            for i in range(ITEMS)
        }

        @cached(timeout=60, key="memo:{item}", cache=backend)
        def memo(item: int) -> str:
            return self.source[f"memo/{item}"]

        @cached(timeout=60, key="memo:{item}", cache=backend)
        async def amemo(item: int) -> str:
            return self.source[f"memo/{item}"]

        self.memo, self.amemo = memo, amemo
        # The manager is sync: async workers call it on threads of their own, one
        # each, so that no call waits for a free thread (its time is the cache's).
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="faults-manager")

    def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def owned(self, worker: int) -> list[int]:
        """Return the items ``worker`` owns."""
        return [i for i in range(ITEMS) if i % self.workers == worker]

    def close(self) -> None:
        self.swr.close()
        self._pool.shutdown(wait=True)

    # -- sync -------------------------------------------------------------------

    def _run(self, worker: int, op: str, fn: Callable[[], Any], invalidation: bool = False) -> Any:
        start = self.ledger.started(worker, op)
        try:
            result = fn()
        except BackendUnavailableError as exc:
            end = self.ledger.finished(worker, op, start)
            if invalidation:
                self.ledger.raised_invalidation(op, start, end)
            else:
                self.ledger.error(op, exc)
            return _FAILED
        except Exception as exc:
            self.ledger.finished(worker, op, start)
            self.ledger.error(op, exc)
            return _FAILED
        return start, self.ledger.finished(worker, op, start), result

    def _reader(self, kind: str, i: int) -> Callable[[], Any]:
        if kind == "kv":
            return lambda: self.backend.get(f"kv:{i}")
        if kind == "doc":
            return lambda: self.manager.get_cached_content("doc", i)
        if kind == "swr":
            source = f"swr/{i}"
            return lambda: self.swr.get_with_swr(
                f"swr:{i}", lambda: self.source[source], FRESH, STALE, tags=[f"swr:{i}"]
            )[0]
        return lambda: self.memo(i)

    def read(self, worker: int, rng: random.Random) -> None:
        kind, i = rng.choice(KINDS), rng.randrange(ITEMS)
        done = self._run(worker, f"read {kind}", self._reader(kind, i))
        if done is not _FAILED:
            self.ledger.read(f"{kind}/{i}", done[0], done[2])

    def write(self, worker: int, kind: str, i: int) -> None:
        item = f"{kind}/{i}"
        if kind in SOURCES:
            self.source[item] = self.ledger.next_value(item, worker)
            self.invalidate(worker, kind, i)
            return
        value = self.ledger.next_value(item, worker)
        if kind == "kv":
            self._run(worker, "set", lambda: self.backend.set(f"kv:{i}", value, 60))
        else:
            self._run(
                worker,
                "cache_content",
                lambda: self.manager.cache_content("doc", i, value, extra_tags=[f"doc:{i}"]),
            )

    def _invalidator(self, kind: str, i: int) -> tuple[str, Callable[[], Any]]:
        if kind == "kv":
            return "delete", lambda: self.backend.delete(f"kv:{i}")
        if kind == "memo":
            return "memo.invalidate", lambda: self.memo.invalidate(i)
        return "invalidate_tag", lambda: self.tags.invalidate_tag(f"{kind}:{i}")

    def _floor(self, kind: str, i: int) -> int:
        """Return the highest sequence an invalidation of the item removes now.

        A source (``swr``, ``memo``) keeps its current value: regenerating
        yields it again, so only older ones are invalid.
        """
        seq = self.ledger.seq(f"{kind}/{i}")
        return seq - 1 if kind in SOURCES else seq

    def invalidate(self, worker: int, kind: str, i: int) -> None:
        item, floor = f"{kind}/{i}", self._floor(kind, i)
        op, fn = self._invalidator(kind, i)
        done = self._run(worker, op, fn, invalidation=True)
        if done is not _FAILED:
            self.ledger.invalidated(item, done[1], floor)

    def step(self, worker: int, rng: random.Random) -> None:
        """One operation: mostly reads; the owner of items also writes and invalidates."""
        owned = self.owned(worker)
        roll = rng.random()
        if roll < 0.6 or not owned:
            self.read(worker, rng)
        elif roll < 0.85:
            self.write(worker, rng.choice(KINDS), rng.choice(owned))
        else:
            self.invalidate(worker, rng.choice(KINDS), rng.choice(owned))

    # -- async ------------------------------------------------------------------

    async def _arun(
        self, worker: int, op: str, fn: Callable[[], Awaitable[Any]], invalidation: bool = False
    ) -> Any:
        start = self.ledger.started(worker, op)
        try:
            result = await fn()
        except BackendUnavailableError as exc:
            end = self.ledger.finished(worker, op, start)
            if invalidation:
                self.ledger.raised_invalidation(op, start, end)
            else:
                self.ledger.error(op, exc)
            return _FAILED
        except asyncio.TimeoutError:  # an impatient caller gave up: its own choice, not an error
            self.ledger.finished(worker, op, start)
            return _FAILED
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            # Task.cancelling() appeared in 3.11; before it, assume the cancel was ours.
            if task is None or getattr(task, "cancelling", lambda: 1)():
                raise  # this caller was cancelled: not something the library did
            self.ledger.finished(worker, op, start)
            self.ledger.error(op, exc)  # another caller's cancellation reached this one
            return _FAILED
        except Exception as exc:
            self.ledger.finished(worker, op, start)
            self.ledger.error(op, exc)
            return _FAILED
        return start, self.ledger.finished(worker, op, start), result

    def _areader(self, kind: str, i: int) -> Callable[[], Awaitable[Any]]:
        if kind == "kv":
            return lambda: self.backend.aget(f"kv:{i}")
        if kind == "doc":
            return lambda: self._in_thread(self.manager.get_cached_content, "doc", i)
        if kind == "swr":
            source = f"swr/{i}"

            async def generate() -> str:
                return self.source[source]

            async def swr() -> Any:
                found = await self.swr.aget_with_swr(
                    f"swr:{i}", generate, FRESH, STALE, tags=[f"swr:{i}"]
                )
                return found[0]

            return swr
        return lambda: self.amemo(i)

    async def aread(self, worker: int, rng: random.Random) -> None:
        kind, i = rng.choice(KINDS), rng.randrange(ITEMS)
        reader = self._areader(kind, i)
        if kind in ("swr", "memo") and rng.random() < 0.1:
            patient = reader

            def reader() -> Awaitable[Any]:
                return asyncio.wait_for(patient(), PATIENCE)

        done = await self._arun(worker, f"read {kind}", reader)
        if done is not _FAILED:
            self.ledger.read(f"{kind}/{i}", done[0], done[2])

    async def awrite(self, worker: int, kind: str, i: int) -> None:
        item = f"{kind}/{i}"
        if kind in SOURCES:
            self.source[item] = self.ledger.next_value(item, worker)
            await self.ainvalidate(worker, kind, i)
            return
        value = self.ledger.next_value(item, worker)
        if kind == "kv":
            await self._arun(worker, "set", lambda: self.backend.aset(f"kv:{i}", value, 60))
        else:
            await self._arun(
                worker,
                "cache_content",
                lambda: self._in_thread(self.manager.cache_content, "doc", i, value, [f"doc:{i}"]),
            )

    def _ainvalidator(self, kind: str, i: int) -> tuple[str, Callable[[], Awaitable[Any]]]:
        if kind == "kv":
            return "delete", lambda: self.backend.adelete(f"kv:{i}")
        if kind == "memo":
            return "memo.invalidate", lambda: self.amemo.ainvalidate(i)
        return "invalidate_tag", lambda: self.tags.ainvalidate_tag(f"{kind}:{i}")

    async def ainvalidate(self, worker: int, kind: str, i: int) -> None:
        item, floor = f"{kind}/{i}", self._floor(kind, i)
        op, fn = self._ainvalidator(kind, i)
        done = await self._arun(worker, op, fn, invalidation=True)
        if done is not _FAILED:
            self.ledger.invalidated(item, done[1], floor)

    async def astep(self, worker: int, rng: random.Random) -> None:
        """Async :meth:`step`."""
        owned = self.owned(worker)
        roll = rng.random()
        if roll < 0.6 or not owned:
            await self.aread(worker, rng)
        elif roll < 0.85:
            await self.awrite(worker, rng.choice(KINDS), rng.choice(owned))
        else:
            await self.ainvalidate(worker, rng.choice(KINDS), rng.choice(owned))
