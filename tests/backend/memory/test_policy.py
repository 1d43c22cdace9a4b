"""The eviction policy on its own, driven as the engine drives it."""

from __future__ import annotations

from cache.backend.memory._policy import AdaptiveS3FIFO
from cache.backend.memory._record import FREQ, KEY, SLOT, Record

SMALL, MAIN = 0, 1


def record(key: str, expires: float | None = None) -> Record:
    return [key, expires, 0, key, None]


def admit(policy: AdaptiveS3FIFO, *keys: str) -> list[Record]:
    records = [record(k) for k in keys]
    for r in records:
        policy.admit(r)
    return records


def evict(policy: AdaptiveS3FIFO, now: float = 0.0) -> str:
    """Take a victim and remove it, as the engine does; return its key."""
    victim = policy.victim(now)
    policy.forget(victim)
    return str(victim[KEY])


def test_new_keys_wait_on_probation_and_the_oldest_leaves_first() -> None:
    policy = AdaptiveS3FIFO(10)
    a, b, _ = admit(policy, "a", "b", "c")
    assert a[SLOT] == b[SLOT] == SMALL
    assert evict(policy) == "a"
    assert evict(policy) == "b"


def test_a_hit_on_probation_promotes_instead_of_evicting() -> None:
    policy = AdaptiveS3FIFO(10)
    a, _ = admit(policy, "a", "b")
    a[FREQ] = 1
    assert evict(policy) == "b"
    assert a[SLOT] == MAIN
    assert a[FREQ] == 0


def test_a_key_back_soon_after_eviction_skips_probation_and_grows_the_small_queue() -> None:
    policy = AdaptiveS3FIFO(10)
    admit(policy, "a", "b")
    target = policy._small_target
    assert evict(policy) == "a"
    (again,) = admit(policy, "a")
    assert again[SLOT] == MAIN
    assert policy._small_target > target


def test_hits_in_the_main_queue_buy_passes_up_to_the_cap() -> None:
    policy = AdaptiveS3FIFO(10)
    a, b, _ = admit(policy, "a", "b", "c")
    a[FREQ] = b[FREQ] = 1
    assert evict(policy) == "c"  # a and b were hit on probation: promoted instead
    assert a[SLOT] == b[SLOT] == MAIN
    a[FREQ] = 10
    assert evict(policy) == "b"
    assert a[FREQ] == 2  # one pass spent of the three that any number of hits buys


def test_an_expired_record_is_taken_before_a_colder_live_one() -> None:
    policy = AdaptiveS3FIFO(10)
    short = record("short", expires=5.0)
    policy.admit(short)
    admit(policy, "live")
    short[FREQ] = 3  # hot, but dead by the deadline
    assert evict(policy, now=10.0) == "short"
    (again,) = admit(policy, "short")
    assert again[SLOT] == SMALL  # expiry is no eviction: no ghost remembers it


def test_forgotten_records_are_compacted_out_of_the_queues() -> None:
    policy = AdaptiveS3FIFO(1_000)
    for i in range(50_000):
        (r,) = admit(policy, f"k{i}")
        policy.forget(r)
    assert len(policy._small) + len(policy._main) <= 64


def test_clear_forgets_records_ghosts_and_the_learnt_target() -> None:
    policy = AdaptiveS3FIFO(10)
    admit(policy, "a", "b")
    evict(policy)
    admit(policy, "a")
    policy.clear()
    assert policy._small_target == 1.0
    (again,) = admit(policy, "a")
    assert again[SLOT] == SMALL
    assert evict(policy) == "a"
