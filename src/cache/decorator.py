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

import contextlib
import functools
import hashlib
import inspect
import json
import os
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from cache._clock import Clock
from cache._types import MISSING, Duration
from cache.advanced._fill import LOCK_TIMEOUT, FillLock
from cache.advanced._singleflight import AsyncSingleFlight, SingleFlight
from cache.backend._keys import MAX_KEY_LENGTH, check_seconds
from cache.backend.base import CacheBackend, Entry
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

#: Argument types whose ``repr`` is a stable, unambiguous key part.
_SIMPLE = frozenset({str, int, float, bool, type(None)})
#: Keys longer than this store a digest of their arguments instead.
_READABLE_LIMIT = 200


class _State:
    enabled = True
    default: CacheBackend | None = None
    lock = threading.Lock()


def set_caching_enabled(enabled: bool) -> None:
    """Turn every ``@cached`` function on or off (off: each call runs the function)."""
    _State.enabled = bool(enabled)


def caching_enabled() -> bool:
    """Return whether ``@cached`` functions use the cache."""
    return _State.enabled


@contextlib.contextmanager
def caching_disabled() -> Iterator[None]:
    """Run the block with every ``@cached`` function calling straight through (for tests)."""
    before = _State.enabled
    _State.enabled = False
    try:
        yield
    finally:
        _State.enabled = before


def set_default_cache(backend: CacheBackend | None) -> None:
    """Set the backend of ``@cached`` functions given no ``cache=`` (None: back to the default)."""
    if backend is not None and not isinstance(backend, CacheBackend):
        raise CacheTypeError(f"backend must be a CacheBackend, got {type(backend).__name__}")
    _State.default = backend


def get_default_cache() -> CacheBackend:
    """Return the default backend: set by :func:`set_default_cache`, else from ``CACHE_URL``.

    Without either, an ``InMemoryCache`` of 10,000 entries.
    """
    backend = _State.default
    if backend is None:
        with _State.lock:
            if _State.default is None:
                from cache.config import from_url  # noqa: PLC0415 - the config is rarely needed

                _State.default = from_url(os.environ.get("CACHE_URL") or "memory://")
            backend = _State.default
    return backend


def _encode(value: object) -> Any:
    """JSON's fallback for argument values: a stable form, or a clear refusal."""
    if isinstance(value, (set, frozenset)):
        return ["set", sorted(value, key=repr)]
    if isinstance(value, type):  # a class: by its import path, the same in every process
        return ["type", f"{value.__module__}.{value.__qualname__}"]
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    for attribute in ("isoformat", "hex"):  # datetime, date, time; UUID has .hex as a str
        method = getattr(value, attribute, None)
        if callable(method):
            return [type(value).__name__, method()]
    if type(value).__name__ in ("UUID", "Decimal", "Path", "PosixPath", "WindowsPath"):
        return [type(value).__name__, str(value)]
    raise TypeError(type(value).__name__)


def _stored(entry: Entry) -> tuple[Any] | None:
    """Return the stored result boxed (a cached ``None`` counts as found), or None."""
    return None if entry.value is MISSING else (entry.value,)


def _template_names(template: str, what: str) -> set[str]:
    """Return the argument names a ``{name}`` template uses, checking its syntax."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise CacheTypeError(f"{what} {template!r} is not a valid template: {exc}") from None
    names = set()
    for field in fields:
        name = field.split(".", 1)[0].split("[", 1)[0]
        if not name or name.isdigit():
            raise CacheTypeError(
                f"{what} {template!r} must name arguments, e.g. '{{user_id}}', not '{{{field}}}'"
            )
        names.add(name)
    return names


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
    ) -> None:
        if not callable(func):
            raise CacheTypeError(f"@cached needs a function, got {type(func).__name__}")
        if cache is not None and not isinstance(cache, CacheBackend):
            raise CacheTypeError(f"cache must be a CacheBackend, got {type(cache).__name__}")
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
            unknown = _template_names(template, what) - set(names)
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
        self._readable_max = len(self._key_head) + _READABLE_LIMIT
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
            if type(value) not in _SIMPLE:
                break
        else:
            # Unambiguous for these types: a str's repr quotes (and escapes) its commas.
            text = ", ".join(map(repr, values))
            if len(text) <= _READABLE_LIMIT:
                return f"{self._prefix}:{text}"
            return f"{self._prefix}:#{hashlib.sha256(text.encode()).hexdigest()}"
        try:
            text = json.dumps(values, default=_encode, sort_keys=True, separators=(",", ":"))
        except TypeError as exc:
            raise CacheTypeError(
                f"an argument of {self.func.__qualname__} is a {exc}, which has no stable key: "
                f"give @cached a key template naming what identifies it, e.g. key='{{user.id}}'"
            ) from None
        if len(text) + len(self._prefix) >= MAX_KEY_LENGTH or len(text) > _READABLE_LIMIT:
            return f"{self._prefix}:#{hashlib.sha256(text.encode()).hexdigest()}"
        return f"{self._prefix}:{text}"

    def _tag_names(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
        if not self.tags:
            return []
        arguments = self._arguments(args, kwargs)
        return [tag.format_map(arguments) for tag in self.tags]

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
        simple, missing, state, limit = _SIMPLE, MISSING, _State, self._readable_max
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
        if not _State.enabled:
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
        value, _ = self._swr_for(backend).get_with_swr(
            key,
            lambda: self.func(*args, **kwargs),
            self.timeout,
            self.stale_while_revalidate,
            tags=self._tag_names(args, kwargs),
        )
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
            value = self.func(*args, **kwargs)
            backend.set(key, value, self.timeout)
            return value
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
                    value = await self.func(*args, **kwargs)  # type: ignore[misc]
                    await backend.aset(key, value, self.timeout)
                    return value
                finally:
                    await lock.arelease()

            return await self._aflight.do(key, fill)
        value, _ = await self._swr_for(backend).aget_with_swr(
            key,
            lambda: self.func(*args, **kwargs),
            self.timeout,
            self.stale_while_revalidate,
            tags=self._tag_names(args, kwargs),
        )
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
            value = self.func(*args, **kwargs)
            backend.set(key, value, self.timeout)
            return value
        return self._swr_for(backend).refresh(  # type: ignore[no-any-return]
            key,
            lambda: self.func(*args, **kwargs),
            self.timeout,
            self.stale_while_revalidate,
            tags=self._tag_names(args, kwargs),
        )

    async def _arefresh(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key, backend = self.key(*args, **kwargs), self._backend()
        if self._plain:
            value = await self.func(*args, **kwargs)  # type: ignore[misc]
            await backend.aset(key, value, self.timeout)
            return value
        return await self._swr_for(backend).arefresh(
            key,
            lambda: self.func(*args, **kwargs),
            self.timeout,
            self.stale_while_revalidate,
            tags=self._tag_names(args, kwargs),
        )

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


class BoundCached(Generic[P, R]):
    """A :class:`Cached` method bound to its instance."""

    __slots__ = ("__self__", "_cached")

    def __init__(self, cached: Cached[Any, R], obj: object) -> None:
        self._cached = cached
        self.__self__ = obj

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the method through the cache."""
        return self._cached(self.__self__, *args, **kwargs)

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """See :meth:`Cached.key`."""
        return self._cached.key(self.__self__, *args, **kwargs)

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """See :meth:`Cached.invalidate`."""
        return self._cached.invalidate(self.__self__, *args, **kwargs)

    async def ainvalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """See :meth:`Cached.ainvalidate`."""
        return await self._cached.ainvalidate(self.__self__, *args, **kwargs)

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """See :meth:`Cached.refresh`."""
        return self._cached.refresh(self.__self__, *args, **kwargs)


class CachedClassMethod(Generic[P, R]):
    """A cached ``classmethod``: bound to the class whether reached from it or an instance.

    Unlike a method's ``self``, ``cls`` is part of the key (by its import
    path): ``Base.load(1)`` and ``Sub.load(1)`` are cached apart.
    """

    def __init__(self, cached: Cached[Any, R]) -> None:
        self.cached = cached
        self.__doc__ = cached.func.__doc__
        self.__wrapped__ = cached.func

    def __get__(self, obj: object, objtype: type | None = None) -> BoundCached[P, R]:
        """Bind to the class: ``Model.load(...)``, ``Model.load.invalidate(...)``."""
        return BoundCached(self.cached, objtype if objtype is not None else type(obj))


class CachedStaticMethod(Generic[P, R]):
    """A cached ``staticmethod``: the same memoized function from the class or an instance."""

    def __init__(self, cached: Cached[P, R]) -> None:
        self.cached = cached
        self._function = cached.as_function()
        self.__doc__ = cached.func.__doc__
        self.__wrapped__ = cached.func

    def __get__(self, obj: object, objtype: type | None = None) -> Cached[P, R]:
        """Return the memoized function (typed as the :class:`Cached` it forwards to)."""
        return self._function  # type: ignore[return-value]


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
