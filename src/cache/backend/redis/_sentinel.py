"""Redis behind Sentinel: ``redis+sentinel://h1:26379,h2:26379/service/db`` to a client.

The client asks the sentinels for the service's primary on every new
connection, so after a failover the next connection goes to the promoted
replica; connections to the old primary fail (or answer READONLY) and are
replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

from cache.errors import CacheConfigError

__all__ = [
    "SCHEMES",
    "SentinelTarget",
    "aclose_sentinel_parts",
    "close_sentinel_parts",
    "parse_sentinel_url",
    "sentinel_client",
]

#: URL scheme -> whether the connections use TLS.
SCHEMES = {
    "redis+sentinel": False,
    "rediss+sentinel": True,
    "valkey+sentinel": False,
    "valkeys+sentinel": True,
}
DEFAULT_PORT = 26379


@dataclass(frozen=True)
class SentinelTarget:
    """Where the sentinels are, which service they watch, and how to log in to its primary."""

    hosts: tuple[tuple[str, int], ...]
    service: str
    db: int
    ssl: bool
    username: str | None
    password: str | None


def parse_sentinel_url(url: str) -> SentinelTarget | None:
    """Return the target of a sentinel URL, None for any other URL; raise if it is malformed."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        return None
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    hosts = []
    for item in hostlist.split(","):
        host, colon, port = item.strip().rpartition(":") if ":" in item else (item, "", "")
        host = host.strip("[]")
        if not host or (colon and not port.isdigit()):
            raise CacheConfigError(
                f"{url!r}: the sentinels are host:port pairs separated by commas, "
                f"e.g. redis+sentinel://s1:26379,s2:26379/mymaster/0; got {item!r}"
            )
        hosts.append((host, int(port) if colon else DEFAULT_PORT))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise CacheConfigError(
            f"{url!r} must name the service the sentinels watch, and may name a database: "
            "redis+sentinel://s1:26379,s2:26379/mymaster/0"
        )
    user, _, password = userinfo.partition(":")
    return SentinelTarget(
        hosts=tuple(hosts),
        service=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        ssl=SCHEMES[scheme.lower()],
        username=unquote(user) or None,
        password=unquote(password) or None,
    )


def sentinel_client(target: SentinelTarget, common: dict[str, Any], in_loop: bool) -> Any:
    """Return a client of ``target``'s primary: sync, or asyncio when ``in_loop``."""
    asking = {  # the sentinels themselves: short timeouts, no login, TLS as the URL says
        "socket_timeout": common["socket_timeout"],
        "socket_connect_timeout": common["socket_connect_timeout"],
        "ssl": target.ssl,
    }
    login = {"username": target.username, "password": target.password, "ssl": target.ssl}
    cls = AsyncSentinel if in_loop else Sentinel
    sentinel = cls(list(target.hosts), sentinel_kwargs=asking, **login)
    return sentinel.master_for(target.service, db=target.db, **common)


def close_sentinel_parts(client: Any) -> None:
    """Close what a sync sentinel client holds besides itself: its pool, its sentinels' clients.

    The primary's pool was given to the client (``master_for``), so closing
    the client leaves it open; so are the clients asking the sentinels.
    """
    pool: Any = getattr(client, "connection_pool", None)
    manager = getattr(pool, "sentinel_manager", None)
    if manager is None:
        return
    pool.disconnect()
    for asker in manager.sentinels:
        asker.close()


async def aclose_sentinel_parts(client: Any) -> None:
    """Close what an asyncio sentinel client holds besides itself (as close_sentinel_parts)."""
    pool: Any = getattr(client, "connection_pool", None)
    manager = getattr(pool, "sentinel_manager", None)
    if manager is None:
        return
    await pool.disconnect()
    for asker in manager.sentinels:
        await asker.aclose()
