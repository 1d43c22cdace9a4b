"""Stateful property test: InMemoryCache, its tagged entries and SWR reads agree with the model."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import invariant

from cache.backend import CacheBackend, InMemoryCache
from cache.backend.memory._record import SIZE
from cache.testing import FakeClock
from tests.backend.model import (
    CacheVersusModel,
    reserved,
    swr_lock_of_an_invalidated_entry_is_given_back,
)


class MemoryVersusModel(CacheVersusModel):
    def open_cache(self, clock: FakeClock) -> CacheBackend:
        self.memory = InMemoryCache(max_entries=1_000_000, clock=clock)
        return self.memory

    def held_keys(self) -> set[str] | None:
        return {key for key in self.memory._data if not reserved(key)}


MemoryVersusModel.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestMemoryVersusModel = MemoryVersusModel.TestCase


def test_issue_9_model_swr_gives_back_a_lock_taken_for_an_invalidated_entry(
    clock: FakeClock,
) -> None:
    swr_lock_of_an_invalidated_entry_is_given_back(InMemoryCache(clock=clock), clock)


class BoundedMemoryVersusModel(MemoryVersusModel):
    """The same model with the values' bytes counted: the count always agrees with the records."""

    def open_cache(self, clock: FakeClock) -> CacheBackend:
        self.memory = InMemoryCache(max_entries=1_000_000, max_bytes=1 << 40, clock=clock)
        return self.memory

    @invariant()
    def bytes_agree_with_the_records(self) -> None:
        held = sum(record[SIZE] for record in self.memory._data.values())
        assert self.memory.info()["bytes"] == held


BoundedMemoryVersusModel.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)
TestBoundedMemoryVersusModel = BoundedMemoryVersusModel.TestCase
