"""The declared type of an ``@cached`` function, and of a cached method bound to its instance."""

from __future__ import annotations

from collections.abc import Callable
from typing import (
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Protocol,
    TypeVar,
    overload,
    runtime_checkable,
)

__all__ = ["FORWARDED", "BoundCached", "Cached"]

P = ParamSpec("P")
Q = ParamSpec("Q")
R = TypeVar("R")
S = TypeVar("S")

#: The members of :class:`Cached` a plain function lacks: ``@cached`` sets them on
#: the function it returns (the tests check every declared member is present).
FORWARDED = (
    "timeout",
    "stale_while_revalidate",
    "tags",
    "key",
    "invalidate",
    "ainvalidate",
    "refresh",
    "wait_for_refreshes",
)


@runtime_checkable
class Cached(Protocol[P, R]):
    """A memoized function: call it, or use :meth:`key`, :meth:`invalidate`, :meth:`refresh`.

    What ``@cached`` returns: a plain function carrying these members (an
    ``async def`` stays a coroutine function), or for a method an object
    that binds to its instance like one.
    """

    __name__: str
    __qualname__: str

    @property
    def __wrapped__(self) -> Callable[P, R]:
        """The decorated function."""

    @property
    def timeout(self) -> float:
        """Seconds a result stays fresh."""

    @property
    def stale_while_revalidate(self) -> float:
        """Seconds past :attr:`timeout` during which a stale result is served while it refreshes."""

    @property
    def tags(self) -> tuple[str, ...]:
        """The tag templates, e.g. ``("user:{user_id}",)``."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Return the cached result for these arguments, computing it once if missing."""

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Return the key a call with these arguments is stored under."""

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Forget the result for these arguments; return True if one was stored."""

    async def ainvalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Async :meth:`invalidate`."""

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Compute the result now, store it, and return it (awaitable for ``async def``)."""

    def wait_for_refreshes(self, timeout: float | None = None) -> None:
        """Block until the background refreshes started so far have finished (tests)."""

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Cached[P, R]: ...
    @overload
    def __get__(
        self: Cached[Concatenate[S, Q], R], obj: S, objtype: type | None = None
    ) -> BoundCached[Q, R]: ...
    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        """Bind to an instance, as a method: ``obj.method(...)``, ``obj.method.invalidate(...)``."""


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
