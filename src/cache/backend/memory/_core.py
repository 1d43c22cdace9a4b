"""InMemoryCache's hit path, written to be compiled (mypyc) and bound onto each cache.

Built with ``TAGCACHE_COMPILE=1`` (see ``hatch_build.py``), this module is an
extension module and :class:`Core` a native class: ``InMemoryCache.__init__``
then sets ``self.get`` and ``self.set`` to a core's bound methods, so a hit is
one C call with no Python frame. Uncompiled, the engine does not use it at all
(an interpreted core would only add a call): the pure-Python engine runs as
before. ``TAGCACHE_PURE=1`` in the environment forces the pure engine.

The core does only the common cases, with the engine's exact semantics
(``engine.py``, the record layout in ``_record.py``): a hit on a live entry
(``FREQ`` bumped, no lock), a miss, and a ``set`` that replaces an existing
key's value under the write lock. Anything else (an expired entry, a new key,
an odd timeout, a bounded byte size, a bad key) goes to the engine's own code
or ``check_key``, so errors stay the library's. The class has no base and no
weak reference is ever made to it. It holds its cache weakly and the cache's
``__dict__`` strongly; when the cache goes, a weak reference callback
(``_native``) takes the core out of that ``__dict__``, so a dropped cache and
its entries are freed at once, as with the pure engine, and methods of it that
were kept go on working over the same ``__dict__``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from cache.backend.validation import MAX_KEY_LENGTH, check_key

__all__ = ["Core"]

_MAX_KEY: Final = MAX_KEY_LENGTH
_INF: Final = math.inf


class Core:
    """The hot state of one cache (its dict, clock, lock) and its fast paths."""

    def __init__(
        self,
        owner: Callable[[], Any],
        state: dict[str, Any],
        pure_set: Callable[..., None],
        revive: Callable[[dict[str, Any]], Any],
    ) -> None:
        self._owner = owner  # a weak reference to the cache
        self._state = state  # the cache's __dict__, where its get and set are this core's
        self._revive = revive  # makes a cache over ``state`` once the first one is gone
        self._revived: Any = None
        self._pure_set = pure_set  # InMemoryCache.set, the function: it holds no cache
        self._data: dict[str, list[Any]] = state["_data"]
        self._clock: Callable[[], Any] = state["_clock"]
        lock = state["_lock"]
        self._acquire: Callable[[bool], bool] = lock.raw_acquire
        self._wait: Callable[[], None] = lock.wait
        self._release: Callable[[], None] = lock.release
        #: The cache's ``default_timeout``, kept equal to it by the engine's setter.
        self.default_timeout: Any = state["_default_timeout"]
        self._plain = state["_sizeof"] is None  # no max_bytes: a set needs no sizeof

    def get(self, key: Any, default: Any = None) -> Any:
        """Do what ``InMemoryCache.get`` does."""
        try:
            entry = self._data.get(key)
        except TypeError:  # unhashable: report it as a bad key
            check_key(key)
            raise
        if entry is None:
            if type(key) is not str or not key or len(key) > _MAX_KEY:
                check_key(key)
            return default
        expires = entry[1]
        if expires is not None:
            now = self._clock()
            # Two floats (the usual deadline and clock) compare as C doubles when compiled.
            if type(expires) is float and type(now) is float:
                stale = expires <= now
            else:
                stale = bool(expires <= now)
            if stale:
                return self._engine()._get_expired(key, entry, default)
        entry[2] += 1
        return entry[0]

    def set(self, key: Any, value: Any, timeout: Any = None) -> None:
        """Do what ``InMemoryCache.set`` does (a replaced value here, the rest in the engine)."""
        if self._plain and type(key) is str and key and len(key) <= _MAX_KEY:
            expires: Any
            if timeout is None:
                ttl = self.default_timeout
                expires = None if ttl is None else self._clock() + ttl
            elif (type(timeout) is int or type(timeout) is float) and 0 < timeout < _INF:
                expires = self._clock() + timeout
            else:
                self._pure_set(self._engine(), key, value, timeout)
                return
            if not self._acquire(False):
                self._wait()
            try:
                entry = self._data.get(key)
                if entry is None:
                    self._engine()._insert(key, value, expires)
                else:
                    entry[1] = expires  # EXPIRES before VALUE, as in the engine
                    entry[0] = value
            finally:
                self._release()
            return
        self._pure_set(self._engine(), key, value, timeout)

    def _engine(self) -> Any:
        """Return the cache, for what the pure engine does: a cache over the same state if gone.

        The cache is held weakly, so that dropping it frees it at once. Kept
        methods of a dropped cache (``get = InMemoryCache().get``) still work
        on its entries, as a bound method keeps its object alive.
        """
        owner = self._owner()
        if owner is None:
            owner = self._revived
            if owner is None:
                owner = self._revived = self._revive(self._state)
        return owner
