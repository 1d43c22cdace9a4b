"""Memory per entry of every in-memory peer, each measured in a fresh process.

    python -m benchmarks.memory [--quick]

Resident memory (RSS) growth, not ``tracemalloc``: compiled peers (cachebox,
theine, lru-dict) allocate outside Python's allocator, and RSS sees both.
Two cases, both with capacity ``N`` and keys built as they are inserted (so a
structure that keeps evicted keys alive pays for them):

- fill: ``N`` distinct keys, nothing evicted;
- churn: ``3N`` requests of a Zipf stream over ``20N`` keys, get-then-set on a
  miss: the cache is full and evicting, with whatever history its policy keeps
  (ghost lists, frequency sketches).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
from typing import Any

from benchmarks import workloads
from benchmarks.peers import OURS, PEERS

__all__ = ["measure", "report", "run"]


def _rss() -> int:
    """Resident bytes of this process (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(name: str, n: int, case: str) -> float:
    """In this process: bytes of RSS growth per entry of capacity for peer ``name``."""
    peer = next(p for p in PEERS if p.name == name)
    # Built before the baseline, as bytes: each key string is made at insertion.
    trace = workloads.zipf(20 * n, 3 * n, seed=11) if case == "churn" else None
    keys = [k.encode() for k in trace] if trace is not None else None
    del trace
    gc.collect()
    before = _rss()
    cache, get, set_, _ = peer.make(n)
    if keys is None:
        for i in range(n):
            set_(f"key:{i:08d}", i)
    else:
        for raw in keys:
            key = raw.decode()  # a fresh string, as a request would bring
            if get(key) is None:
                set_(key, 1)
    gc.collect()
    grown = _rss() - before
    del cache
    return grown / n


def _in_fresh_process(name: str, n: int, case: str) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--one", name, str(n), case],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    return float(out.strip())


def run(quick: bool = False) -> dict[str, dict[str, float]]:
    """Return bytes per entry by peer and case, each peer in its own process."""
    n = 20_000 if quick else 200_000
    return {
        peer.name: {case: _in_fresh_process(peer.name, n, case) for case in ("fill", "churn")}
        for peer in PEERS
    }


def report(results: dict[str, dict[str, float]]) -> str:
    """Markdown table: bytes per entry and the ratio to ``InMemoryCache``."""
    ours = results[OURS.name]
    lines = [
        "| cache | fill: bytes/entry | vs ours | churn: bytes/entry | vs ours |",
        "|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['fill']:,.0f} | {row['fill'] / ours['fill']:.2f}x "
            f"| {row['churn']:,.0f} | {row['churn'] / ours['churn']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the table, or (``--one``) one measurement for the parent process."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness")
    parser.add_argument("--one", nargs=3, metavar=("PEER", "N", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        name, n, case = args.one
        print(measure(name, int(n), case))
        return
    results: dict[str, Any] = run(args.quick)
    print(report(results))


if __name__ == "__main__":
    main()
