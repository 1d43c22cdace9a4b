"""The sides of RedisCache: a client (sync or asyncio) with its registered scripts.

asyncio clients belong to one event loop, so there is one asyncio side per
running loop, closed when that loop shuts down.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Any

from cache.backend.redis._async_cluster import close_async_client
from cache.backend.redis._client import FAILURES, ClientOptions, make_async_client
from cache.backend.redis._scripts import BY_NAME
from cache.backend.redis._sentinel import aclose_sentinel_parts

__all__ = ["AsyncSides", "Call", "Side"]


class Side:
    """One client (sync or asyncio) with its registered scripts."""

    def __init__(self, client: Any, cluster: bool) -> None:
        self.client = client
        self.scripts = {name: client.register_script(code) for name, code in BY_NAME.items()}
        self.mget = client.mget_nonatomic if cluster else client.mget
        self.closer: AsyncGenerator[None, None] | None = None
        self.ready: asyncio.Event | None = None


#: A command built once for both sides: called with the side to run it on.
Call = Callable[[Side], Any]


async def _close_at_loop_shutdown(client: Any) -> AsyncGenerator[None, None]:
    """Close ``client`` when its event loop shuts down its async generators.

    ``asyncio.run`` and ``asyncio.Runner`` finalize every live async generator
    before closing the loop, so this closes the connections of a loop's client
    on the loop they belong to, without the user having to call ``aclose``.
    """
    try:
        yield
    finally:
        await close_async_client(client)
        await aclose_sentinel_parts(client)


class AsyncSides:
    """The asyncio side of each running event loop, or the one the user gave.

    Without either (a sync client given alone), :meth:`current` returns None
    and async calls run the sync side in a worker thread.
    """

    def __init__(self, given: Any, options: ClientOptions | None, cluster: bool) -> None:
        self._given = Side(given, cluster) if given is not None else None
        self._options = options
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Side] = (
            weakref.WeakKeyDictionary()
        )

    async def current(self) -> Side | None:
        """Return the asyncio side of the running loop, creating it on first use."""
        if self._given is not None:
            return self._given
        if self._options is None:
            return None
        side = self._by_loop.get(asyncio.get_running_loop())
        if side is None:
            return await self._open(self._options)
        if side.ready is not None and not side.ready.is_set():
            await side.ready.wait()
        return side

    async def _open(self, options: ClientOptions) -> Side:
        side = Side(make_async_client(options), options.cluster)
        self._by_loop[asyncio.get_running_loop()] = side
        side.ready = asyncio.Event()
        closer = _close_at_loop_shutdown(side.client)
        await closer.__anext__()  # registered with the loop's async-generator hooks
        side.closer = closer
        try:
            if options.cluster:
                # Discover the cluster once, before any command: concurrent
                # first commands on a new asyncio cluster client race on its
                # node connections.
                await side.client.initialize()
        except FAILURES:
            pass  # unreachable now: the command that follows reports it
        finally:
            side.ready.set()
        return side

    async def close_current(self) -> None:
        """Close the running loop's side, if it has one."""
        side = self._by_loop.pop(asyncio.get_running_loop(), None)
        if side is not None and side.closer is not None:
            await side.closer.aclose()
