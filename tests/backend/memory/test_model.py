"""Stateful property test: InMemoryCache behaves as a plain dict with deadlines."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cache._types import MISSING
from cache.backend import InMemoryCache
from cache.errors import CacheTypeError
from cache.testing import FakeClock

KEYS = st.sampled_from(["a", "b", "c", "d"])
VALUES = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3), st.just(False))
TIMEOUTS = st.sampled_from([None, 0, -1, 0.5, 1, 2.5, 10])


class CacheVersusModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.cache = InMemoryCache(max_entries=1_000_000, clock=self.clock)
        self.model: dict[str, tuple[Any, float | None]] = {}

    def _deadline(self, timeout: float | None) -> float | None:
        return None if timeout is None else self.clock() + timeout

    def _live(self, key: str) -> Any:
        item = self.model.get(key)
        if item is None:
            return MISSING
        value, deadline = item
        if deadline is not None and deadline <= self.clock():
            del self.model[key]
            return MISSING
        return value

    @rule(key=KEYS, value=VALUES, timeout=TIMEOUTS)
    def set(self, key: str, value: Any, timeout: float | None) -> None:
        self.cache.set(key, value, timeout)
        if timeout is not None and timeout <= 0:
            self.model.pop(key, None)
        else:
            self.model[key] = (value, self._deadline(timeout))

    @rule(key=KEYS, value=VALUES, timeout=TIMEOUTS)
    def add(self, key: str, value: Any, timeout: float | None) -> None:
        absent = self._live(key) is MISSING
        assert self.cache.add(key, value, timeout) is absent
        if absent and not (timeout is not None and timeout <= 0):
            self.model[key] = (value, self._deadline(timeout))

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        live = self._live(key) is not MISSING
        assert self.cache.delete(key) is live
        self.model.pop(key, None)

    @rule(key=KEYS, timeout=TIMEOUTS)
    def touch(self, key: str, timeout: float | None) -> None:
        value = self._live(key)
        assert self.cache.touch(key, timeout) is (value is not MISSING)
        if value is not MISSING:
            if timeout is not None and timeout <= 0:
                del self.model[key]
            else:
                self.model[key] = (value, self._deadline(timeout))

    @rule(key=KEYS, delta=st.integers(-3, 3))
    def incr(self, key: str, delta: int) -> None:
        value = self._live(key)
        if value is MISSING:
            assert self.cache.incr(key, delta) == delta
            self.model[key] = (delta, None)
        elif type(value) is int:
            assert self.cache.incr(key, delta) == value + delta
            self.model[key] = (value + delta, self.model[key][1])
        else:
            try:
                self.cache.incr(key, delta)
            except CacheTypeError:
                pass
            else:  # pragma: no cover - the assertion below reports it
                raise AssertionError(f"incr accepted {value!r}")

    @rule(seconds=st.sampled_from([0.25, 0.5, 1, 3]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def cleanup(self) -> None:
        expired = sum(1 for _, d in self.model.values() if d is not None and d <= self.clock())
        assert self.cache.cleanup_expired() <= expired
        for key in list(self.model):
            self._live(key)
        assert len(self.cache) == len(self.model)

    @invariant()
    def agrees_with_model(self) -> None:
        for key in ["a", "b", "c", "d"]:
            assert self.cache.get(key, MISSING) == self._live(key), key


CacheVersusModel.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestCacheVersusModel = CacheVersusModel.TestCase
