"""Redis behind Sentinel (redis+sentinel:// URLs): real sentinels, a real failover under load."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.advanced import CachePolicy, CacheTag, ContentTypeCacheManager
from cache.backend import RedisCache, from_url
from cache.errors import BackendUnavailableError, CacheConfigError
from cache.testing.sentinel import SERVICE, RedisSentinels


@pytest.fixture
def sentinels(tmp_path: Path, server_binary: str) -> Iterator[RedisSentinels]:
    deployment = RedisSentinels(tmp_path, binary=server_binary)
    deployment.start()
    yield deployment
    deployment.stop()


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("redis+sentinel://s1:26379,s2:x/mymaster", "host:port"),
        ("redis+sentinel://s1:26379", "service"),
        ("redis+sentinel://s1:26379/mymaster/zero", "service"),
    ],
)
def test_malformed_sentinel_urls_are_refused(url: str, fault: str) -> None:
    with pytest.raises(CacheConfigError, match=fault):
        from_url(url)


async def test_reads_writes_and_tags_through_the_sentinels(sentinels: RedisSentinels) -> None:
    engine = from_url(sentinels.url + "?namespace=s")
    assert isinstance(engine, RedisCache)
    try:
        engine.set("a", {"x": 1}, 60)
        assert engine.get("a") == {"x": 1}
        await engine.aset("b", [1, 2], 60)
        assert await engine.aget("b") == [1, 2]
        manager = ContentTypeCacheManager(engine)
        manager.register_policy("page", CachePolicy(timeout=60, tags={"pages"}))
        manager.cache_content("page", "home", {"title": "Home"})
        assert manager.get_cached_content("page", "home") == {"title": "Home"}
        CacheTag(engine).invalidate_tag("pages")
        assert manager.get_cached_content("page", "home") is None
        assert sentinels.primary_port() == sentinels.primary.port
    finally:
        await engine.aclose()


def test_a_failover_under_load_reaches_no_caller_and_recovers(sentinels: RedisSentinels) -> None:
    engine = RedisCache(sentinels.url, namespace="f", socket_timeout=0.25)
    stop = threading.Event()
    raised: list[BaseException] = []
    good: list[float] = []  # when a value written was read back
    lost: list[float] = []  # when an invalidation could not be applied (and said so)

    def work(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                engine.set(f"k{n}", i, 60)
                if engine.get(f"k{n}") == i:
                    good.append(time.monotonic())
                try:
                    engine.delete(f"gone{n}")
                except BackendUnavailableError:
                    lost.append(time.monotonic())
            except BaseException as exc:  # anything reaching a caller fails the test
                raised.append(exc)
            time.sleep(0.005)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        old = sentinels.primary.port
        killed = time.monotonic()
        sentinels.primary.kill()
        new = sentinels.wait_for_failover(old)
        promoted = time.monotonic()
        deadline = promoted + 10
        while not any(t > promoted for t in good) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        engine.close()
    assert not raised, f"{len(raised)} exceptions reached callers: {raised[:3]}"
    assert new == sentinels.replica.port and SERVICE
    before = [t for t in good if t < killed]
    after = [t for t in good if t > promoted]
    assert before and after, "no good round trip before the kill, or none after the failover"
    recovery = after[0] - promoted
    print(f"failover {promoted - killed:.2f} s, first good read {recovery:.2f} s after it")
    # The documented window: the sentinels' down-after (1 s here) and election,
    # then at most the circuit breaker's probe interval and a reconnection.
    assert recovery < 3.0
    assert all(killed - 0.1 <= t <= promoted + 3.0 for t in lost), (
        "an invalidation failed outside the outage"
    )
