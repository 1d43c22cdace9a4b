"""Stateful property test: RedisCache on a real server agrees with the model, as InMemoryCache does.

Redis keeps its own time: every advance of the fake clock shortens the
server's TTLs by as much (``shift_ttls``), as the ``backend`` fixture does.
"""

from __future__ import annotations

import redis
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from cache.backend import CacheBackend, RedisCache
from cache.testing import FakeClock
from cache.testing.redis_server import RedisServer, shift_ttls
from tests.backend.model import CacheVersusModel, reserved


def test_redis_cache_agrees_with_the_model(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    class RedisVersusModel(CacheVersusModel):
        def open_cache(self, clock: FakeClock) -> CacheBackend:
            redis_client.flushdb()
            clock.on_advance(lambda seconds: shift_ttls(redis_client, seconds))
            return RedisCache(redis_server.url, namespace="model", strict=True)

        def held_keys(self) -> set[str] | None:
            names = (name.decode().removeprefix("model:") for name in redis_client.scan_iter())
            return {name for name in names if not reserved(name)}

    # Fewer examples than in memory: each step is a few round trips to a real server.
    run_state_machine_as_test(
        RedisVersusModel,
        settings=settings(max_examples=60, stateful_step_count=40, deadline=None),
    )
