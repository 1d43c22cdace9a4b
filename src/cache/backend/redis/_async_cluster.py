"""redis.asyncio's cluster client, whose reaction to one node's trouble stays with that node.

Three reactions of the stock client made a dead or rejoining node stall or
fail the keys of the nodes that answer (issue 11):

- Where it closes the connections of every node (a ``ClusterDownError`` from
  a node rejoining after a restart, a slot no node covers, repeated ``MOVED``
  replies), the commands under way on the healthy nodes fail with their
  closed connections, and each of those failures starts it over. Here that
  close only asks for the slots to be rediscovered before the next command;
  the connections are closed with the client (:meth:`AsyncCluster.close_connections`).
- Each rediscovery also reread the command table (``COMMAND``, tens of
  milliseconds to parse) while every task's next command waited for it. The
  table does not change with the topology: it is read once.
- Retries inside a call rediscover the cluster each time: the client is built
  without them (see ``make_async_client``).
"""

from __future__ import annotations

from typing import Any

from redis._parsers import AsyncCommandsParser
from redis.asyncio.cluster import RedisCluster

__all__ = ["AsyncCluster", "close_async_client"]


class _CommandTable(AsyncCommandsParser):
    """The cluster's command table, read from the first node that answers, once."""

    __slots__ = ()

    async def initialize(self, node: Any = None) -> None:
        if node is not None:
            self.node = node  # asked for the keys of commands whose keys move
        if not self.commands:
            await super().initialize(node)


class AsyncCluster(RedisCluster):
    """An asyncio cluster client that keeps one node's trouble to that node (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands_parser = _CommandTable()

    async def aclose(self) -> None:
        """Ask for the slots to be rediscovered before the next command (connections stay)."""
        self._initialize = True

    async def close_connections(self) -> None:
        """Close the connections of every node: the end of the client."""
        self._initialize = False  # or the stock close would find nothing to do
        await super().aclose()


async def close_async_client(client: Any) -> None:
    """Close an asyncio client's connections (every node's, for a cluster)."""
    if isinstance(client, AsyncCluster):
        await client.close_connections()
    else:
        await client.aclose()
