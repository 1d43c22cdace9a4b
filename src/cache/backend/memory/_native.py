"""Whether InMemoryCache runs the compiled core (``_core``), and how a cache gets it.

The core is used only where ``_core`` was imported as an extension module (a
build made with ``TAGCACHE_COMPILE=1``) and ``TAGCACHE_PURE`` is unset, empty
or ``0``. Otherwise every cache runs the pure-Python engine, as it always has.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable
from typing import Any, overload

__all__ = ["COMPILED", "DefaultTimeout", "bind_core", "compiled", "getstate", "setstate"]


def _load() -> Any:
    if os.environ.get("TAGCACHE_PURE", "") not in ("", "0"):
        return None
    try:
        from cache.backend.memory import _core  # noqa: PLC0415  # not under TAGCACHE_PURE
    except ImportError:  # a broken build: the pure engine still works
        return None
    return None if str(_core.__file__).endswith(".py") else _core


_CORE = _load()
#: True when new caches run the compiled core (see ``InMemoryCache.info()["compiled"]``).
COMPILED = _CORE is not None


def bind_core(cache: Any, module: Any = None) -> Any:
    """Give ``cache`` the compiled ``get`` and ``set``; return the core, None if pure.

    A method a subclass overrides is left to it. The bound methods go in the
    instance's ``__dict__``, where attribute lookup finds them before the
    class's functions: a call is one C call, with no Python frame between.
    The core holds that ``__dict__``, and the cache weakly; when the cache
    goes, a weak reference callback takes the core out of the ``__dict__``.
    ``module`` is for tests (``_core`` interpreted); it defaults to the
    compiled one, if any.
    """
    module = _CORE if module is None else module
    if module is None:
        return None
    engine = type(cache)  # its _pure_get and _pure_set are InMemoryCache's functions
    state = vars(cache)
    core = module.Core(
        weakref.ref(cache, _forget_core(state)),
        state,
        engine._pure_set,  # for what the core leaves to the engine
        functools.partial(_revive, engine),
    )
    # Not where a subclass overrides them, nor over a user's own (kept by a copy).
    if engine.get is engine._pure_get and "get" not in state:
        state["get"] = core.get
    if engine.set is engine._pure_set and "set" not in state:
        state["set"] = core.set
    return core


def _forget_core(state: dict[str, Any]) -> Callable[[object], None]:
    """Return what breaks the cycle between a dropped cache's ``__dict__`` and its core."""

    def forget(_: object) -> None:
        state.pop("get", None)
        state.pop("set", None)
        state["_core"] = None  # a kept method's core still holds the state, and revives it

    return forget


def _revive(engine: type, state: dict[str, Any]) -> Any:
    """Return a cache of class ``engine`` over ``state`` (pure Python methods)."""
    cache: Any = object.__new__(engine)
    cache.__dict__ = state
    return cache


def _core_methods(cache: Any) -> set[str]:
    """Return which of ``get`` and ``set`` on the instance are its core's (not a user's)."""
    state = vars(cache)
    core = state.get("_core")
    if core is None:
        return set()
    return {name for name in ("get", "set") if name in state and state[name] == getattr(core, name)}


def compiled(cache: Any) -> bool:
    """Whether ``get`` or ``set`` of ``cache`` runs its compiled core."""
    return bool(_core_methods(cache))


def getstate(cache: Any) -> dict[str, Any]:
    """Return the cache's attributes less its core (copy, deepcopy and pickle call this).

    A ``get`` or ``set`` a user put on the instance is kept; the core's are not.
    """
    drop = _core_methods(cache) | {"_core"}
    return {name: value for name, value in vars(cache).items() if name not in drop}


def setstate(cache: Any, state: dict[str, Any]) -> None:
    """Restore ``state`` on a copy, which gets a core of its own over its own dict."""
    vars(cache).update(state)
    cache._lookup = cache._data.get  # a deep copy's own dict (deepcopy keeps builtin methods)
    cache._core = bind_core(cache)


class DefaultTimeout:
    """``InMemoryCache.default_timeout``: kept on the cache and on its core, if it has one."""

    @overload
    def __get__(self, cache: None, owner: object = None) -> DefaultTimeout: ...
    @overload
    def __get__(self, cache: object, owner: object = None) -> float | None: ...
    def __get__(self, cache: Any, owner: object = None) -> DefaultTimeout | float | None:
        if cache is None:  # looked up on the class (help(), inspect)
            return self
        return cache._default_timeout  # type: ignore[no-any-return]

    def __set__(self, cache: Any, seconds: float | None) -> None:
        cache._default_timeout = seconds
        core = vars(cache).get("_core")
        if core is not None:
            core.default_timeout = seconds
