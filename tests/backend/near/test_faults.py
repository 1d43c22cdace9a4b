"""NearCache under faults on real servers: gaps, cut and silent links, a hung server, refusals.

In every case the local tier is flushed and left off until the subscription
is back, so a message lost in the fault is never the reason for a stale read
once the fault is over.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from cache.backend import NearCache, RedisCache
from cache.errors import BackendUnavailableError
from cache.testing.redis_server import RedisServer
from tests.backend.near.conftest import caught_up, eventually
from tests.backend.near.link import Link
from tests.server_kinds import valkey_binary


@pytest.fixture(scope="module", params=["redis", "valkey"])
def own_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    """A server of this module's own (Redis, then Valkey), to pause and to set users on."""
    binary = valkey_binary() if request.param == "valkey" else None
    server = RedisServer(Path(tmp_path_factory.mktemp("near-faults")), binary=binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def raw(own_server: RedisServer) -> Iterator[redis.Redis]:
    own_server.resume()
    client = redis.Redis(port=own_server.port)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def near(raw: redis.Redis, own_server: RedisServer) -> Iterator[Callable[[str], NearCache]]:
    """``near(url)``: a live near cache on the own server (heartbeat 0.1 s), closed after."""
    opened: list[NearCache] = []

    def open_(url: str) -> NearCache:
        engine = RedisCache(url, namespace="near", socket_timeout=0.25)
        opened.append(NearCache(engine, heartbeat=0.1, local_ttl=60))
        assert opened[-1].wait_live(10)
        return opened[-1]

    yield open_
    own_server.resume()
    for engine in opened:
        engine.close()


def keep(engine: NearCache, key: str, value: object) -> None:
    """Assert ``engine`` serves ``value`` for ``key`` from its local tier."""
    hits = engine.tier.hits
    assert engine.get(key) == value and engine.get(key) == value
    assert engine.tier.hits > hits, "not kept locally"


def test_a_gap_or_an_unreadable_message_flushes(
    near: Callable[[str], NearCache], own_server: RedisServer, raw: redis.Redis
) -> None:
    b = near(own_server.url)
    b.set("k", "v")
    keep(b, "k", "v")
    raw.publish(b.bus.channel, json.dumps(["other", 1, ["unrelated"]]))
    raw.publish(b.bus.channel, json.dumps(["other", 3, ["unrelated"]]))  # 2 never came
    eventually(lambda: b.info()["message_gaps"] == 1)
    assert b.info()["local_entries"] == 0
    keep(b, "k", "v")
    flushes = b.tier.flushes
    raw.publish(b.bus.channel, b"\xff not json")
    eventually(lambda: b.tier.flushes > flushes)
    assert b.info()["local_entries"] == 0


@pytest.mark.parametrize("fault", ["cut", "silence"])
def test_a_lost_link_turns_the_tier_off_until_it_is_back(
    near: Callable[[str], NearCache], own_server: RedisServer, fault: str
) -> None:
    link = Link(own_server.port)
    try:
        a, b = near(own_server.url), near(link.url())
        a.set("k", "old")
        caught_up(b, a)
        keep(b, "k", "old")
        getattr(link, fault)()
        started = time.monotonic()
        a.set("k", "new")  # b never hears of it
        eventually(lambda: not b.tier.live)
        detected = time.monotonic() - started
        assert b.get("k") is None  # off: Redis is asked, and cannot be reached
        link.heal()
        assert b.wait_live(10)
        eventually(lambda: b.tier.live)
        assert b.get("k") == "new" and b.get("k") == "new"
        assert b.info()["subscriptions_lost"] >= 1
        print(f"{fault}: tier off {detected * 1000:.0f} ms after the write")
    finally:
        link.close()


def test_a_hung_server_turns_the_tier_off(
    near: Callable[[str], NearCache], own_server: RedisServer
) -> None:
    b = near(own_server.url)
    b.set("k", "v")
    keep(b, "k", "v")
    own_server.pause()
    eventually(lambda: not b.tier.live, timeout=5)
    assert b.get("k") is None  # not the local copy: nobody can say it is still right
    own_server.resume()
    eventually(lambda: b.tier.live, timeout=10)
    keep(b, "k", "v")


def test_a_removal_whose_message_is_refused_raises(
    near: Callable[[str], NearCache], own_server: RedisServer, raw: redis.Redis
) -> None:
    raw.acl_setuser(
        "quiet",
        enabled=True,
        passwords=["+pw"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-publish", "-spublish"],
    )
    try:
        a = near(f"redis://quiet:pw@127.0.0.1:{own_server.port}/0")
        b = near(own_server.url)
        a.set("k", "v")  # a write's message refused: counted, not raised
        assert a.errors >= 1
        keep(b, "k", "v")
        with pytest.raises(BackendUnavailableError, match=r"removed in Redis.*Retry the call"):
            a.delete("k")
        assert raw.get("near:k") is None  # removed in Redis; only the message failed
        with pytest.raises(BackendUnavailableError):
            a.clear()
    finally:
        raw.acl_deluser("quiet")


def _child_reads(near: NearCache, results: Any) -> None:
    """In a forked child: keep ``k`` locally, then wait to see the parent's write of it."""
    assert near.wait_live(10)
    results.put(("kept", near.get("k"), near.get("k"), near.tier.hits))
    deadline = time.monotonic() + 10
    while near.get("k") != "new" and time.monotonic() < deadline:
        time.sleep(0.005)
    results.put(("then", near.get("k"), near.bus.publisher))


def test_a_forked_child_listens_on_its_own(
    near: Callable[[str], NearCache], own_server: RedisServer
) -> None:
    parent = near(own_server.url)
    parent.set("k", "old")
    assert parent.get("k") == "old"
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_child_reads, args=(parent, results))
    child.start()
    try:
        assert results.get(timeout=15) == ("kept", "old", "old", 1)  # its own tier, live
        parent.set("k", "new")
        seen, value, publisher = results.get(timeout=15)
        assert (seen, value) == ("then", "new")
        assert publisher != parent.bus.publisher  # numbered apart from the parent
    finally:
        child.join(10)
    assert child.exitcode == 0


def test_a_cancelled_removal_is_still_told(own_server: RedisServer, raw: redis.Redis) -> None:
    """The UNLINK waits in a paused server; the caller gives up; the server resumes and applies it.

    The message that failed is owed: once the server answers, "forget
    everything" goes out, so the other process stops serving the removed value.
    """
    url = own_server.url
    a = NearCache(RedisCache(url, namespace="near", socket_timeout=0.25), heartbeat=0.1)
    b = NearCache(RedisCache(url, namespace="near"), heartbeat=5)  # stays subscribed
    try:
        assert a.wait_live(10) and b.wait_live(10)
        a.set("k", "old")
        caught_up(b, a)
        keep(b, "k", "old")

        async def give_up() -> None:
            assert await a.aget("k") == "old"  # this loop's connection is open: UNLINK is sent
            own_server.pause()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(a.adelete("k"), 0.05)
            await asyncio.sleep(0.4)  # the message times out too
            own_server.resume()

        asyncio.run(give_up())
        eventually(lambda: raw.get("near:k") is None)  # applied after all
        eventually(lambda: b.tier.record("k") is None)
        assert b.get("k") is None
    finally:
        own_server.resume()
        a.close()
        b.close()


def test_a_killed_subscription_is_seen_not_quietly_restored(
    near: Callable[[str], NearCache], own_server: RedisServer, raw: redis.Redis
) -> None:
    b = near(own_server.url)
    b.set("k", "v")
    keep(b, "k", "v")
    raw.client_kill_filter(_type="pubsub")
    eventually(lambda: b.info()["subscriptions_lost"] >= 1)
    assert b.wait_live(10)
    eventually(lambda: b.tier.live)
    assert b.info()["local_entries"] == 0


def test_an_owed_message_goes_out_as_a_flush(
    near: Callable[[str], NearCache], own_server: RedisServer
) -> None:
    """A message that failed is owed: the listener sends "forget everything" until one goes out."""
    a, b = near(own_server.url), near(own_server.url)
    a.set("k", "v")
    caught_up(b, a)
    keep(b, "k", "v")
    a.bus.owed.add(a.bus.channel)  # as after a publish that raised
    eventually(lambda: not a.bus.owed)
    eventually(lambda: b.tier.record("k") is None)
