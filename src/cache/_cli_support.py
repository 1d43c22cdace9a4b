"""What the operator CLI (:mod:`cache.cli`) says of keys, entries and figures; how it finds apps.

Apart from the commands so that each stays short: naming HTTP entries by
URL, describing one entry, the statistics line, importing an app's warmer.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any

import click

from cache._types import MISSING
from cache.advanced.envelope import Envelope
from cache.advanced.keyguard import guard_tag
from cache.advanced.statistics import CacheStatistics, summarize
from cache.advanced.tags import CacheTag
from cache.advanced.warming import CacheWarmer
from cache.backend.base import CacheBackend
from cache.web.headers import get_header
from cache.web.stored import Captured

__all__ = [
    "load_warmer",
    "plural",
    "show_entry",
    "stats_line",
    "stats_sample",
    "summary",
]


def plural(count: int, word: str) -> str:
    """Return ``"1 key"``, ``"2 keys"``, ``"1,000 keys"``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def stats_sample(backend: CacheBackend, group: str, per_worker: bool) -> dict[str, Any]:
    """Read the deployment's figures (the sum of every worker's pushes), and each worker's."""
    sample = {
        "time": time.time(),
        "app": CacheStatistics.shared_stats(backend, group),
        "workers": CacheStatistics.shared_workers(backend, group),
        "engine": backend.info(),
    }
    if per_worker:
        found = CacheStatistics.worker_totals(backend, group)
        sample["per_worker"] = {name: summarize(totals) for name, totals in found.items()}
    return sample


def _counts(app: dict[str, Any]) -> str:
    return f"hits {app['hits']:,}  misses {app['misses']:,}  hit rate {app['hit_rate']:.1f}%"


def stats_line(sample: dict[str, Any], rate: float | None) -> str:
    """Return a sample as ``cache stats`` prints it: a line, and one per worker if asked."""
    app, engine = sample["app"], sample["engine"]
    parts = [
        _counts(app),
        f"stale {app['stale_hits']:,}",
        f"sets {app['sets']:,}",
        f"errors {app['errors']:,}",
    ]
    if rate is not None:
        parts.append(f"{rate:,.1f} req/s")
    figures = [f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in engine.items()]
    workers = f"{plural(sample['workers'], 'worker')} reporting"
    lines = [" | ".join(["  ".join(parts), workers, ", ".join(figures)])]
    for name, figures_of in sample.get("per_worker", {}).items():
        lines.append(f"  worker {name}: {_counts(figures_of)}")
    return "\n".join(lines)


def summary(value: Any, width: int = 200) -> str:
    """Describe a value in one line: an HTTP response by status, type and size."""
    response = Captured.load(value)
    if response is not None:
        kind = get_header(response.headers, "content-type") or "?"
        varies = f", varies on {', '.join(response.vary)}" if response.vary else ""
        size = f"{len(response.body):,} bytes"
        return f"an HTTP response: status {response.status}, {kind}, {size}{varies}"
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    items = f" of {len(value):,} items" if isinstance(value, (dict, list, tuple, set)) else ""
    text = text if len(text) <= width else text[: width - 3] + "..."
    return f"{type(value).__name__}{items}: {text}"


def show_entry(backend: CacheBackend, key: str) -> None:
    """Print one entry: its TTL, state, tags and a summary of its value."""
    ttl = backend.ttl(key)
    entry = backend.get_entry(key)
    click.echo(f"key:    {key}")
    life = "gone" if ttl is MISSING else "no expiry" if ttl is None else f"{float(ttl):,.1f} s"
    click.echo(f"ttl:    {life}")
    env = Envelope.load(entry.value)
    if env is None:
        click.echo(f"value:  {summary(entry.value)}")
        return
    now = time.time()
    if env.is_fresh(now):
        state = f"fresh for {env.fresh_until - now:,.1f} s more"
    elif env.is_servable(now):
        state = f"stale: served while refreshing for {env.stale_until - now:,.1f} s more"
    else:
        state = "expired: past its stale window (kept only for stale-if-error)"
    # The versions read with the entry (get_entry's refs): inspecting creates nothing.
    tags, guard = CacheTag(backend), guard_tag(key)
    dropped = [t for t, v in env.tags.items() if not tags.matches({t: v}, entry.refs)]
    internal = {guard} | {t for t in env.tags if t.startswith("http-url:")}  # keys.url_tag
    if guard in dropped:
        state = "invalidated (its key was invalidated while it was being generated)"
    elif set(dropped) & internal:
        state = "invalidated (an unsafe request to its URL)"
    elif dropped:
        state = f"invalidated by tag {', '.join(sorted(dropped))}"
    click.echo(f"state:  {state}")
    shown = sorted(t for t in env.tags if t not in internal)
    marks = [f"{t}{' (invalidated)' if t in dropped else ''}" for t in shown]
    click.echo(f"tags:   {', '.join(marks) or '-'}")
    click.echo(f"value:  {summary(env.value)}")


def load_warmer(target: str) -> CacheWarmer:
    """Import ``module:attribute``: a CacheWarmer, an object with ``.warmer``, or a factory."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise click.BadParameter("write it as module:attribute, e.g. myapp.cache:warmer")
    sys.path.insert(0, os.getcwd())  # as uvicorn and gunicorn do: the app is beside us
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name!r}: {exc}") from None
    for name in attribute.split("."):
        try:
            found = getattr(found, name)
        except AttributeError:
            raise click.BadParameter(f"{module_name!r} has no attribute {attribute!r}") from None
    if callable(found) and not isinstance(found, CacheWarmer):
        found = found()  # a factory
    warmer = getattr(found, "warmer", found)
    if not isinstance(warmer, CacheWarmer):
        raise click.BadParameter(
            f"{target} is a {type(found).__name__}, not a CacheWarmer (or an object with .warmer)"
        )
    return warmer
