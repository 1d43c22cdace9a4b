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
    profile.invalidate(1)      # forget it (a call computing it now stores nothing)
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

from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from cache._clock import Clock
from cache._types import Duration
from cache.advanced.memo._config import Options
from cache.advanced.memo._function import plain_function
from cache.advanced.memo._memo import Memo
from cache.advanced.memo._methods import CachedClassMethod, CachedStaticMethod
from cache.advanced.memo._protocol import Cached
from cache.backend.base import CacheBackend
from cache.errors import CacheTypeError

__all__ = ["cached"]

P = ParamSpec("P")
R = TypeVar("R")


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
    if callable(timeout):
        raise CacheTypeError("use @cached() or @cached(timeout=...), with parentheses")
    options = Options(
        timeout=timeout,
        key=key,
        tags=tags,
        stale_while_revalidate=stale_while_revalidate,
        cache=cache,
        prefix=prefix,
        clock=clock,
        store_if=store_if,
    )

    def decorate(func: Any) -> Any:
        return _decorate(func, options)

    return decorate


def _decorate(func: Any, options: Options) -> Any:
    """Memoize ``func`` (checking the options against it): the body of ``@cached(...)``."""
    if isinstance(func, classmethod):
        # cls stays in the key: a subclass's call may well return something else.
        return CachedClassMethod(Memo(func.__func__, options, skip=0))
    if isinstance(func, staticmethod):
        return CachedStaticMethod(Memo(func.__func__, options, skip=0))
    memo: Memo[Any, Any] = Memo(func, options)
    # A method gets the object itself, which binds to instances; a function gets
    # a plain function (faster, and still a coroutine function when async).
    memoized: Cached[Any, Any] = memo if memo.skip else plain_function(memo)
    return memoized
