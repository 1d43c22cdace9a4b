"""RedisCache: the protocol on Redis, Valkey or Redis Cluster (extra ``redis``).

The engine is its parts (batch, entries, index), each standing on the
connection layer (``_connection.py``: sides, keys, value format, outage
policy); the key-value primitives are here, a few lines each.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import ResponseError

from cache._recorder import NULL_RECORDER, StatsRecorder
from cache._types import MISSING, Missing, Timeout
from cache.backend.base import CacheBackend
from cache.backend.redis._batch import RedisBatch
from cache.backend.redis._client import ClientOptions, OutagePolicy
from cache.backend.redis._entries import RedisEntries
from cache.backend.redis._index import RedisIndex
from cache.backend.redis._sides import Call, Side
from cache.backend.serializers import JSONSerializer, Serializer, check_serializer
from cache.backend.validation import check_default_timeout, check_key
from cache.errors import BackendUnavailableError, CacheConfigError, CacheTypeError

__all__ = ["BackendUnavailableError", "RedisCache"]


#: Characters a namespace cannot hold as they are: the separator (so that no
#: key of one namespace is a key of another: "shop" + "eu:x" is not
#: "shop:eu" + "x"), the Redis Cluster hash tag braces (the engine places keys
#: in slots with them) and the escape itself (issue 7).
_NAMESPACE_ESCAPES = str.maketrans({"%": "%25", ":": "%3A", "{": "%7B", "}": "%7D"})


def namespace_prefix(namespace: object) -> str:
    """Return the key prefix of ``namespace``: its escaped form and ``:``; "" for none."""
    if not isinstance(namespace, str):
        raise CacheTypeError(
            f"namespace must be a str (e.g. namespace='myapp'), got "
            f"{type(namespace).__name__} {namespace!r:.60}"
        )
    return namespace.translate(_NAMESPACE_ESCAPES) + ":" if namespace else ""


def _version(node: dict[str, Any]) -> str:
    """Return the server's own version from its ``INFO``: Valkey's, else Redis's."""
    return str(node.get("valkey_version") or node.get("redis_version", "?"))


def _seconds_left(pttl: int) -> float | Missing | None:
    """Read a ``PTTL`` reply: -1 never expires, -2 (or down) absent."""
    if pttl == -1:
        return None
    return MISSING if pttl < 0 else pttl / 1000


class RedisCache(RedisBatch, RedisEntries, RedisIndex, CacheBackend):
    """A cache shared by every process and host that reaches one Redis (or Valkey, or cluster).

    Args:
        url: ``redis://[:password@]host:port/db``, ``rediss://`` (TLS) or
            ``unix:///path.sock``; a cluster's seed node with ``cluster=True``.
        client: An existing ``redis.Redis``/``RedisCluster`` to use instead of ``url``.
        async_client: Its ``redis.asyncio`` counterpart; without one, async
            calls run the sync client in a worker thread.
        namespace: Prefix of every key, so that several apps share one Redis.
            Any str: ``:``, ``{``, ``}`` and ``%`` are escaped in the prefix,
            so no key of one namespace is a key of another (``"shop"`` and
            ``"shop:eu"`` are apart). Without one the engine shares the whole
            database with whatever else is in it, and :meth:`clear` refuses.
        default_timeout: Seconds an entry lives when ``timeout=None``
            (``None``: until Redis evicts it).
        serializer: JSON by default; ``MsgpackSerializer()``, or a
            ``PickleSerializer(secret_key)`` that signs what it stores.
        strict: Raise ``BackendUnavailableError`` whenever Redis fails; by
            default a failed read is counted, logged at a limited rate and
            served as a miss, a failed write that adds data (``set``, ``add``,
            ``incr``, ``touch``...) as a no-op.
        stats: Recorder of errors (e.g. a ``CacheStatistics``).
        cluster: ``url`` is a seed node of a Redis Cluster.
        socket_timeout: Seconds before a call gives up.
        connect_timeout: Seconds before connecting gives up.
        max_connections: Connections the client's pool may open.

    Removals never degrade (issue 1). ``delete``, ``delete_many``,
    ``delete_if_equals``, ``clear``, ``flush_database``, ``index_remove``,
    the index reads that choose what to remove (``index_prefix``,
    ``index_scan``), their async twins, and so every invalidation built on
    them (tag versions, ``CacheInvalidator``, ``@cached(...).invalidate()``,
    ``ContentTypeCacheManager.invalidate_content``) raise
    ``BackendUnavailableError`` when they cannot be confirmed applied: the
    server is down, hung past ``socket_timeout``, the circuit is open, or it
    refused the command; ``strict`` or not. The entry may then still be there
    (the server may come back with its data) and is served again until the
    caller retries the invalidation: retry it, or stop serving.

    Corrupt or foreign bytes under a key are a miss: counted (``corrupt`` in
    :meth:`info`, an error for ``stats``), logged at a limited rate and
    deleted. A command the server refuses is counted apart (``refused``),
    never opens the circuit, and is a miss for a read.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        client: Any = None,
        async_client: Any = None,
        namespace: str = "",
        default_timeout: Timeout = None,
        serializer: Serializer | None = None,
        strict: bool = False,
        stats: StatsRecorder = NULL_RECORDER,
        cluster: bool = False,
        socket_timeout: float = 0.25,
        connect_timeout: float = 0.25,
        max_connections: int = 50,
    ) -> None:
        prefix = namespace_prefix(namespace)
        self.namespace = namespace
        super().__init__(
            ClientOptions(url, cluster, socket_timeout, connect_timeout, max_connections),
            client,
            async_client,
            prefix=prefix,
            default_timeout=check_default_timeout(default_timeout),
            serializer=JSONSerializer() if serializer is None else check_serializer(serializer),
            outage=OutagePolicy(strict=strict, stats=stats),
        )

    @property
    def client(self) -> Any:
        """The sync ``redis`` client the engine uses (``Redis``, ``RedisCluster``...).

        For what the engine does not do itself, e.g. the invalidation messages
        of :class:`~cache.backend.NearCache`; its keys carry the namespace's
        prefix (:func:`namespace_prefix`).
        """
        return self._sync.client

    @property
    def socket_timeout(self) -> float | None:
        """Seconds a command waits for its reply (None: as long as it takes)."""
        return self._reply_wait

    @property
    def errors(self) -> int:
        """Calls that failed (or were skipped while the server was down) so far."""
        return self.outage.errors

    # -- commands, built once for both sides ------------------------------------

    def _get(self, key: str) -> Call:
        k = self._k(check_key(key))
        return lambda side: side.client.get(k)

    def _set(self, key: str, value: Any, timeout: Timeout, nx: bool = False) -> Call | None:
        k = self._k(check_key(key))
        ttl = self._ttl_ms(timeout)
        if ttl is False:
            return None
        data = self._dump(value)
        return lambda side: side.client.set(k, data, px=ttl, nx=nx)

    def _incr(self, key: str, delta: int) -> Call:
        k = self._k(check_key(key))
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise CacheTypeError(f"delta must be an int, got {type(delta).__name__}")
        ttl = self._ttl_ms(None)
        ms = 0 if ttl in (None, False) else ttl
        return lambda side: side.scripts["incr"](keys=[k], args=[delta, ms])

    def _incr_error(self, key: str, exc: ResponseError) -> CacheTypeError:
        return CacheTypeError(
            f"incr needs an int under key {key!r}; the value was left unchanged ({exc})"
        )

    # -- key-value --------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value under ``key``, or ``default`` (also when Redis is down)."""
        value = self._load(self._run("get", self._get(key), None, keys=[self._k(key)]), key)
        return default if value is MISSING else value

    async def aget(self, key: str, default: Any = None) -> Any:
        """Async :meth:`get`."""
        value = self._load(await self._arun("get", self._get(key), None, keys=[self._k(key)]), key)
        return default if value is MISSING else value

    def set(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Store ``value``; a timeout of 0 or less removes the key."""
        call = self._set(key, value, timeout)
        if call is None:
            self.delete(key)
        else:
            self._run("set", call, None, keys=[self._k(key)])

    async def aset(self, key: str, value: Any, timeout: Timeout = None) -> None:
        """Async :meth:`set`."""
        call = self._set(key, value, timeout)
        if call is None:
            await self.adelete(key)
        else:
            await self._arun("set", call, None, keys=[self._k(key)])

    def add(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Store only if absent (``SET NX``); False when Redis is down."""
        call = self._set(key, value, timeout, nx=True)
        if call is None:
            return not self.has_key(key)
        return bool(self._run("add", call, False, keys=[self._k(key)]))

    async def aadd(self, key: str, value: Any, timeout: Timeout = None) -> bool:
        """Async :meth:`add`."""
        call = self._set(key, value, timeout, nx=True)
        if call is None:
            return not await self.ahas_key(key)
        return bool(await self._arun("add", call, False, keys=[self._k(key)]))

    def delete(self, key: str) -> bool:
        """Remove ``key`` (``UNLINK``); return True if it existed."""
        k = self._k(check_key(key))
        return bool(self._run("delete", lambda side: side.client.unlink(k), 0, keys=[k]))

    async def adelete(self, key: str) -> bool:
        """Async :meth:`delete`."""
        k = self._k(check_key(key))
        return bool(await self._arun("delete", lambda side: side.client.unlink(k), 0, keys=[k]))

    def _delete_if(self, key: str, expected: Any) -> Call:
        k, data = self._k(check_key(key)), self._dump(expected)
        return lambda side: side.scripts["delete_if_equals"](keys=[k], args=[data])

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        """Remove ``key`` only if it holds ``expected`` (one atomic script)."""
        call, k = self._delete_if(key, expected), [self._k(key)]
        return bool(self._run("delete_if_equals", call, 0, keys=k))

    async def adelete_if_equals(self, key: str, expected: Any) -> bool:
        """Async :meth:`delete_if_equals`."""
        call, k = self._delete_if(key, expected), [self._k(key)]
        return bool(await self._arun("delete_if_equals", call, 0, keys=k))

    def _touch(self, key: str, timeout: Timeout) -> tuple[Call, bool]:
        k = self._k(check_key(key))
        ttl = self._ttl_ms(timeout)
        if ttl is False:
            return (lambda side: side.client.unlink(k)), True
        ms = 0 if ttl is None else ttl
        return (lambda side: side.scripts["touch"](keys=[k], args=[ms])), False

    def ttl(self, key: str) -> float | Missing | None:
        """Return the seconds ``key`` has left (``PTTL``), None: no expiry, MISSING: absent.

        MISSING too when Redis is down (and ``strict`` is off).
        """
        k = self._k(check_key(key))
        return _seconds_left(int(self._run("ttl", lambda side: side.client.pttl(k), -2, keys=[k])))

    async def attl(self, key: str) -> float | Missing | None:
        """Async :meth:`ttl`."""
        k = self._k(check_key(key))
        reply = await self._arun("ttl", lambda side: side.client.pttl(k), -2, keys=[k])
        return _seconds_left(int(reply))

    def touch(self, key: str, timeout: Timeout = None) -> bool:
        """Give ``key`` a new timeout; return True if it exists.

        A timeout of 0 or less removes the key: a removal, which raises when
        it cannot be confirmed (issue 1).
        """
        call, removes = self._touch(key, timeout)
        return bool(self._run("delete" if removes else "touch", call, 0, keys=[self._k(key)]))

    async def atouch(self, key: str, timeout: Timeout = None) -> bool:
        """Async :meth:`touch`."""
        call, removes = self._touch(key, timeout)
        k = [self._k(key)]
        return bool(await self._arun("delete" if removes else "touch", call, 0, keys=k))

    def incr(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` atomically (``INCRBY``); 0 when Redis is down."""
        call = self._incr(key, delta)
        try:
            return int(self._run("incr", call, 0, replies=True, keys=[self._k(key)]))
        except ResponseError as exc:  # raised through _run: not an outage
            raise self._incr_error(key, exc) from None

    async def aincr(self, key: str, delta: int = 1) -> int:
        """Async :meth:`incr`."""
        call = self._incr(key, delta)
        try:
            return int(await self._arun("incr", call, 0, replies=True, keys=[self._k(key)]))
        except ResponseError as exc:
            raise self._incr_error(key, exc) from None

    def _no_namespace(self) -> CacheConfigError:
        return CacheConfigError(
            "clear() needs a namespace: without one this RedisCache shares its database "
            "with every other app and namespace in it, and FLUSHDB would wipe them all. "
            "Give the engine a namespace (RedisCache(url, namespace='myapp')) so that "
            "clear() removes only its keys, or call flush_database() to empty the whole "
            "database on purpose"
        )

    def _clear(self, side: Side) -> None:
        batch: list[bytes] = []
        match = self._match()
        for name in side.client.scan_iter(match=match, count=1000):
            batch.append(name)
            if len(batch) >= 1000:
                side.client.unlink(*batch)
                batch.clear()
        if batch:
            side.client.unlink(*batch)

    def clear(self) -> None:
        """Remove this namespace's keys (``SCAN`` + ``UNLINK``), its reserved keys included.

        Without a namespace, raise ``CacheConfigError`` (nothing is removed):
        emptying the whole database is :meth:`flush_database`, by name.
        """
        if not self._prefix:
            raise self._no_namespace()
        self._run("clear", self._clear, None)

    async def aclear(self) -> None:
        """Async :meth:`clear`."""
        if not self._prefix:
            raise self._no_namespace()
        await asyncio.to_thread(self._run, "clear", self._clear, None)

    def flush_database(self) -> None:
        """Empty the whole database (``FLUSHDB``; every primary of a cluster), all namespaces."""
        self._run("flush_database", lambda side: side.client.flushdb(), None)

    async def aflush_database(self) -> None:
        """Async :meth:`flush_database`."""
        await self._arun("flush_database", lambda side: side.client.flushdb(), None)

    def cleanup_expired(self) -> int:
        """Return 0: Redis removes expired keys itself."""
        return 0

    def info(self) -> dict[str, Any]:
        """Return the server's figures (summed over a cluster's primaries) and this engine's.

        ``keys`` counts the whole database, not only this namespace. The
        engine's counters are there also when the server is down: ``errors``
        (failed or skipped calls), ``refused`` (commands the server refused)
        and ``corrupt`` (unreadable values served as misses).
        """

        def read(side: Side) -> dict[str, Any]:
            if self.cluster:
                raw = side.client.info(target_nodes=side.client.PRIMARIES)
                nodes = [n for n in raw.values() if isinstance(n, dict)]
            else:
                nodes = [side.client.info()]
            total: dict[str, Any] = {
                "engine": "RedisCache (cluster)" if self.cluster else "RedisCache",
                # Valkey reports a fixed redis_version (7.2.4) for clients; its own apart.
                "server": nodes[0].get("server_name", "redis") if nodes else "?",
                "version": _version(nodes[0]) if nodes else "?",
                "nodes": len(nodes),
            }
            for name in ("used_memory", "evicted_keys", "keyspace_hits", "keyspace_misses"):
                total[name] = sum(int(n.get(name, 0)) for n in nodes)
            total["keys"] = sum(
                int(value.get("keys", 0))
                for n in nodes
                for name, value in n.items()
                if name.startswith("db") and isinstance(value, dict)
            )
            return total

        counters = {
            "errors": self.outage.errors,
            "refused": self.outage.refused,
            "corrupt": self.outage.corrupt,
        }
        return {**self._run("info", read, {}), **counters}
