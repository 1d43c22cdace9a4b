"""The releaser: what a process owes of the leases it lost, paid once the server answers (issue 11).

On real servers: one that answers, and a port where nothing listens until a
server is started there (a refused connection fails at once, so the rounds
below take no time). The waits between rounds are what ``run`` returns.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from cache.advanced._releaser import RELEASER, SETTLE, Releaser
from cache.backend import InMemoryCache, ProxyBackend, RedisCache
from cache.backend.base import LOST_LEASES
from cache.testing import FakeClock
from cache.testing.redis_server import RedisServer, free_port


@pytest.fixture
def up(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[RedisCache]:
    """An engine of the session server (flushed)."""
    cache = RedisCache(redis_server.url, namespace="rel")
    yield cache
    cache.close()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def down(port: int) -> Iterator[RedisCache]:
    """An engine of a port where nothing listens (yet); its circuit, once open, stays open."""
    cache = RedisCache(f"redis://127.0.0.1:{port}/0", namespace="rel")
    cache.outage.cooldown = 3600.0
    yield cache
    cache.close()


def test_a_release_is_confirmed_whatever_the_lock_holds(up: RedisCache) -> None:
    up.set("mine", "t1", 60)
    up.set("theirs", "other", 60)
    releaser = Releaser(background=False)
    for key, token in [("mine", "t1"), ("theirs", "t2"), ("gone", "t3")]:
        LOST_LEASES.add(token)
        releaser.owe(up, key, token, lifetime=60)
    assert releaser.run() is None  # all paid: deleted, another token's, absent
    assert releaser.owed() == []
    assert not any(token in LOST_LEASES for token in ("t1", "t2", "t3"))
    assert up.get("mine") is None and up.get("theirs") == "other"


def test_unconfirmed_releases_back_off_to_a_cap_then_are_paid_through_an_open_circuit(
    down: RedisCache, port: int, tmp_path: Path
) -> None:
    releaser = Releaser(background=False, first_delay=0.05, max_delay=0.25)
    LOST_LEASES.add("t")
    releaser.owe(down, "lock", "t", lifetime=60)
    assert [releaser.run() for _ in range(5)] == [0.1, 0.2, 0.25, 0.25, 0.25]
    assert releaser.owed() == ["t"] and "t" in LOST_LEASES
    assert not down.outage.allow()  # open: a caller's call would not be sent
    server = RedisServer(tmp_path, port)
    server.start()
    try:
        assert releaser.run() is None  # sent all the same, and confirmed
        assert releaser.owed() == [] and "t" not in LOST_LEASES
        assert releaser.delay == 0.05
        assert down.outage.allow()  # the server answered: the circuit is closed
    finally:
        server.stop()


def test_after_the_first_failure_on_an_engine_its_other_releases_wait(
    down: RedisCache, up: RedisCache
) -> None:
    releaser = Releaser(background=False)
    for token in ("a", "b", "c"):
        releaser.owe(down, "lock", token, lifetime=60)
    releaser.owe(up, "lock", "d", lifetime=60)
    errors = down.outage.errors
    assert releaser.run() == 0.1
    assert down.outage.errors == errors + 1  # one try on the engine that failed
    assert releaser.owed() == ["b", "c", "a"]  # the one that failed goes last; "d" paid


def test_owed_releases_are_bounded_and_end_with_their_lock(down: RedisCache) -> None:
    clock = FakeClock()
    releaser = Releaser(background=False, max_owed=3, clock=clock)
    for i in range(5):
        releaser.owe(down, "lock", f"t{i}", lifetime=3 + i)
    assert releaser.owed() == ["t2", "t3", "t4"]  # the oldest dropped: their locks expire
    clock.advance(6)
    errors = down.outage.errors
    assert releaser.run() == 0.1
    assert releaser.owed() == ["t4"] and down.outage.errors == errors + 1
    clock.advance(1)
    assert releaser.run() is None  # expired: dropped untried
    assert down.outage.errors == errors + 1


def test_a_release_whose_request_may_still_land_waits_before_its_first_try(
    down: RedisCache,
) -> None:
    clock = FakeClock()
    releaser = Releaser(background=False, clock=clock)
    releaser.owe(down, "lock", "t", lifetime=3, after=SETTLE)
    errors = down.outage.errors
    assert releaser.run() == 0.05 and down.outage.errors == errors  # not tried yet
    clock.advance(SETTLE)
    assert releaser.run() == 0.1 and down.outage.errors == errors + 1


class _Broken(ProxyBackend):
    """An engine whose release raises what no engine should."""

    def delete_if_equals(self, key: str, expected: Any) -> bool:
        raise RuntimeError("a bug in the engine")


def test_an_engine_that_raises_never_raises_into_the_releaser() -> None:
    releaser = Releaser(background=False)
    releaser.owe(_Broken(InMemoryCache()), "lock", "t", lifetime=60)
    assert releaser.run() == 0.1
    assert releaser.owed() == ["t"]


def _wait_until_paid(releaser: Releaser) -> None:
    for _ in range(500):
        if releaser._thread is None:
            return
        time.sleep(0.01)
    raise AssertionError("the releaser's thread did not end")


def test_the_thread_starts_when_something_is_owed_and_ends_when_all_is_paid(
    up: RedisCache,
) -> None:
    up.set("lock", "t", 60)
    releaser = Releaser()
    releaser.owe(up, "lock", "t", lifetime=60)
    thread = releaser._thread
    assert thread is not None and thread.daemon
    _wait_until_paid(releaser)
    thread.join(5)
    assert not thread.is_alive()
    assert up.get("lock") is None and releaser.owed() == []
    up.set("lock", "u", 60)
    releaser.owe(up, "lock", "u", lifetime=60)  # a new debt: a new thread
    _wait_until_paid(releaser)
    assert up.get("lock") is None


def _child(queue: Any, releaser: Releaser) -> None:
    queue.put((releaser.owed(), RELEASER.owed(), releaser._thread is None))


def test_a_forked_child_owes_nothing_of_its_parents(down: RedisCache) -> None:
    releaser = Releaser(background=False)
    releaser.owe(down, "lock", "parent's", lifetime=60)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue, releaser))
    child.start()
    found = queue.get(timeout=10)
    child.join(10)
    assert found == ([], [], True)
    assert releaser.owed() == ["parent's"]  # the parent still owes it
