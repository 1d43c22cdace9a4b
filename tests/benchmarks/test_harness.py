"""The benchmark harness runs end to end on small sizes (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import workloads

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_prints_every_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    for heading in (
        "ns per operation",
        "Hit ratio",
        "two threads",
        "Targets",
        "invalidate_tag",
        "RedisCache over loopback",
        "Decorator overhead per hit",
        "Memory per entry of capacity",
    ):
        assert heading in out
    assert "| cache.InMemoryCache |" in out
    assert "| theine |" in out
    assert "| cachetools @cached (TTLCache) |" in out and "| aiocache @cached (memory) |" in out
    assert "| cache.InMemoryCache | " in out.split("Memory per entry")[1]


@pytest.mark.skipif(not workloads.TRACE.exists(), reason="the shared trace is beside the repo")
def test_trace_reader_matches_the_documented_lru_ratio() -> None:
    from benchmarks.eviction_sim import LRU

    trace = workloads.oltp()
    assert len(trace) == 914_145
    lru = LRU(1_000)
    ratio = sum(map(lru.access, trace)) / len(trace)
    assert round(ratio, 3) == 0.328  # the trace's README: LRU hits 0.328 at 1,000
