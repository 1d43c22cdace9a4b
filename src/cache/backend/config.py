"""Configuration by URL: ``from_url("redis://host:6379/0?namespace=app")``.

Schemes:

- ``memory://`` — an :class:`~cache.backend.InMemoryCache`; options
  ``max_entries``, ``max_bytes``, ``default_timeout``, ``sweep_interval``, and ``serializer``
  (``json``, ``msgpack``, ``typed``) to store serialized copies, as Redis
  would (:class:`~cache.backend.CopyingCache`).
- ``redis://`` and ``rediss://`` (TLS), ``unix:///path/to/redis.sock`` — a
  :class:`~cache.backend.RedisCache` (``valkey://`` and ``valkeys://`` too);
  ``redis+cluster://`` and ``rediss+cluster://`` name a cluster's seed node;
  ``redis+sentinel://s1:26379,s2:26379/mymaster/0`` (and ``rediss+sentinel``)
  the sentinels watching a primary, by service name.
  Options: ``namespace``, ``default_timeout``, ``strict``, ``serializer``
  (``json``, ``msgpack`` or ``typed``), ``compress`` (a threshold in bytes: values as
  large are stored zlib-compressed), ``socket_timeout``, ``connect_timeout``,
  ``max_connections``; ``local_cache`` (entries kept in process: a
  :class:`~cache.backend.NearCache`, coherent across processes) and
  ``local_ttl`` (seconds a local copy lives at most, 5 by default); the
  client's own ``ssl_cert_reqs``, ``ssl_ca_certs``, ``ssl_certfile``,
  ``ssl_keyfile``, ``client_name`` and ``db`` (for ``unix://``) are passed on.

``default_timeout=none`` (or ``inf``) means no expiry; every other number must
be finite and positive. :data:`ENV_VAR` (``CACHE_URL``)
is the URL read by :func:`from_env`, the demo, the CLI and ``@cached``'s
default backend.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from cache.backend.base import CacheBackend
from cache.errors import CacheConfigError

__all__ = ["ENV_VAR", "CacheConfigError", "from_env", "from_url"]

ENV_VAR = "CACHE_URL"

_REDIS = {"redis": "redis", "rediss": "rediss", "valkey": "redis", "valkeys": "rediss"}
_CLUSTER = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_SENTINEL = frozenset({"redis+sentinel", "rediss+sentinel", "valkey+sentinel", "valkeys+sentinel"})
_PASSED_ON = frozenset(
    {"ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "client_name", "db"}
)
_SCHEMES = (
    "memory://, redis://, rediss://, unix://, redis+cluster://, rediss+cluster://, "
    "redis+sentinel://"
)


def _number(kind: Callable[[str], Any], name: str, positive: bool = False) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise CacheConfigError(
                f"option {name}={text!r} must be {'an integer' if kind is int else 'a number'}"
            ) from None
        # float() reads "inf" and "nan": refused here, not at the first call (issue 9).
        if not math.isfinite(value):
            raise CacheConfigError(f"option {name}={text!r} must be a finite number")
        if value < 0:
            raise CacheConfigError(f"option {name}={text!r} must not be negative")
        if positive and value == 0:
            raise CacheConfigError(f"option {name}={text!r} must be positive")
        return value

    return parse


def _timeout(text: str) -> float | None:
    if text.lower() in ("none", "inf", ""):
        return None
    return float(_number(float, "default_timeout", positive=True)(text))


def _flag(name: str) -> Callable[[str], bool]:
    def parse(text: str) -> bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise CacheConfigError(f"option {name}={text!r} must be true or false")

    return parse


def _serializer(text: str) -> Any:
    from cache.backend import serializers  # noqa: PLC0415

    if text == "json":
        return serializers.JSONSerializer()
    if text == "msgpack":
        return serializers.MsgpackSerializer()
    if text == "typed":
        from cache.backend.typed import TypedSerializer  # noqa: PLC0415

        return TypedSerializer()
    raise CacheConfigError(
        f"option serializer={text!r} is not json, msgpack or typed (a signed pickle needs a "
        "secret key: build RedisCache(serializer=PickleSerializer(key)) in code)"
    )


_MEMORY_OPTIONS: dict[str, Callable[[str], Any]] = {
    "serializer": _serializer,  # stores copies, as Redis would: CopyingCache
    "max_entries": _number(int, "max_entries", positive=True),
    "default_timeout": _timeout,
    "sweep_interval": _number(float, "sweep_interval", positive=True),
    "max_bytes": _number(int, "max_bytes", positive=True),
}
_REDIS_OPTIONS: dict[str, Callable[[str], Any]] = {
    "namespace": str,
    "default_timeout": _timeout,
    "strict": _flag("strict"),
    "serializer": _serializer,
    "compress": _number(int, "compress", positive=False),
    "socket_timeout": _number(float, "socket_timeout", positive=True),
    "connect_timeout": _number(float, "connect_timeout", positive=True),
    "max_connections": _number(int, "max_connections", positive=True),
    "local_cache": _number(int, "local_cache", positive=True),
    "local_ttl": _number(float, "local_ttl", positive=True),
}


def _options(
    url: str, pairs: list[tuple[str, str]], known: dict[str, Callable[[str], Any]], scheme: str
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Parse our options; return them and the client's own, refusing unknown names."""
    ours: dict[str, Any] = {}
    passed: list[tuple[str, str]] = []
    for name, text in pairs:
        if name in known:
            if name in ours:
                raise CacheConfigError(f"option {name!r} is given twice in {url!r}")
            ours[name] = known[name](text)
        elif scheme != "memory" and name in _PASSED_ON:
            passed.append((name, text))
        else:
            names = sorted(known) + ([] if scheme == "memory" else sorted(_PASSED_ON))
            raise CacheConfigError(
                f"unknown option {name!r} for {scheme}:// in {url!r}; known: {', '.join(names)}"
            )
    return ours, passed


def _redis_target(url: str, scheme: str, parts: SplitResult) -> str:
    """Check the address part of a Redis URL; return the scheme the client is given."""
    if scheme in _SENTINEL:
        from cache.backend.redis import parse_sentinel_url  # noqa: PLC0415

        parse_sentinel_url(url)  # raises naming what is wrong
        return scheme
    if scheme == "unix":
        if not parts.path:
            raise CacheConfigError("unix:// needs a socket path, e.g. unix:///run/redis.sock")
        return "unix"
    cluster = scheme in _CLUSTER
    if not cluster and scheme not in _REDIS:
        raise CacheConfigError(f"unknown scheme {scheme!r} in {url!r}; use one of {_SCHEMES}")
    if not parts.hostname:
        raise CacheConfigError(f"{scheme}:// needs a host, e.g. {scheme}://localhost:6379/0")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise CacheConfigError(f"the port in {parts.netloc!r} is not a number") from None
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise CacheConfigError(f"the database in {url!r} must be a number, got {path!r}")
    if cluster and path not in ("", "0"):
        raise CacheConfigError("a Redis Cluster has database 0 only: drop the path")
    return _CLUSTER[scheme] if cluster else _REDIS[scheme]


def _memory(url: str, parts: SplitResult, pairs: list[tuple[str, str]]) -> CacheBackend:
    if parts.netloc or parts.path not in ("", "/"):
        raise CacheConfigError(
            f"memory:// takes no host or path, got {parts.netloc + parts.path!r} in {url!r}"
        )
    from cache.backend.memory.engine import InMemoryCache  # noqa: PLC0415

    options, _ = _options(url, pairs, _MEMORY_OPTIONS, "memory")
    serializer = options.pop("serializer", None)
    engine = InMemoryCache(**options)
    if serializer is None:
        return engine
    from cache.backend.copying import CopyingCache  # noqa: PLC0415

    return CopyingCache(engine, serializer)


def from_url(url: str) -> CacheBackend:
    """Return the backend a URL describes (see the module's text for schemes and options).

    Raises:
        CacheConfigError: naming the scheme, option or value at fault.
    """
    if not isinstance(url, str) or "://" not in url:
        raise CacheConfigError(
            f"cache URL {url!r} has no scheme: write e.g. memory:// or redis://host:6379/0"
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise CacheConfigError(f"the query of {url!r} is not name=value pairs") from None
    if scheme == "memory":
        return _memory(url, parts, pairs)
    target = _redis_target(url, scheme, parts)
    options, passed = _options(url, pairs, _REDIS_OPTIONS, target)
    from cache.backend.redis.engine import RedisCache  # noqa: PLC0415 - needs the redis extra

    if "compress" in options:  # ?compress=1024: values of 1,024 bytes or more, zlib
        from cache.backend.compression import Compressed  # noqa: PLC0415

        threshold = options.pop("compress")
        options["serializer"] = Compressed(options.get("serializer"), threshold=threshold)
    near: dict[str, Any] = {n: options.pop(n) for n in ("local_cache", "local_ttl") if n in options}
    if near and "local_cache" not in near:
        raise CacheConfigError(
            f"option local_ttl needs local_cache (the entries kept in process) in {url!r}, "
            "e.g. ?local_cache=10000&local_ttl=5"
        )
    query = f"?{urlencode(passed)}" if passed else ""
    shared = RedisCache(
        f"{target}://{parts.netloc}{parts.path}{query}", cluster=scheme in _CLUSTER, **options
    )
    return _near(shared, near) if near else shared


def _near(shared: Any, options: dict[str, Any]) -> CacheBackend:
    from cache.backend.near import NearCache  # noqa: PLC0415

    ttl = options.get("local_ttl", 5.0)
    return NearCache(shared, max_entries=options["local_cache"], local_ttl=ttl)


def from_env(default: str = "memory://") -> CacheBackend:
    """Return the backend named by the ``CACHE_URL`` environment variable, else by ``default``."""
    return from_url(os.environ.get(ENV_VAR) or default)
