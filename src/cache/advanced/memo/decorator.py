"""``@cached``: memoize plain and ``async def`` functions and methods over any backend.

::

    from cache import cached

    @cached(timeout=600)
    def profile(user_id: int) -> dict: ...

    @cached(timeout=600, key="profile:{user_id}", tags=["user:{user_id}"],
            stale_while_revalidate=60, cache=redis_cache)
    async def aprofile(user_id: int) -> dict: ...

    profile(1)                 # computed, then stored for 600 s
    profile.key(1)             # the key it is stored under
    profile.invalidate(1)      # forget it
    profile.refresh(1)         # compute it again now and store it

Keys are built from the arguments (bound to the signature, defaults applied,
``self`` left out, a classmethod's ``cls`` by its import path) and are the
same in every process: never from Python's ``hash()``. ``key=`` and ``tags=``
may be templates naming the arguments (``"{user.id}"`` works too). Concurrent
calls with one key compute once: in threads and in asyncio, and across
processes sharing a backend (a lock in the backend; the others wait for the
stored result). An exception reaches every waiter and is not stored; a
returned ``None`` is stored and is a hit. With ``tags=`` or
``stale_while_revalidate=`` the entry is kept by
:class:`~cache.advanced.StaleWhileRevalidateCache` (tag checks, background
refresh).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from cache._clock import Clock
from cache._types import MISSING, Duration
from cache.advanced.coordination import LOCK_TIMEOUT, AsyncSingleFlight, FillLock, SingleFlight
from cache.advanced.memo._keys import READABLE_LIMIT, SIMPLE, encode, template_names
from cache.advanced.memo._methods import BoundCached, CachedClassMethod, CachedStaticMethod
from cache.advanced.memo._state import (
    State,
    caching_disabled,
    caching_enabled,
    get_default_cache,
    set_caching_enabled,
    set_default_cache,
)
from cache.backend.base import CacheBackend, Entry
from cache.backend.validation import MAX_KEY_LENGTH, check_seconds
from cache.errors import CacheTypeError

if TYPE_CHECKING:
    from cache.advanced.swr import StaleWhileRevalidateCache

__all__ = [
    "BoundCached",
    "Cached",
    "CachedClassMethod",
    "CachedStaticMethod",
    "cached",
    "caching_disabled",
    "caching_enabled",
    "get_default_cache",
    "set_caching_enabled",
    "set_default_cache",
]

P = ParamSpec("P")
Q = ParamSpec("Q")
R = TypeVar("R")
S = TypeVar("S")


def _stored(entry: Entry) -> tuple[Any] | None:
    """Return the stored result boxed (a cached ``None`` counts as found), or None."""
    return None if entry.value is MISSING else (entry.value,)


class Cached(Generic[P, R]):
    """A memoized function: call it, or use :meth:`key`, :meth:`invalidate`, :meth:`refresh`."""

    def __init__(
        self,
        func: Callable[P, R],
        *,
        timeout: Duration,
        key: str | None,
        tags: Iterable[str],
        stale_while_revalidate: Duration,
        cache: CacheBackend | None,
        prefix: str | None,
        clock: Clock | None = None,
        skip: int | None = None,
        store_if: Callable[[R], bool] | None = None,
    ) -> None:
        if not callable(func):
            raise CacheTypeError(f"@cached needs a function, got {type(func).__name__}")
        if cache is not None and not isinstance(cache, CacheBackend):
            raise CacheTypeError(f"cache must be a CacheBackend, got {type(cache).__name__}")
        if store_if is not None and not callable(store_if):
            raise CacheTypeError(f"store_if must be callable, got {type(store_if).__name__}")
        self.store_if = store_if
        self.func = func
        self.timeout = check_seconds(timeout, "timeout", allow_zero=False)
        self.stale_while_revalidate = check_seconds(
            stale_while_revalidate, "stale_while_revalidate", allow_zero=True
        )
        self.cache = cache
        self.tags = tuple(tags) if not isinstance(tags, str) else (tags,)
        self.key_template = key
        self.is_async = inspect.iscoroutinefunction(func)
        functools.update_wrapper(self, func)
        self._signature = inspect.signature(func)
        params = list(self._signature.parameters.values())
        names = [p.name for p in params]
        for template, what in [(key, "key"), *((t, "tag") for t in self.tags)]:
            if template is None:
                continue
            unknown = template_names(template, what) - set(names)
            if unknown:
                raise CacheTypeError(
                    f"{what} {template!r} names {sorted(unknown)}, which are not arguments "
                    f"of {func.__qualname__}{self._signature}"
                )
        if skip is None:  # a method's self stays out of the key; a classmethod's cls does not
            skip = 1 if params and names[0] == "self" else 0
        self._skip = skip
        kinds = {p.kind for p in params}
        #: Positional calls map straight to parameters (no *args, no keyword-only).
        self._plain_signature = kinds <= {
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        }
        self._names = names
        self._defaults = tuple(p.default for p in params)
        self._required = sum(1 for p in params if p.default is inspect.Parameter.empty)
        self._prefix = prefix or f"{func.__module__}.{func.__qualname__}"
        self._plain = not self.tags and not self.stale_while_revalidate
        self._flight = SingleFlight()
        self._aflight = AsyncSingleFlight()
        self._swr: dict[int, StaleWhileRevalidateCache] = {}
        #: The inlined hot path of as_function applies (see there).
        self._fast = self._plain and not self.is_async and key is None and self._plain_signature
        self._count = len(names)
        self._key_head = f"{self._prefix}:"
        self._readable_max = len(self._key_head) + READABLE_LIMIT
        self._clock = clock

    # -- keys ------------------------------------------------------------------------

    def _values(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Return every parameter's value in order, defaults applied."""
        n = len(args)
        if not kwargs and self._plain_signature and self._required <= n <= len(self._names):
            return args + self._defaults[n:]
        bound = self._signature.bind(*args, **kwargs)  # a TypeError for a bad call, as Python's
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        return dict(zip(self._names, self._values(args, kwargs), strict=True))

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Return the key a call with these arguments is stored under."""
        if self.key_template is not None:
            return self.key_template.format_map(self._arguments(args, kwargs))
        values = self._values(args, kwargs)[self._skip :]
        for value in values:
            if type(value) not in SIMPLE:
                break
        else:
            # Unambiguous for these types: a str's repr quotes (and escapes) its commas.
            text = ", ".join(map(repr, values))
            if len(text) <= READABLE_LIMIT:
                return f"{self._prefix}:{text}"
            return f"{self._prefix}:#{hashlib.sha256(text.encode()).hexdigest()}"
        try:
            text = json.dumps(values, default=encode, sort_keys=True, separators=(",", ":"))
        except TypeError as exc:
            raise CacheTypeError(
                f"an argument of {self.func.__qualname__} is a {exc}, which has no stable key: "
                f"give @cached a key template naming what identifies it, e.g. key='{{user.id}}'"
            ) from None
        if len(text) + len(self._prefix) >= MAX_KEY_LENGTH or len(text) > READABLE_LIMIT:
            return f"{self._prefix}:#{hashlib.sha256(text.encode()).hexdigest()}"
        return f"{self._prefix}:{text}"

    def _tag_names(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
        if not self.tags:
            return []
        arguments = self._arguments(args, kwargs)
        return [tag.format_map(arguments) for tag in self.tags]

    def _keeps(self, value: Any) -> bool:
        return self.store_if is None or bool(self.store_if(value))

    def _swr_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return the arguments of a StaleWhileRevalidateCache call for this call's arguments."""
        return {
            "generator": lambda: self.func(*args, **kwargs),
            "timeout": self.timeout,
            "stale_timeout": self.stale_while_revalidate,
            "tags": self._tag_names(args, kwargs),
            "store_if": self.store_if,
        }

    def _compute(
        self, backend: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Call the function and store its result (unless ``store_if`` refuses it)."""
        value = self.func(*args, **kwargs)
        if self._keeps(value):
            backend.set(key, value, self.timeout)
        return value

    async def _acompute(
        self, backend: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Async :meth:`_compute`."""
        value = await self.func(*args, **kwargs)  # type: ignore[misc]
        if self._keeps(value):
            await backend.aset(key, value, self.timeout)
        return value

    # -- the backend -----------------------------------------------------------------

    def _backend(self) -> CacheBackend:
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
        return self._call(args, kwargs)  # type: ignore[no-any-return]

    def as_function(self) -> Callable[P, R]:
        """Return a plain function doing what calling this object does, faster.

        ``@cached`` returns it for functions (methods get the object itself,
        which binds to instances): a function call costs less than an
        instance's ``__call__``, and an ``async def`` stays one for
        frameworks that check ``inspect.iscoroutinefunction``. The sync hot
        path is inlined here: a hit on simple positional arguments, every
        parameter given, costs one ``repr`` and one backend read.
        """
        call, head, count = self._call, self._key_head, self._count
        simple, missing, state, limit = SIMPLE, MISSING, State, self._readable_max
        key_ok = self.key_template is None
        fixed_get = None if self.cache is None else self.cache.get

        fixed_aget = None if self.cache is None else self.cache.aget
        fast = self._plain and key_ok and self._plain_signature

        def simple_key(args: tuple[Any, ...]) -> str | None:
            if count == 1:
                return head + repr(args[0]) if type(args[0]) in simple else None
            for arg in args:
                if type(arg) not in simple:
                    return None
            return head + ", ".join(map(repr, args))

        if self.is_async:
            acall = self._acall

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if fast and not kwargs and len(args) == count and state.enabled:
                    key = simple_key(args)
                    if key is not None and len(key) <= limit:
                        aget = fixed_aget or get_default_cache().aget
                        value = await aget(key, missing)
                        if value is not missing:
                            return value
                if not state.enabled:
                    return await self.func(*args, **kwargs)  # type: ignore[misc]
                return await acall(args, kwargs)

            wrapper: Any = async_wrapper
        else:

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if fast and not kwargs and len(args) == count and state.enabled:
                    # Inlined simple_key: this is the path a sync hit takes.
                    if count == 1:
                        key = head + repr(args[0]) if type(args[0]) in simple else None
                    else:
                        key = simple_key(args)
                    if key is not None and len(key) <= limit:
                        get = fixed_get or get_default_cache().get
                        value = get(key, missing)
                        if value is not missing:
                            return value
                return call(args, kwargs)

        functools.update_wrapper(wrapper, self.func)
        for name in ("key", "invalidate", "ainvalidate", "refresh", "wait_for_refreshes"):
            setattr(wrapper, name, getattr(self, name))
        wrapper.cached = self
        return wrapper  # type: ignore[no-any-return]

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not State.enabled:
            return self.func(*args, **kwargs)
        if self.is_async:
            return self._acall(args, kwargs)
        key = self.key(*args, **kwargs)
        backend = self._backend()
        if self._plain:
            value = backend.get(key, MISSING)
            if value is not MISSING:
                return value
            return self._flight.do(key, lambda: self._fill(backend, key, args, kwargs))
        value, _ = self._swr_for(backend).get_with_swr(key, **self._swr_call(args, kwargs))
        return value

    def _fill(
        self, backend: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Compute a missing result once across processes (see :class:`FillLock`)."""
        fill = FillLock(backend, key, _stored, LOCK_TIMEOUT)
        try:
            found = fill.acquire_or_wait()  # also finds what a call just stored
            if found is not None:
                return found[0]
            return self._compute(backend, key, args, kwargs)
        finally:
            fill.release()

    async def _acall(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = self.key(*args, **kwargs)
        backend = self._backend()
        if self._plain:
            value = await backend.aget(key, MISSING)
            if value is not MISSING:
                return value

            async def fill() -> Any:
                lock = FillLock(backend, key, _stored, LOCK_TIMEOUT)
                try:
                    found = await lock.aacquire_or_wait()
                    if found is not None:
                        return found[0]
                    return await self._acompute(backend, key, args, kwargs)
                finally:
                    await lock.arelease()

            return await self._aflight.do(key, fill)
        value, _ = await self._swr_for(backend).aget_with_swr(key, **self._swr_call(args, kwargs))
        return value

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Forget the result for these arguments; return True if one was stored."""
        return self._backend().delete(self.key(*args, **kwargs))

    async def ainvalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Async :meth:`invalidate`."""
        return await self._backend().adelete(self.key(*args, **kwargs))

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Compute the result now, store it, and return it (awaitable for ``async def``)."""
        if self.is_async:
            return self._arefresh(args, kwargs)  # type: ignore[return-value]
        key, backend = self.key(*args, **kwargs), self._backend()
        if self._plain:
            return self._compute(backend, key, args, kwargs)  # type: ignore[no-any-return]
        return self._swr_for(backend).refresh(  # type: ignore[no-any-return]
            key, **self._swr_call(args, kwargs)
        )

    async def _arefresh(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key, backend = self.key(*args, **kwargs), self._backend()
        if self._plain:
            return await self._acompute(backend, key, args, kwargs)
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
        self: Cached[Concatenate[S, Q], R], obj: S, objtype: type | None = None
    ) -> BoundCached[Q, R]: ...
    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        """Bind to an instance, as a method: ``obj.method(...)``, ``obj.method.invalidate(...)``."""
        if obj is None:
            return self
        return BoundCached(self, obj)

    def __repr__(self) -> str:
        return f"<cached {self._prefix} timeout={self.timeout:g}>"


class _Decorator(Protocol):
    """What ``cached(...)`` returns: typed per kind of function it decorates."""

    @overload
    def __call__(self, func: classmethod[Any, P, R], /) -> CachedClassMethod[P, R]: ...
    @overload
    def __call__(  # type: ignore[overload-overlap]  # a staticmethod is callable too
        self, func: staticmethod[P, R], /
    ) -> CachedStaticMethod[P, R]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> Cached[P, R]: ...


def cached(
    timeout: Duration = 300,
    *,
    key: str | None = None,
    tags: Iterable[str] = (),
    stale_while_revalidate: Duration = 0,
    cache: CacheBackend | None = None,
    prefix: str | None = None,
    clock: Clock | None = None,
    store_if: Callable[[Any], bool] | None = None,
) -> _Decorator:
    """Memoize a function, an ``async def`` function, a method, a classmethod or a staticmethod.

    On a ``classmethod`` or ``staticmethod``, put ``@cached`` above it.

    Args:
        timeout: Seconds (or a ``timedelta``) a result stays fresh.
        key: A template of the key naming the arguments, e.g. ``"profile:{user_id}"``;
            by default the function's module and name with its arguments.
        tags: Templates of tags, e.g. ``["user:{user_id}"]``: ``CacheTag.invalidate_tag``
            of one of them drops the results carrying it.
        stale_while_revalidate: Seconds past ``timeout`` during which the old
            result is returned at once while one background call refreshes it.
        cache: The backend; by default :func:`get_default_cache`.
        prefix: Replaces ``module.qualname`` at the start of argument-built keys.
        clock: Wall-clock seconds for the deadlines of tagged and SWR entries (tests).
        store_if: Store a result only if this returns True for it, e.g.
            ``lambda user: user is not None`` (the result is returned either way).
    """

    def memoize(func: Callable[..., Any], skip: int | None = None) -> Cached[Any, Any]:
        return Cached(
            func,
            timeout=timeout,
            key=key,
            tags=tags,
            stale_while_revalidate=stale_while_revalidate,
            cache=cache,
            prefix=prefix,
            clock=clock,
            skip=skip,
            store_if=store_if,
        )

    def decorate(func: Any) -> Any:
        if isinstance(func, classmethod):
            # cls stays in the key: a subclass's call may well return something else.
            return CachedClassMethod(memoize(func.__func__, skip=0))
        if isinstance(func, staticmethod):
            return CachedStaticMethod(memoize(func.__func__, skip=0))
        memoized = memoize(func)
        # Functions get a plain function (faster, and still a coroutine
        # function when async), typed as the Cached it forwards to.
        return memoized if memoized._skip else memoized.as_function()

    if callable(timeout):
        raise CacheTypeError("use @cached() or @cached(timeout=...), with parentheses")
    return decorate
