"""Run every benchmark in one process and print tables plus ratios to the peers.

    python -m benchmarks            # full run (a few minutes)
    python -m benchmarks --quick    # small sizes, to check the harness works

Absolute times drift on a shared machine; compare the ratios, which come from
one run on one machine.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import platform
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from benchmarks import features, workloads
from benchmarks.peers import OURS, PEERS


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def micro(n: int, repeat: int) -> dict[str, dict[str, float]]:
    """Return ns/op of get (hit, miss, hit on a TTL entry) and set (plain, TTL) on ``n`` keys."""
    keys = [f"key:{i}" for i in range(n)]
    absent = [f"miss:{i}" for i in range(n)]
    values = list(range(n))
    out: dict[str, dict[str, float]] = {}

    def ns(fn: Callable[[], Any]) -> float:
        return _best(fn, repeat) / n * 1e9

    for peer in PEERS:
        # map() drives the calls from C, so loop overhead is the same small
        # constant for every cache and the call itself dominates.
        cache, _, set_, set_ttl = peer.make(2 * n)
        get = cache.get  # the library's own get, without an adapter
        deque(map(set_, keys, values), maxlen=0)
        row = {
            "get-hit": ns(lambda: deque(map(get, keys), maxlen=0)),  # noqa: B023
            "get-miss": ns(lambda: deque(map(get, absent), maxlen=0)),  # noqa: B023
            "set": ns(lambda: deque(map(set_, keys, values), maxlen=0)),  # noqa: B023
        }
        if set_ttl is not None:
            cache, _, _, set_ttl = peer.make(2 * n)
            get = cache.get
            assert set_ttl is not None
            deque(map(set_ttl, keys, values), maxlen=0)
            row["get-hit-ttl"] = ns(lambda: deque(map(get, keys), maxlen=0))  # noqa: B023
            row["set-ttl"] = ns(lambda: deque(map(set_ttl, keys, values), maxlen=0))  # noqa: B023
        out[peer.name] = row
    return out


def replay(get: Callable[[str], Any], set_: Callable[[str, Any], Any], trace: list[str]) -> int:
    """Get each key, set it on a miss; return the number of hits."""
    hits = 0
    for key in trace:
        if get(key) is None:
            set_(key, 1)
        else:
            hits += 1
    return hits


def hit_ratios(
    traces: dict[str, tuple[list[str], int]],
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Return hit ratio per peer per workload, and get-then-set ops/s on the Zipf one."""
    ratios: dict[str, dict[str, float]] = {}
    ops: dict[str, float] = {}
    for peer in PEERS:
        if peer.name == "dict floor":
            continue  # unbounded: a hit ratio would mean nothing
        ratios[peer.name] = {}
        for name, (trace, capacity) in traces.items():
            _, get, set_, _ = peer.make(capacity)
            gc.collect()
            t = time.perf_counter()
            hits = replay(get, set_, trace)
            elapsed = time.perf_counter() - t
            ratios[peer.name][name] = hits / len(trace)
            if name.startswith("zipf"):
                ops[peer.name] = len(trace) / elapsed
    return ratios, ops


def threads(trace: list[str], capacity: int) -> dict[str, tuple[float, float]]:
    """Return get-then-set ops/s with one thread and with two threads sharing one cache."""
    out: dict[str, tuple[float, float]] = {}
    halves = [trace[0::2], trace[1::2]]
    for peer in (p for p in PEERS if p.thread_safe):
        _, get, set_, _ = peer.make(capacity)
        replay(get, set_, trace)  # warm
        t = time.perf_counter()
        replay(get, set_, trace)
        one = len(trace) / (time.perf_counter() - t)
        workers = [threading.Thread(target=replay, args=(get, set_, h)) for h in halves]
        t = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        two = len(trace) / (time.perf_counter() - t)
        out[peer.name] = (one, two)
    return out


def machine() -> str:
    """Describe the machine and the versions measured."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    import os

    versions = ", ".join(
        f"{d} {importlib.metadata.version(d)}"
        for d in ("cachetools", "cachebox", "theine", "lru-dict")
    )
    return (
        f"{platform.python_implementation()} {platform.python_version()} on {cpu}, "
        f"{os.cpu_count()} cores, {platform.system()}; {versions}"
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _check(label: str, ratio: float, limit: float, higher_is_better: bool = False) -> str:
    ok = ratio >= limit if higher_is_better else ratio <= limit
    sign = ">=" if higher_is_better else "<="
    verdict = "met" if ok else "MISSED"
    return f"- {label}: {ratio:.2f} (target {sign} {limit}) {verdict}"


def main() -> None:
    """Run the benchmarks and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness")
    args = parser.parse_args()
    q = args.quick
    n, repeat = (5_000, 2) if q else (100_000, 7)
    print(f"## Benchmarks\n\n{machine()}\n")

    m = micro(n, repeat)

    def cell(r: dict[str, float], k: str) -> str:
        return f"{r[k]:.0f}" if k in r else "n/a"

    cols = ["get-hit", "get-miss", "set", "get-hit-ttl", "set-ttl"]
    rows = [[name, *(cell(r, c) for c in cols)] for name, r in m.items()]
    print(f"### ns per operation, {n:,} pre-filled keys (lower is better)\n")
    print("TTL columns: entries stored with a one-hour per-entry TTL (n/a: no per-entry TTL).\n")
    print(
        _table(["cache", "get hit", "get miss", "set", "get hit, TTL entry", "set with TTL"], rows)
    )

    zipf_n = 50_000 if q else 1_000_000
    traces = {
        "zipf@10k": (workloads.zipf(zipf_n, zipf_n), 10_000 if not q else 500),
        "scan@10k": (
            workloads.scan_polluted(
                zipf_n // 10, zipf_n, 20_000 if not q else 1_000, 8_000 if not q else 400
            ),
            10_000 if not q else 500,
        ),
    }
    oltp = workloads.oltp(limit=60_000 if q else None)
    traces["oltp@1000"] = (oltp, 1_000)
    traces["oltp@2000"] = (oltp, 2_000)
    traces["recency@5000"] = (workloads.recency(zipf_n), 5_000 if not q else 250)
    ratios, ops = hit_ratios(traces)
    print("\n### Hit ratio, get-then-set-on-miss (higher is better)\n")
    header = ["cache", "policy", *traces, "Zipf ops/s"]
    by_name = {p.name: p for p in PEERS}
    rows = [
        [
            name,
            by_name[name].policy,
            *(f"{r[w]:.4f}" for w in traces),
            f"{ops[name]:,.0f}",
        ]
        for name, r in ratios.items()
    ]
    print(_table(header, rows))

    th = threads(traces["zipf@10k"][0], traces["zipf@10k"][1])
    print("\n### One thread versus two threads sharing one cache (Zipf get-then-set)\n")
    rows = [[k, f"{a:,.0f}", f"{b:,.0f}", f"{b / a:.2f}"] for k, (a, b) in th.items()]
    print(_table(["cache", "1 thread ops/s", "2 threads ops/s", "2 / 1"], rows))

    ours = m[OURS.name]
    print("\n### Targets (ratios from this run)\n")
    checks = [
        _check(
            "get hit / cachebox.LRUCache", ours["get-hit"] / m["cachebox.LRUCache"]["get-hit"], 1.5
        ),
        _check("get hit / theine", ours["get-hit"] / m["theine"]["get-hit"], 0.5),
        _check(
            "get hit / cachetools.TTLCache",
            ours["get-hit"] / m["cachetools.TTLCache"]["get-hit"],
            0.5,
        ),
        _check("get hit / dict floor", ours["get-hit"] / m["dict floor"]["get-hit"], 2.0),
        _check(
            "set with TTL / cachebox.VTTLCache",
            ours["set-ttl"] / m["cachebox.VTTLCache"]["set-ttl"],
            1.5,
        ),
        _check("set / cachebox.VTTLCache", ours["set"] / m["cachebox.VTTLCache"]["set"], 1.5),
    ]
    mine = ratios[OURS.name]
    for w in ("oltp@1000", "oltp@2000", "scan@10k"):
        checks.append(_check(f"hit ratio {w} / theine", mine[w] / ratios["theine"][w], 1.0, True))
    for w in traces:
        best_lru = max(ratios[p.name][w] for p in PEERS if p.policy == "LRU")
        checks.append(_check(f"hit ratio {w} / LRU", mine[w] / best_lru, 1.0, True))
    one, two = th[OURS.name]
    checks.append(_check("two threads / one thread", two / one, 0.9, True))
    print("\n".join(checks))
    print()
    print(features.report(q))
    print()
    from benchmarks import redis_engine as redis_bench  # needs redis-server on the PATH

    print(redis_bench.report(q))
    print()
    from benchmarks import http  # the web stack, imported only here

    print(http.report(q))
    print()
    from benchmarks import decorator

    print("Decorator overhead per hit (python -m benchmarks.decorator)")
    print(decorator.report(decorator.run(q)))
    print()
    from benchmarks import memory

    print("Memory per entry of capacity, RSS growth (python -m benchmarks.memory)")
    print(memory.report(memory.run(q)))


if __name__ == "__main__":
    main()
