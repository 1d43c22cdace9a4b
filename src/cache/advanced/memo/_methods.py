"""``@cached`` on methods: bound to an instance, to a class, or static."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

if TYPE_CHECKING:
    from cache.advanced.memo.decorator import Cached

__all__ = ["BoundCached", "CachedClassMethod", "CachedStaticMethod"]

P = ParamSpec("P")
R = TypeVar("R")


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
