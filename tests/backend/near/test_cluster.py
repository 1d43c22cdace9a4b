"""NearCache on Redis Cluster: the channel's slot moves to another primary, the tier follows."""

from __future__ import annotations

import redis
from redis.crc import key_slot

from cache.testing.redis_server import RedisClusterServers
from tests.backend.near.conftest import Opener, caught_up, eventually


def _move(clients: dict[int, redis.Redis], slot: int, source: int, target: int) -> None:
    """Move ``slot`` (and its keys) from the primary on port ``source`` to ``target``."""
    ids = {port: client.cluster("myid") for port, client in clients.items()}
    clients[target].cluster("setslot", slot, "importing", ids[source])
    clients[source].cluster("setslot", slot, "migrating", ids[target])
    keys = clients[source].cluster("getkeysinslot", slot, 1000)
    if keys:
        clients[source].migrate("127.0.0.1", target, keys, 0, 5000)
    for port in (target, source, *(p for p in clients if p not in (source, target))):
        clients[port].cluster("setslot", slot, "node", ids[target])


def test_a_moved_channel_slot_is_followed(
    redis_cluster: RedisClusterServers, open_near: Opener
) -> None:
    a = open_near(redis_cluster.url, namespace="moved", cluster=True)
    b = open_near(redis_cluster.url, namespace="moved", cluster=True)
    slot = key_slot(b.bus.channel.encode())
    clients = {node.port: redis.Redis(port=node.port) for node in redis_cluster.nodes}
    owner = next(
        int(primary[1])
        for start, end, primary, *_ in next(iter(clients.values())).cluster("slots")
        if start <= slot <= end
    )
    other = next(port for port in clients if port != owner)
    try:
        a.set("k", "old")
        caught_up(b, a)
        assert b.get("k") == "old" and b.get("k") == "old" and b.tier.hits == 1
        lost = b.bus.lost
        _move(clients, slot, owner, other)
        eventually(lambda: b.bus.lost > lost, timeout=10)  # the server ended the subscription
        assert b.wait_live(10)
        eventually(
            lambda: clients[other].execute_command("PUBSUB", "SHARDNUMSUB", b.bus.channel)[1] == 2
        )
        a.set("k", "new")
        caught_up(b, a)
        assert b.get("k") == "new"
    finally:
        _move(clients, slot, other, owner)
        for client in clients.values():
            client.close()
