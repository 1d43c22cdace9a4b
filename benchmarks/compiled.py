"""InMemoryCache with its compiled core and without, against cachebox, in one run.

    scripts/build-compiled /tmp/compiled            # the compiled build (mypyc)
    PYTHONPATH=/tmp/compiled python -m benchmarks.compiled [--quick]

Runs ``benchmarks.__main__.micro`` (random reads over 100,000 keys, best of 7)
with one more peer: the same engine with the core's bound methods taken off
each cache, i.e. the pure-Python engine, measured in the same process as the
compiled one and the peers. Without a compiled build both rows are the pure
engine. Ratios: get hit against cachebox.LRUCache, the rest against
cachebox.VTTLCache (per-entry TTL).
"""

from __future__ import annotations

import argparse
import functools

from benchmarks import __main__ as bench
from benchmarks.peers import OURS, TTL, Made, Peer

PURE = "cache.InMemoryCache (pure)"
TARGETS = {"get-hit": 2.0, "get-hit-ttl": 2.0, "set": 1.5, "set-ttl": 1.5}


def _pure(capacity: int) -> Made:
    from cache.backend import InMemoryCache

    c = InMemoryCache(max_entries=capacity)
    vars(c).pop("get", None)  # the class's own (pure-Python) methods again
    vars(c).pop("set", None)
    return c, c.get, c.set, functools.partial(c.set, timeout=TTL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness")
    n, repeat = (5_000, 2) if parser.parse_args().quick else (100_000, 7)
    from cache.backend import InMemoryCache

    compiled = InMemoryCache(1).info()["compiled"]
    names = {OURS.name, "cachebox.LRUCache", "cachebox.VTTLCache"}
    peers = [p for p in bench.PEERS if p.name in names]
    peers.insert(1, Peer(PURE, OURS.policy, _pure, thread_safe=True))
    saved = bench.PEERS[:]
    bench.PEERS[:] = peers
    try:
        m = bench.micro(n, repeat)
    finally:
        bench.PEERS[:] = saved
    print(f"{bench.machine()}\ncompiled core: {compiled}\n")
    cols = ["get-hit", "get-hit-ttl", "set", "set-ttl"]
    print("| cache | " + " | ".join(cols) + " |\n|" + "---|" * (len(cols) + 1))
    for name, row in m.items():
        print(f"| {name} | " + " | ".join(f"{row.get(c, 0):.0f}" for c in cols) + " |")
    print()
    for name in (OURS.name, PURE):
        for col, limit in TARGETS.items():
            peer = "cachebox.LRUCache" if col == "get-hit" else "cachebox.VTTLCache"
            print(bench._check(f"{name} {col} / {peer}", m[name][col] / m[peer][col], limit))


if __name__ == "__main__":
    main()
