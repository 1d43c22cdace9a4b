"""Drive the load around one fault (8 threads, or 50 asyncio tasks) and judge what it saw.

Timeline: ``WARM`` seconds of load, the fault, ``OUTAGE`` seconds, the repair,
``AFTER`` seconds of load. Probes write and read one key per node every 20 ms:
the first probe read that gets its value back after the repair is the
recovery time.
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, cast

from tests.faults.ledger import RECOVERY_BOUND, STALL_BOUND, Ledger
from tests.faults.workloads import Workloads

WARM, OUTAGE, AFTER = 1.0, 1.5, 2.0
#: Seconds the load is given to wind down before what still runs counts as stalled.
JOIN = 2.0
PROBE_EVERY = 0.02


@dataclass(frozen=True)
class Fault:
    """What happens to the server(s), and how it is repaired."""

    inject: Callable[[], None]
    heal: Callable[[], None]


def _frames(frames: list[FrameType]) -> str:
    """Return the library's frames among ``frames``, innermost last, one line each."""
    return "\n".join(
        f"    {f.f_code.co_filename.split('/src/')[-1]}:{f.f_lineno} {f.f_code.co_name}"
        for f in frames
        if "/src/cache/" in f.f_code.co_filename
    )


def _sampler(
    ledger: Ledger, threads: list[threading.Thread], stop: threading.Event
) -> Callable[[], None]:
    """Return the body of a thread noting where operations past the stall bound wait."""

    def stack_of(worker: int) -> str:
        if worker < 0:
            return "    (a probe)"
        frame = sys._current_frames().get(threads[worker].ident or 0)
        frames = []
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
        return _frames(frames[::-1])

    def sample() -> None:
        while not stop.wait(0.05):
            ledger.sample_stalls(stack_of)

    return sample


async def _asampler(ledger: Ledger, tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Note where operations past the stall bound wait (the tasks' stacks)."""
    while not stop.is_set():
        await asyncio.sleep(0.05)
        ledger.sample_stalls(lambda w: _frames(_awaiting(tasks[w])) if w >= 0 else "    (a probe)")


def _awaiting(task: asyncio.Task[None]) -> list[FrameType]:
    """Return the frames of the coroutines ``task`` is suspended in, outermost first."""
    frames, step = [], cast(Any, task.get_coro())
    while step is not None:
        frame = getattr(step, "cr_frame", None) or getattr(step, "gi_frame", None)
        if frame is not None:
            frames.append(frame)
        step = getattr(step, "cr_await", None) or getattr(step, "gi_yieldfrom", None)
    return frames


def _probe_once(work: Workloads, worker: int, node: str, key: str, n: int) -> None:
    op = f"probe {node}"
    start = work.ledger.started(worker, op)
    try:
        work.backend.set(key, n, 60)
        ok = work.backend.get(key) == n
    except Exception as exc:
        work.ledger.error(op, exc)
        ok = False
    work.ledger.probe(node, start, work.ledger.finished(worker, op, start), ok)


def run_threads(
    work: Workloads, fault: Fault, probes: dict[str, str], halt: Callable[[], None]
) -> None:
    """Run ``work.workers`` threads and the probes around ``fault``.

    Operations still running ``JOIN`` seconds after the end count as stalls of
    their age; ``halt`` (the servers are killed) then lets them finish.
    """
    ledger, stop = work.ledger, threading.Event()

    def worker(w: int) -> None:
        rng = random.Random(w)
        while not stop.is_set():
            try:
                work.step(w, rng)
            except Exception as exc:
                ledger.error("harness", exc)
            time.sleep(0.002)

    def probe(index: int, node: str, key: str) -> None:
        n = 0
        while not stop.wait(PROBE_EVERY):
            n += 1
            _probe_once(work, -1 - index, node, key, n)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(work.workers)]
    threads.append(threading.Thread(target=_sampler(ledger, threads, stop), daemon=True))
    threads += [
        threading.Thread(target=probe, args=(i, node, key), daemon=True)
        for i, (node, key) in enumerate(probes.items())
    ]
    for thread in threads:
        thread.start()
    time.sleep(WARM)
    ledger.window.fault_at = time.monotonic()
    fault.inject()
    time.sleep(OUTAGE)
    fault.heal()
    ledger.window.back_at = time.monotonic()
    time.sleep(AFTER)
    stop.set()
    deadline = time.monotonic() + JOIN
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    ledger.abandon_in_flight()
    if any(t.is_alive() for t in threads):
        halt()
        for thread in threads:
            thread.join(10)
        assert not any(t.is_alive() for t in threads), "load threads outlived their servers"


async def _aprobe_once(work: Workloads, worker: int, node: str, key: str, n: int) -> None:
    op = f"probe {node}"
    start = work.ledger.started(worker, op)
    try:
        await work.backend.aset(key, n, 60)
        ok = await work.backend.aget(key) == n
    except Exception as exc:
        work.ledger.error(op, exc)
        ok = False
    work.ledger.probe(node, start, work.ledger.finished(worker, op, start), ok)


async def _awarm(work: Workloads) -> None:
    """Open what the tasks use before the clock runs, and return once the engine answers.

    Started cold, 50 tasks open 50 connections and the manager's 50 threads
    at once: on a loaded machine that stalls the event loop past the socket
    timeout, every call in flight times out together, the circuit opens, and
    invalidations raise (as they must) although the server answered all along.
    """
    arrived = threading.Barrier(work.workers, timeout=30)

    def in_thread() -> None:
        work.backend.get("warm")
        arrived.wait()  # every thread of the pool is up, each with its connection

    await asyncio.gather(
        *(work.backend.aget("warm") for _ in range(work.workers)),
        *(work._in_thread(in_thread) for _ in range(work.workers)),
    )
    for n in range(200):  # a failure while warming must not count against the load
        await work.backend.aset("warm", n, 60)
        if await work.backend.aget("warm") == n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server never answered before the load")


async def run_tasks(
    work: Workloads, fault: Fault, probes: dict[str, str], halt: Callable[[], None]
) -> None:
    """Run ``work.workers`` asyncio tasks and the probes around ``fault``, as run_threads."""
    ledger, stop = work.ledger, asyncio.Event()
    await _awarm(work)

    async def worker(w: int) -> None:
        rng = random.Random(w)
        while not stop.is_set():
            try:
                await work.astep(w, rng)
            except Exception as exc:
                ledger.error("harness", exc)
            await asyncio.sleep(0.005)

    async def probe(index: int, node: str, key: str) -> None:
        n = 0
        while not stop.is_set():
            await asyncio.sleep(PROBE_EVERY)
            n += 1
            await _aprobe_once(work, -1 - index, node, key, n)

    tasks = [asyncio.create_task(worker(w)) for w in range(work.workers)]
    tasks.append(asyncio.create_task(_asampler(ledger, tasks, stop)))
    tasks += [asyncio.create_task(probe(i, n, k)) for i, (n, k) in enumerate(probes.items())]
    await asyncio.sleep(WARM)
    ledger.window.fault_at = time.monotonic()
    await asyncio.to_thread(fault.inject)
    await asyncio.sleep(OUTAGE)
    await asyncio.to_thread(fault.heal)
    ledger.window.back_at = time.monotonic()
    await asyncio.sleep(AFTER)
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=JOIN)
    ledger.abandon_in_flight()
    for task in pending:
        task.cancel()
    if pending:
        _, pending = await asyncio.wait(pending, timeout=JOIN)
    if pending:  # a cancellation did not end them
        await asyncio.to_thread(halt)
        _, pending = await asyncio.wait(pending, timeout=10)
        assert not pending, "load tasks outlived their servers"
    try:
        await asyncio.wait_for(work.swr.await_refreshes(), JOIN)
    except asyncio.TimeoutError:  # the builtin TimeoutError only from 3.11
        ledger.durations["swr refresh (unfinished)"] = JOIN


HEADER = (
    f"{'scenario':<34} {'ops':>6} {'exceptions':>10} {'raised inval.':>13} "
    f"{'stale reads':>11} {'never written':>13} {'worst stall (s)':>15} {'recovery (s)':>12}"
)


def row(ledger: Ledger, node: str = "server") -> str:
    """Return the scenario's line of the table."""
    _, stall = ledger.worst_stall()
    return (
        f"{ledger.name:<34} {ledger.ops:>6} {len(ledger.errors):>10} {len(ledger.raised):>13} "
        f"{len(ledger.stale()):>11} {len(ledger.never_written()):>13} {stall:>15.3f} "
        f"{ledger.recovery(node):>12.3f}"
    )


def report(ledger: Ledger, path: Path, node: str = "server") -> None:
    """Print the scenario's table and append its line to the report file."""
    line = row(ledger, node)
    op, _ = ledger.worst_stall()
    detail = f"  worst stall in {op!r}; raised invalidations: {len(ledger.raised)}"
    for stalled, stack in ledger.stalls.items():
        detail += f"\n  {stalled!r} was waiting past {STALL_BOUND} s in:\n{stack}"
    if not path.exists():
        path.write_text(HEADER + "\n")
    with path.open("a") as out:
        out.write(line + "\n")
    print(f"\n{HEADER}\n{line}\n{detail}\n(report: {path})")


def _sample(found: list[str]) -> str:
    return "; ".join(sorted(set(found))[:3])


def _kinds(errors: list[str]) -> str:
    """Count exceptions by operation and class: ``read memo: CancelledError x3``."""
    counts = Counter(e.split("(", 1)[0] for e in errors)
    return ", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items()))


def failures(ledger: Ledger, node: str = "server") -> list[str]:
    """Return every broken promise of the scenario, in words (empty: all kept)."""
    found = []
    if ledger.errors:
        found.append(
            f"{len(ledger.errors)} exceptions reached callers ({_kinds(ledger.errors)}): "
            f"{_sample(ledger.errors)}"
        )
    if ledger.never_written():
        found.append(f"values never written were read: {_sample(ledger.never_written())}")
    if ledger.stale():
        stale = ledger.stale()
        by_kind = Counter(s.split("/", 1)[0] for s in stale)
        found.append(
            f"{len(stale)} reads of invalidated content ({dict(sorted(by_kind.items()))}): "
            + "; ".join(
                _sample([s for s in stale if s.startswith(kind + "/")]) for kind in sorted(by_kind)
            )
        )
    outside = ledger.raised_outside_outage()
    if outside:
        found.append(f"invalidations raised while the server answered: {_sample(outside)}")
    op, stall = ledger.worst_stall()
    if stall > STALL_BOUND:
        found.append(f"{op!r} took {stall:.3f} s, over the {STALL_BOUND} s bound")
    recovery = ledger.recovery(node)
    if recovery > RECOVERY_BOUND:
        found.append(f"first good read {recovery:.3f} s after the server was back (bound 1.5 s)")
    return found
