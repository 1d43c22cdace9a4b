"""The memoizing object behind ``@cached``: the calls that miss, methods, invalidation."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, overload

from cache._types import MISSING
from cache.advanced.coordination import LOCK_TIMEOUT, AsyncSingleFlight, FillLock, SingleFlight
from cache.advanced.memo import _guard
from cache.advanced.memo._config import Config, Options
from cache.advanced.memo._protocol import BoundCached, Cached
from cache.advanced.memo._returns import learn_return_types
from cache.advanced.memo._state import State, get_default_cache
from cache.backend.base import CacheBackend, Entry, one_attempt

if TYPE_CHECKING:
    from cache.advanced.swr import StaleWhileRevalidateCache

__all__ = ["Memo"]

P = ParamSpec("P")
Q = ParamSpec("Q")
R = TypeVar("R")
S = TypeVar("S")


class _Seen:
    """What a fill reads: the stored result boxed (a cached ``None`` counts as found), or None.

    ``raw`` keeps what stood in its place at the last read (nothing, or an
    invalidation's mark): the result is stored only over that (issue 11).
    """

    __slots__ = ("raw",)

    def __init__(self) -> None:
        self.raw: Any = MISSING

    def __call__(self, entry: Entry) -> tuple[Any] | None:
        self.raw = entry.value
        if entry.value is MISSING or _guard.is_mark(entry.value):
            return None
        return (entry.value,)


class Memo(Config[P, R]):
    """A memoized function as an object: what ``@cached`` returns for methods.

    Functions get a plain function forwarding to it (see ``_function.py``);
    both are :class:`~cache.advanced.memo.Cached`.
    """

    __wrapped__: Callable[P, R]
    __name__: str
    __qualname__: str

    def __init__(self, func: Callable[P, R], options: Options, skip: int | None = None) -> None:
        # First: the function's own attributes (another decorator's, say) must not
        # replace the settings below.
        functools.update_wrapper(self, func)
        super().__init__(func, options, skip)
        # fresh: a call never shares a result read before an invalidation it came after.
        self._flight = SingleFlight(fresh=True)
        self._aflight = AsyncSingleFlight(fresh=True)
        self._swr: dict[int, StaleWhileRevalidateCache] = {}
        self._clock = options.clock
        #: An invalidation's mark outlives any computation that may have read the old data.
        self._mark_timeout = max(self.timeout, LOCK_TIMEOUT)
        #: The return annotation names what is not defined yet: read it at the first call.
        self.types_pending = not learn_return_types(func)

    # -- storing ---------------------------------------------------------------------

    def _keeps(self, value: Any) -> bool:
        return self.store_if is None or bool(self.store_if(value))

    def _swr_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return the arguments of a StaleWhileRevalidateCache call for this call's arguments."""
        return {
            "generator": lambda: self.func(*args, **kwargs),
            "timeout": self.timeout,
            "stale_timeout": self.stale_while_revalidate,
            "tags": self.tag_names(args, kwargs),
            "store_if": self.store_if,
        }

    def _compute(
        self,
        backend: CacheBackend,
        key: str,
        call: tuple[tuple[Any, ...], dict[str, Any]],
        seen: Any,
    ) -> Any:
        """Call the function; store its result (unless ``store_if`` refuses it) over ``seen``."""
        fenced = _guard.fence(backend, key, seen, self._mark_timeout)
        try:
            value = self.func(*call[0], **call[1])
            if self._keeps(value):
                _guard.store_over(backend, key, fenced, value, self.timeout)
                fenced = seen  # stored over, or not: no mark of ours to take back
        finally:
            _guard.unfence(backend, key, fenced, seen)
        return value

    async def _acompute(
        self,
        backend: CacheBackend,
        key: str,
        call: tuple[tuple[Any, ...], dict[str, Any]],
        seen: Any,
    ) -> Any:
        """Async :meth:`_compute`."""
        fenced = await _guard.afence(backend, key, seen, self._mark_timeout)
        try:
            value = await self.func(*call[0], **call[1])  # type: ignore[misc]
            if self._keeps(value):
                await _guard.astore_over(backend, key, fenced, value, self.timeout)
                fenced = seen
        finally:
            await _guard.aunfence(backend, key, fenced, seen)
        return value

    # -- the backend -----------------------------------------------------------------

    def learn_types(self) -> None:
        """Read the return annotation now, if it could not be read when decorating."""
        if self.types_pending:
            self.types_pending = False
            learn_return_types(self.func)  # still unreadable: the annotation is not used

    def _backend(self) -> CacheBackend:
        if self.types_pending:  # before the first read: it may hold an annotated class
            self.learn_types()
        return self.cache if self.cache is not None else get_default_cache()

    def _swr_for(self, backend: CacheBackend) -> StaleWhileRevalidateCache:
        swr = self._swr.get(id(backend))
        if swr is None or swr.cache is not backend:
            from cache.advanced.swr import StaleWhileRevalidateCache  # noqa: PLC0415

            clock = self._clock or time.time
            swr = self._swr[id(backend)] = StaleWhileRevalidateCache(backend, clock=clock)
        return swr

    # -- calls -----------------------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Return the cached result for these arguments, computing it once if missing."""
        return self.call(args, kwargs)  # type: ignore[no-any-return]

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call through the cache (a coroutine for ``async def``)."""
        if not State.enabled:
            return self.func(*args, **kwargs)
        if self.is_async:
            return self.acall(args, kwargs)
        key = self.key(*args, **kwargs)
        backend = self._backend()
        if self.plain:
            with one_attempt():  # a failing server is waited for once in the whole call
                value = backend.get(key, MISSING)
                if value is not MISSING and not _guard.is_mark(value):
                    return value
                return self._flight.do(key, lambda: self._fill(backend, key, args, kwargs))
        value, _ = self._swr_for(backend).get_with_swr(key, **self._swr_call(args, kwargs))
        return value

    def _fill(
        self, backend: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Compute a missing result once across processes (see :class:`FillLock`)."""
        seen = _Seen()
        fill = FillLock(backend, key, seen, LOCK_TIMEOUT)
        try:
            found = fill.acquire_or_wait()  # also finds what a call just stored
            if found is not None:
                return found[0]
            return self._compute(backend, key, (args, kwargs), seen.raw)
        finally:
            fill.release()

    async def acall(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Async :meth:`call`, with caching on."""
        key = self.key(*args, **kwargs)
        backend = self._backend()
        if self.plain:
            with one_attempt():
                return await self._aplain(backend, key, args, kwargs)
        value, _ = await self._swr_for(backend).aget_with_swr(key, **self._swr_call(args, kwargs))
        return value

    async def _aplain(
        self, backend: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        value = await backend.aget(key, MISSING)
        if value is not MISSING and not _guard.is_mark(value):
            return value

        async def fill() -> Any:
            seen = _Seen()
            lock = FillLock(backend, key, seen, LOCK_TIMEOUT)
            try:
                found = await lock.aacquire_or_wait()
                if found is not None:
                    return found[0]
                return await self._acompute(backend, key, (args, kwargs), seen.raw)
            finally:
                await lock.arelease()

        return await self._aflight.do(key, fill)

    # -- invalidation ----------------------------------------------------------------

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Forget the result for these arguments; return True if one was stored.

        A call computing it now stores nothing (issue 11); raises
        ``BackendUnavailableError`` if the removal cannot be confirmed.
        """
        key, backend = self.key(*args, **kwargs), self._backend()
        if self.plain:
            return _guard.invalidate(backend, key, self._mark_timeout)
        return self._swr_for(backend).invalidate(key, self.timeout, self.stale_while_revalidate)

    async def ainvalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Async :meth:`invalidate`."""
        key, backend = self.key(*args, **kwargs), self._backend()
        if self.plain:
            return await _guard.ainvalidate(backend, key, self._mark_timeout)
        swr = self._swr_for(backend)
        return await swr.ainvalidate(key, self.timeout, self.stale_while_revalidate)

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Compute the result now, store it, and return it (awaitable for ``async def``)."""
        if self.is_async:
            return self._arefresh(args, kwargs)  # type: ignore[return-value]
        key, backend = self.key(*args, **kwargs), self._backend()
        if self.plain:
            seen = backend.get(key, MISSING)  # stored over only if nothing replaced it meanwhile
            return self._compute(backend, key, (args, kwargs), seen)  # type: ignore[no-any-return]
        return self._swr_for(backend).refresh(  # type: ignore[no-any-return]
            key, **self._swr_call(args, kwargs)
        )

    async def _arefresh(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key, backend = self.key(*args, **kwargs), self._backend()
        if self.plain:
            seen = await backend.aget(key, MISSING)
            return await self._acompute(backend, key, (args, kwargs), seen)
        return await self._swr_for(backend).arefresh(key, **self._swr_call(args, kwargs))

    def wait_for_refreshes(self, timeout: float | None = None) -> None:
        """Block until the background refreshes started so far have finished (tests)."""
        for swr in list(self._swr.values()):
            swr.wait(timeout)

    # -- methods ---------------------------------------------------------------------

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Cached[P, R]: ...
    @overload
    def __get__(
        self: Memo[Concatenate[S, Q], R], obj: S, objtype: type | None = None
    ) -> BoundCached[Q, R]: ...
    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        """Bind to an instance, as a method: ``obj.method(...)``, ``obj.method.invalidate(...)``."""
        if obj is None:
            return self
        return BoundCached(self, obj)
