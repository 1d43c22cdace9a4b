"""Request streams for hit-ratio and throughput benchmarks (deterministic: seeded)."""

from __future__ import annotations

import gzip
import itertools
import random
from pathlib import Path

#: The ARC paper's OLTP trace, kept in the repository (source and license: data/README.md).
TRACE = Path(__file__).resolve().parent / "data" / "oltp.arc.gz"


def oltp(path: Path = TRACE, limit: int | None = None) -> list[str]:
    """Read the ARC OLTP trace: a line ``start count _ _`` asks for count blocks from start."""
    out: list[str] = []
    with gzip.open(path, "rt") as f:
        for line in f:
            start, count, *_ = line.split()
            s = int(start)
            out.extend(str(b) for b in range(s, s + int(count)))
            if limit is not None and len(out) >= limit:
                return out[:limit]
    return out


def zipf(n_keys: int, n_requests: int, s: float = 0.99, seed: int = 1) -> list[str]:
    """Draw ``n_requests`` keys from a Zipf(s) popularity over ``n_keys`` keys."""
    rng = random.Random(seed)
    weights = itertools.accumulate(1.0 / (i**s) for i in range(1, n_keys + 1))
    cum = list(weights)
    names = list(range(n_keys))
    rng.shuffle(names)  # popularity unrelated to key order
    ranks = rng.choices(range(n_keys), cum_weights=cum, k=n_requests)
    return [f"k{names[r]}" for r in ranks]


def scan_polluted(
    n_keys: int, n_requests: int, scan_every: int, scan_len: int, seed: int = 2
) -> list[str]:
    """Zipf requests with a one-off sequential scan of new keys every ``scan_every`` requests."""
    base = zipf(n_keys, n_requests, seed=seed)
    out: list[str] = []
    scanned = 0
    for i in range(0, len(base), scan_every):
        out.extend(base[i : i + scan_every])
        out.extend(f"scan{scanned + j}" for j in range(scan_len))
        scanned += scan_len
    return out


def recency(
    n_requests: int, new_share: float = 0.2, mean_age: int = 2_000, seed: int = 3
) -> list[str]:
    """Newest items are the hot ones: a request creates an item or reads one of exponential age."""
    rng = random.Random(seed)
    newest = 0
    out: list[str] = []
    for _ in range(n_requests):
        if rng.random() < new_share:
            newest += 1
            out.append(f"r{newest}")
        else:
            age = int(rng.expovariate(1 / mean_age))
            out.append(f"r{max(0, newest - age)}")
    return out


def loop(n_keys: int, n_requests: int) -> list[str]:
    """Read ``n_keys`` keys in the same order, again and again (a batch job's pass)."""
    return [f"l{i % n_keys}" for i in range(n_requests)]


def loop_hot(
    loop_keys: int, hot_keys: int, n_requests: int, hot_share: float = 0.5, seed: int = 4
) -> list[str]:
    """A loop interleaved with Zipf reads of a small hot set (a web app beside a batch job)."""
    rng = random.Random(seed)
    hot = iter(zipf(hot_keys, n_requests, seed=seed))
    out: list[str] = []
    position = 0
    for _ in range(n_requests):
        if rng.random() < hot_share:
            out.append(f"h{next(hot)}")
        else:
            out.append(f"l{position % loop_keys}")
            position += 1
    return out


def multi_loop(n_requests: int, seed: int = 5) -> list[str]:
    """Several programs at once: loops of three lengths, a Zipf stream and a recency stream."""
    rng = random.Random(seed)
    streams = [
        iter(loop(500, n_requests)),
        iter(f"m{k}" for k in loop(1_500, n_requests)),
        iter(f"n{k}" for k in loop(4_000, n_requests)),
        iter(zipf(20_000, n_requests, seed=seed)),
        iter(recency(n_requests, seed=seed)),
    ]
    return [next(streams[rng.randrange(len(streams))]) for _ in range(n_requests)]


def shifting(
    working_set: int, n_requests: int, phase: int, overlap: float = 0.5, seed: int = 6
) -> list[str]:
    """Zipf reads over a working set that moves every ``phase`` requests, keeping ``overlap``."""
    ranks = zipf(working_set, n_requests, seed=seed)
    shift = int(working_set * (1 - overlap))
    out: list[str] = []
    for i, name in enumerate(ranks):
        base = (i // phase) * shift
        out.append(f"s{base + int(name[1:])}")
    return out
