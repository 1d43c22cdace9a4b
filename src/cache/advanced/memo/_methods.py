"""``@cached`` above ``@classmethod`` and ``@staticmethod``: descriptors that bind like them."""

from __future__ import annotations

from typing import Any, Generic, ParamSpec, TypeVar

from cache.advanced.memo._function import plain_function
from cache.advanced.memo._memo import Memo
from cache.advanced.memo._protocol import BoundCached, Cached

__all__ = ["CachedClassMethod", "CachedStaticMethod"]

P = ParamSpec("P")
R = TypeVar("R")


class CachedClassMethod(Generic[P, R]):
    """A cached ``classmethod``: bound to the class whether reached from it or an instance.

    Unlike a method's ``self``, ``cls`` is part of the key (by its import
    path): ``Base.load(1)`` and ``Sub.load(1)`` are cached apart.
    """

    def __init__(self, cached: Memo[Any, R]) -> None:
        self.cached = cached
        self.__doc__ = cached.func.__doc__
        self.__wrapped__ = cached.func

    def __get__(self, obj: object, objtype: type | None = None) -> BoundCached[P, R]:
        """Bind to the class: ``Model.load(...)``, ``Model.load.invalidate(...)``."""
        return BoundCached(self.cached, objtype if objtype is not None else type(obj))


class CachedStaticMethod(Generic[P, R]):
    """A cached ``staticmethod``: the same memoized function from the class or an instance."""

    def __init__(self, cached: Memo[P, R]) -> None:
        self.cached = cached
        self._function = plain_function(cached)
        self.__doc__ = cached.func.__doc__
        self.__wrapped__ = cached.func

    def __get__(self, obj: object, objtype: type | None = None) -> Cached[P, R]:
        """Return the memoized function."""
        return self._function
