"""NearCache behind Sentinel: after a failover the listener follows the new primary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.backend import NearCache, from_url
from cache.testing.sentinel import RedisSentinels
from tests.backend.near.conftest import caught_up, eventually


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[RedisSentinels]:
    deployment = RedisSentinels(tmp_path)
    deployment.start()
    yield deployment
    deployment.stop()


def test_a_failover_flushes_and_the_tier_comes_back(sentinels: RedisSentinels) -> None:
    url = f"{sentinels.url}?namespace=s&local_cache=100&socket_timeout=0.25"
    a, b = from_url(url), from_url(url)
    assert isinstance(a, NearCache) and isinstance(b, NearCache)
    try:
        assert a.wait_live(10) and b.wait_live(10)
        a.set("k", "old")
        caught_up(b, a)
        assert b.get("k") == "old" and b.get("k") == "old" and b.tier.hits == 1
        old = sentinels.primary.port
        sentinels.primary.kill()
        eventually(lambda: not b.tier.live, timeout=10)
        sentinels.wait_for_failover(old)
        deadline = time.monotonic() + 15
        while a.cache.get("k") != "new":  # a write lands once the client finds the new primary
            assert time.monotonic() < deadline, "no write reached the new primary"
            a.set("k", "new")  # not strict: a write that fails is a no-op, so check and retry
            time.sleep(0.1)
        eventually(lambda: b.tier.live and b.get("k") == "new", timeout=15)
        assert b.get("k") == "new" and b.info()["subscriptions_lost"] >= 1
    finally:
        a.close()
        b.close()
