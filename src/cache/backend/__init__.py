"""Storage engines behind one protocol.

``InMemoryCache`` is the embedded default. Every engine implements
:class:`CacheBackend`, so the features in ``cache.advanced`` run on any of them;
:class:`ProxyBackend` wraps one engine for a wrapper to change a few calls.
``Entry`` and ``Claim`` are for engine authors; the serializers are for
``RedisCache(serializer=...)``. ``RedisCache`` and ``NearCache`` (an in-process
tier over it) need the ``redis`` extra and are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cache.backend.base import CacheBackend, Claim, Entry
from cache.backend.compression import Compressed
from cache.backend.config import from_env, from_url
from cache.backend.copying import CopyingCache
from cache.backend.memory import DEFAULT_MAX_ENTRIES, InMemoryCache
from cache.backend.proxy import ProxyBackend
from cache.backend.serializers import (
    JSONSerializer,
    MsgpackSerializer,
    PickleSerializer,
    Serializer,
)
from cache.backend.typed import TypedSerializer

if TYPE_CHECKING:
    from cache.backend.near import NearCache
    from cache.backend.redis import RedisCache

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "CacheBackend",
    "Claim",
    "Compressed",
    "CopyingCache",
    "Entry",
    "InMemoryCache",
    "JSONSerializer",
    "MsgpackSerializer",
    "NearCache",
    "PickleSerializer",
    "ProxyBackend",
    "RedisCache",
    "Serializer",
    "TypedSerializer",
    "from_env",
    "from_url",
]


def __getattr__(name: str) -> Any:
    # RedisCache needs the ``redis`` extra: import it only when asked for, so
    # that ``import cache.backend`` stays light and works without it.
    if name in ("RedisCache", "NearCache"):
        try:
            from cache.backend.near import NearCache  # noqa: PLC0415
            from cache.backend.redis import RedisCache  # noqa: PLC0415
        except ImportError as exc:
            raise ImportError(
                f"{name} needs the redis client: pip install 'tagcache[redis]'"
            ) from exc
        return RedisCache if name == "RedisCache" else NearCache
    raise AttributeError(f"module 'cache.backend' has no attribute {name!r}")
