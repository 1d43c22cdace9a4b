"""``cache.django.CacheBackend``: a Django cache backend over any engine of this package.

In settings::

    CACHES = {
        "default": {
            "BACKEND": "cache.django.CacheBackend",
            "LOCATION": "redis://localhost:6379/0",  # any from_url URL; memory:// too
            "TIMEOUT": 300,        # Django's: None = forever, 0 = expire at once
            "KEY_PREFIX": "site",  # VERSION and KEY_FUNCTION as usual
        }
    }

Django's semantics throughout (``django.core.cache.backends.base.BaseCache``):
timeouts, ``version``, ``key_prefix``, ``KEY_FUNCTION``, ``make_key`` and the
``validate_key`` warnings; the ``a*`` methods await the engine's async twins
(an asyncio client on Redis, not a thread). Values are pickled as by
Django's own backends, signed with ``SECRET_KEY`` on a network engine (the
Django page of the documentation says how). The engine's features are
reachable from the backend: :attr:`~CacheBackend.tags`,
:attr:`~CacheBackend.manager`, :attr:`~CacheBackend.invalidator`,
:attr:`~CacheBackend.swr`, :attr:`~CacheBackend.stats`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured

from cache._types import MISSING
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import ContentTypeCacheManager
from cache.advanced.statistics import CacheStatistics
from cache.advanced.swr import StaleWhileRevalidateCache
from cache.advanced.tags import CacheTag
from cache.backend.base import CacheBackend as Engine
from cache.backend.validation import MAX_KEY_LENGTH
from cache.django._shared import Shared, shared_engine
from cache.django._values import Codec, LocalPickles, Passthrough, SignedPickles

__all__ = ["CacheBackend"]

_OPTIONS = ("SERIALIZER", "SIGNING_KEY", "STATISTICS")


def _codec(shared: Shared, options: Mapping[str, Any]) -> Codec:
    serializer = options.get("SERIALIZER", "pickle")
    if serializer == "engine":
        return Passthrough()
    if serializer != "pickle":
        raise ImproperlyConfigured(
            f"OPTIONS['SERIALIZER'] must be 'pickle' (Django's values, the default) or "
            f"'engine' (the engine's own serializer), got {serializer!r}"
        )
    if shared.local:
        return LocalPickles()
    if options.get("SIGNING_KEY"):
        return SignedPickles(options["SIGNING_KEY"])
    if not settings.SECRET_KEY:
        raise ImproperlyConfigured("cache.django.CacheBackend signs values with SECRET_KEY: set it")
    # Values signed with a key being rotated out (SECRET_KEY_FALLBACKS) are still read.
    return SignedPickles(settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))


def _check_options(options: object) -> Mapping[str, Any]:
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"OPTIONS must be a dict, got {type(options).__name__}")
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ImproperlyConfigured(
            f"unknown OPTIONS {unknown} for cache.django.CacheBackend; known: "
            f"{', '.join(_OPTIONS)}. Engine settings (max_entries, namespace, "
            "socket_timeout...) go in the LOCATION URL, e.g. memory://?max_entries=10000"
        )
    return options


class CacheBackend(BaseCache):  # type: ignore[misc] # Django ships no type hints
    """A Django cache backend (``CACHES[...]["BACKEND"]``) over the engine ``LOCATION`` names.

    ``LOCATION`` is a :func:`cache.from_url` URL (``memory://``, ``redis://``,
    ``redis+cluster://``...); every alias and thread naming one URL shares one
    engine. ``OPTIONS``: ``SERIALIZER`` (``"pickle"``, the default, as
    Django's own backends; or ``"engine"``: values go to the engine as they
    are, JSON on Redis), ``SIGNING_KEY`` (default ``SECRET_KEY``; values
    signed with a key of ``SECRET_KEY_FALLBACKS`` are still read) and
    ``STATISTICS`` (True: record hits, misses and latencies in :attr:`stats`).
    """

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        options = _check_options(params.get("OPTIONS", {}))
        super().__init__(params)
        if not location:
            raise ImproperlyConfigured(
                "cache.django.CacheBackend needs a LOCATION URL, e.g. memory:// or "
                "redis://localhost:6379/0"
            )
        self._shared: Shared = shared_engine(location, bool(options.get("STATISTICS", False)))
        self._engine = self._shared.engine
        self._codec = _codec(self._shared, options)

    # -- the features over the same engine -----------------------------------

    @property
    def engine(self) -> Engine:
        """The engine behind this backend (a :class:`cache.backend.CacheBackend`)."""
        return self._engine

    @property
    def tags(self) -> CacheTag:
        """A :class:`~cache.advanced.CacheTag` over the engine (one per engine)."""
        return self._shared.feature("tags", CacheTag)

    @property
    def manager(self) -> ContentTypeCacheManager:
        """A :class:`~cache.advanced.ContentTypeCacheManager` over the engine and :attr:`tags`.

        Register its policies at start-up and name it in ``settings.CACHE_MANAGER``
        (a dotted path): the HTTP middleware then caches pages in this engine.
        """
        tags = self.tags
        return self._shared.feature(
            "manager", lambda engine: ContentTypeCacheManager(engine, tag_manager=tags)
        )

    @property
    def invalidator(self) -> CacheInvalidator:
        """A :class:`~cache.advanced.CacheInvalidator` over the engine: prefix and pattern drops."""
        return self._shared.feature("invalidator", CacheInvalidator)

    @property
    def swr(self) -> StaleWhileRevalidateCache:
        """A :class:`~cache.advanced.StaleWhileRevalidateCache` over the engine and :attr:`tags`."""
        tags = self.tags
        return self._shared.feature(
            "swr", lambda engine: StaleWhileRevalidateCache(engine, tag_manager=tags)
        )

    @property
    def stats(self) -> CacheStatistics | None:
        """The engine's counters if ``OPTIONS["STATISTICS"]`` is True, else None."""
        return self._shared.stats

    # -- keys and timeouts ----------------------------------------------------

    def _key(self, key: Any, version: int | None) -> str:
        """Django's key (made, then validated with its warnings), fitted to the engine."""
        made: str = self.make_and_validate_key(key, version=version)
        if not made or len(made) > MAX_KEY_LENGTH:
            # The engine refuses such keys: a digest names the entry instead.
            return "django:sha256:" + hashlib.sha256(made.encode()).hexdigest()
        return made

    def _keys(self, keys: Iterable[Any], version: int | None) -> dict[str, Any]:
        return {self._key(key, version): key for key in keys}

    def _seconds(self, timeout: Any) -> float:
        """Django's timeout as the engine's: None is math.inf, 0 or less expires at once."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return math.inf
        return float(timeout) if timeout > 0 else 0.0

    def _value(self, stored: Any, default: Any) -> Any:
        if stored is MISSING:
            return default
        value = self._codec.loads(stored)
        return default if value is MISSING else value

    # -- Django's API ----------------------------------------------------------

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        """Return the value under ``key``, or ``default``."""
        return self._value(self._engine.get(self._key(key, version), MISSING), default)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        """Store ``value`` under ``key`` (a timeout of 0 or less removes it)."""
        key = self._key(key, version)
        self._engine.set(key, self._codec.dumps(value), self._seconds(timeout))

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        """Store ``value`` only if ``key`` holds nothing; return True if it did."""
        key, seconds = self._key(key, version), self._seconds(timeout)
        stored = self._codec.dumps(value)
        if seconds <= 0:  # as Django's Redis backend: True if it would have been added
            return not self._engine.has_key(key)
        return self._engine.add(key, stored, seconds)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        """Give ``key`` a new timeout; return True if it exists."""
        key, seconds = self._key(key, version), self._seconds(timeout)
        if seconds <= 0:
            return self._engine.delete(key)
        return self._engine.touch(key, seconds)

    def delete(self, key: Any, version: int | None = None) -> bool:
        """Remove ``key``; return True if it held a value."""
        return self._engine.delete(self._key(key, version))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        """Return True if ``key`` holds a value."""
        return self._engine.has_key(self._key(key, version))

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        """Add ``delta`` to the integer under ``key``; ValueError if the key is absent."""
        made = self._key(key, version)
        if not self._engine.has_key(made):
            raise ValueError(f"Key '{key}' not found")
        return self._engine.incr(made, delta)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        """Return a dict of the keys found, with their values."""
        made = self._keys(keys, version)
        return self._found(made, self._engine.get_many(list(made)))

    def _found(self, made: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[Any, Any]:
        found = {}
        for key, raw in stored.items():
            value = self._codec.loads(raw)
            if value is not MISSING:
                found[made[key]] = value
        return found

    def set_many(
        self, data: Mapping[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        """Store every item of ``data``; return the keys that failed (none)."""
        mapping = {self._key(k, version): self._codec.dumps(v) for k, v in data.items()}
        if mapping:
            self._engine.set_many(mapping, self._seconds(timeout))
        return []

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        """Remove ``keys``."""
        made = list(self._keys(keys, version))
        if made:
            self._engine.delete_many(made)

    def clear(self) -> None:
        """Remove every entry, as Django does: every alias on this LOCATION loses its keys.

        On Redis, the LOCATION's ``namespace``; without one, the whole database
        (``FLUSHDB``, as Django's own Redis backend).
        """
        self._shared.clear()

    def close(self, **kwargs: Any) -> None:
        """Do nothing: Django calls it after each request, and the shared engine stays open."""

    # -- async twins: the engine's own, an asyncio client on Redis -----------

    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        """Async :meth:`get`."""
        return self._value(await self._engine.aget(self._key(key, version), MISSING), default)

    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        """Async :meth:`set`."""
        key = self._key(key, version)
        await self._engine.aset(key, self._codec.dumps(value), self._seconds(timeout))

    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        """Async :meth:`add`."""
        key, seconds = self._key(key, version), self._seconds(timeout)
        stored = self._codec.dumps(value)
        if seconds <= 0:
            return not await self._engine.ahas_key(key)
        return await self._engine.aadd(key, stored, seconds)

    async def atouch(
        self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        """Async :meth:`touch`."""
        key, seconds = self._key(key, version), self._seconds(timeout)
        if seconds <= 0:
            return await self._engine.adelete(key)
        return await self._engine.atouch(key, seconds)

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        """Async :meth:`delete`."""
        return await self._engine.adelete(self._key(key, version))

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        """Async :meth:`has_key`."""
        return await self._engine.ahas_key(self._key(key, version))

    async def aincr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        """Async :meth:`incr`."""
        made = self._key(key, version)
        if not await self._engine.ahas_key(made):
            raise ValueError(f"Key '{key}' not found")
        return await self._engine.aincr(made, delta)

    async def aget_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        """Async :meth:`get_many`."""
        made = self._keys(keys, version)
        return self._found(made, await self._engine.aget_many(list(made)))

    async def aset_many(
        self, data: Mapping[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        """Async :meth:`set_many`."""
        mapping = {self._key(k, version): self._codec.dumps(v) for k, v in data.items()}
        if mapping:
            await self._engine.aset_many(mapping, self._seconds(timeout))
        return []

    async def adelete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        """Async :meth:`delete_many`."""
        made = list(self._keys(keys, version))
        if made:
            await self._engine.adelete_many(made)

    async def aclear(self) -> None:
        """Async :meth:`clear`."""
        await self._shared.aclear()

    async def aclose(self, **kwargs: Any) -> None:
        """Async :meth:`close`."""
