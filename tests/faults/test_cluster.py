"""One node of a three-node Redis Cluster killed and restarted, under threads and tasks.

Besides the promises of the single-server scenarios: keys on the other nodes
keep working while the node is down (every probe read of a key there gets its
value), keys on the dead node degrade to misses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.cluster import RedisCluster

from cache.backend import RedisCache
from cache.backend.redis._client import close_sync_client
from cache.testing.redis_server import RedisClusterServers
from tests.faults.ledger import SOCKET_TIMEOUT, Ledger
from tests.faults.load import Fault, failures, report, run_tasks, run_threads
from tests.faults.test_single_server import check_meaningful
from tests.faults.workloads import Workloads

pytestmark = pytest.mark.faults

#: The node the scenarios kill.
DEAD = 2


def probe_keys(cluster: RedisClusterServers) -> dict[str, str]:
    """Return a probe key held by a node that stays up ("live") and one held by the dead node."""
    client = RedisCluster.from_url(cluster.url)
    dead_port = cluster.nodes[DEAD].port
    keys: dict[str, str] = {}
    try:
        for n in range(1000):
            key = f"probe:{n}"
            node = "dead" if client.get_node_from_key(key).port == dead_port else "live"
            keys.setdefault(node, key)
            if len(keys) == 2:
                return keys
    finally:
        close_sync_client(client)
    raise AssertionError("no probe key found for each node")


def node_fault(cluster: RedisClusterServers) -> Fault:
    """Kill the node; repair: start it again and wait until it has rejoined the cluster.

    The repair ends when the node serves keys again (cluster_state:ok, about
    2 s after its start): recovery is measured from there.
    """
    node = cluster.nodes[DEAD]

    def heal() -> None:
        node.start()
        cluster.wait_until_ok()

    return Fault(node.kill, heal)


def _kind(cluster: RedisClusterServers) -> str:
    """Return "valkey " on Valkey, else "": the report's lines say where the scenario ran."""
    return "valkey " if cluster.version.lower().startswith("valkey") else ""


def halt(cluster: RedisClusterServers) -> None:
    for node in cluster.nodes:
        node.kill()


def cluster_failures(ledger: Ledger) -> list[str]:
    """The single-server promises (recovery: of the dead node's key), and the live node's."""
    found = failures(ledger, node="dead")
    window = ledger.window
    lost = ledger.failed_probes("live", window.fault_at, window.back_at)
    if lost:
        found.append(f"{lost} reads of a key on a node that stayed up failed during the outage")
    return found


def test_threads_around_a_dead_node(fault_cluster: RedisClusterServers, fault_report: Path) -> None:
    backend = RedisCache(fault_cluster.url, cluster=True, socket_timeout=SOCKET_TIMEOUT)
    ledger = Ledger(f"{_kind(fault_cluster)}cluster, 8 threads, node killed")
    work = Workloads(backend, ledger, workers=8)
    try:
        run_threads(
            work,
            node_fault(fault_cluster),
            probe_keys(fault_cluster),
            lambda: halt(fault_cluster),
        )
    finally:
        work.close()
        backend.close()
    report(ledger, fault_report, node="dead")
    check_meaningful(ledger)
    found = cluster_failures(ledger)
    assert not found, "\n".join(found)


async def test_tasks_around_a_dead_node(
    fault_cluster: RedisClusterServers, fault_report: Path
) -> None:
    backend = RedisCache(fault_cluster.url, cluster=True, socket_timeout=SOCKET_TIMEOUT)
    ledger = Ledger(f"{_kind(fault_cluster)}cluster, 50 tasks, node killed")
    work = Workloads(backend, ledger, workers=50)
    try:
        await run_tasks(
            work,
            node_fault(fault_cluster),
            probe_keys(fault_cluster),
            lambda: halt(fault_cluster),
        )
    finally:
        work.close()
        await backend.aclose()
    report(ledger, fault_report, node="dead")
    check_meaningful(ledger)
    found = cluster_failures(ledger)
    assert not found, "\n".join(found)
