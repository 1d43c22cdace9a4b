"""The operator's command line: ``cache`` (or ``python -m cache``).

Every command works against the cache named by ``--url`` or ``CACHE_URL``
(see :mod:`cache.backend.config`). Exit codes: 0 done, 1 the cache failed or a
warming task failed, 2 bad usage (a bad URL, pattern or option, a key that is
not there). Keys are named as stored, or, for HTTP entries, by their URL.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import click

from cache import __version__
from cache._cli_support import (
    load_warmer,
    plural,
    show_entry,
    stats_line,
    stats_sample,
)
from cache._types import MISSING
from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.tags import CacheTag
from cache.backend.base import CacheBackend
from cache.backend.config import ENV_VAR, from_url
from cache.errors import CacheError
from cache.web.keys import url_pattern

__all__ = ["main"]

#: Invalidations longer than this show a progress bar.
_PROGRESS_FROM = 1_000
_SLICE = 500


class _NotThere(click.ClickException):
    """A key or URL that names nothing stored: bad usage (exit code 2)."""

    exit_code = 2


def _redacted(url: str) -> str:
    """Return ``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def _strict(url: str) -> str:
    """Ask a Redis URL for strict errors (unless it says otherwise): an outage must show."""
    if url.startswith("memory:") or "strict=" in url:
        return url
    return url + ("&" if "?" in url else "?") + "strict=true"


@contextmanager
def _failures(url: str) -> Iterator[None]:
    """Turn the cache's failures into a one-line message and exit code 1."""
    try:
        yield
    except CacheError as exc:
        if isinstance(exc, (TypeError, ValueError, LookupError)):
            raise click.UsageError(str(exc)) from None
        raise click.ClickException(f"the cache at {_redacted(url)} failed: {exc}") from None


class _Context:
    def __init__(self, url: str) -> None:
        self.url = url
        self._backend: CacheBackend | None = None

    @property
    def backend(self) -> CacheBackend:
        if self._backend is None:
            try:
                self._backend = from_url(_strict(self.url))
            except CacheError as exc:
                raise click.BadParameter(str(exc), param_hint="--url") from None
        return self._backend


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    envvar=ENV_VAR,
    default="memory://",
    show_default=True,
    help=f"The cache: memory://, redis://host:6379/0, rediss://, unix://, "
    f"redis+cluster://; read from ${ENV_VAR} when not given.",
)
@click.version_option(version=__version__, prog_name="cache")
@click.pass_context
def main(ctx: click.Context, url: str) -> None:
    """Inspect and operate a cache: statistics, invalidation, keys, warming."""
    ctx.obj = _Context(url)


# -- stats ---------------------------------------------------------------------------


@main.command(short_help="Live statistics of the apps and the engine.")
@click.option(
    "--group", default="default", show_default=True, help="The statistics group apps push to."
)
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds."
)
@click.option("--count", type=click.IntRange(min=1), help="Samples to show (default: until ^C).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per sample.")
@click.option("--per-worker", is_flag=True, help="Each worker's own counts too.")
@click.pass_obj
def stats(
    obj: _Context, group: str, interval: float, count: int | None, as_json: bool, per_worker: bool
) -> None:
    """Show live statistics: what apps pushed (CacheStatistics.push) and the engine's figures.

    The counts are the whole deployment's: the sum of what every worker
    pushed to the --group; --per-worker adds a line per worker (seen in the last
    minute).
    """
    backend = obj.backend
    previous: dict[str, Any] | None = None
    shown = 0
    with _failures(obj.url):
        try:
            while count is None or shown < count:
                if shown:
                    time.sleep(interval)
                sample = stats_sample(backend, group, per_worker)
                rate = None
                if previous is not None:
                    done = sample["app"]["hits"] + sample["app"]["misses"]
                    before = previous["app"]["hits"] + previous["app"]["misses"]
                    rate = (done - before) / max(1e-9, sample["time"] - previous["time"])
                if as_json:
                    click.echo(json.dumps({**sample, "requests_per_second": rate}))
                else:
                    click.echo(stats_line(sample, rate))
                previous, shown = sample, shown + 1
        except KeyboardInterrupt:
            pass


# -- invalidate ----------------------------------------------------------------------


@main.group(short_help="Invalidate by tag, key prefix or key pattern.")
def invalidate() -> None:
    """Invalidate by tag, key prefix or key pattern (--dry-run lists what would go)."""


def _drop(invalidator: CacheInvalidator, keys: list[str], dry_run: bool, what: str) -> None:
    if dry_run:
        for key in keys:
            click.echo(key)
        click.echo(f"dry run: {plural(len(keys), 'key')} would be invalidated ({what})", err=True)
        return
    if len(keys) < _PROGRESS_FROM:
        invalidator.invalidate_keys(keys)
    else:
        with click.progressbar(length=len(keys), label="invalidating", file=sys.stderr) as bar:
            for start in range(0, len(keys), _SLICE):
                chunk = keys[start : start + _SLICE]
                invalidator.invalidate_keys(chunk)
                bar.update(len(chunk))
    click.echo(f"invalidated {plural(len(keys), 'key')} ({what})")


@invalidate.command("tag")
@click.argument("tags", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.pass_obj
def invalidate_tag(obj: _Context, tags: tuple[str, ...], dry_run: bool) -> None:
    """Invalidate every entry carrying any of TAGS (one write per tag)."""
    with _failures(obj.url):
        manager = CacheTag(obj.backend)
        if dry_run:
            versions = manager.get_versions(tags)
            for tag in tags:
                click.echo(f"{tag}  (current version {versions[tag]})")
            click.echo(
                f"dry run: {plural(len(tags), 'tag')} would get new versions; every entry written "
                "under the current ones would then miss",
                err=True,
            )
            return
        manager.invalidate_tags(tags)
    click.echo(f"invalidated {plural(len(tags), 'tag')}: {', '.join(tags)}")


_REGISTRY = click.option(
    "--registry",
    default="default",
    show_default=True,
    help="The CacheInvalidator registry ('http' for the HTTP middleware's responses).",
)


_DRY_RUN = click.option(
    "--dry-run", is_flag=True, help="List the keys that would go; delete nothing."
)


def _registered(backend: CacheBackend, registry: str, what: str, match: str) -> list[str]:
    """Return the keys of ``registry`` starting with (prefix) or matching (pattern) ``match``."""
    invalidator = CacheInvalidator(backend, registry=registry)
    if what == "prefix":
        return invalidator.registered_keys(match)
    return invalidator.matching_keys(match)


def _why_none(backend: CacheBackend, registry: str, what: str, match: str) -> str:
    """Say why no key matched: most often, HTTP entries looked for outside the registry 'http'."""
    said = f"no key of the registry {registry!r} matches the {what} {match!r}"
    if registry == "http":
        return said
    there = len(_registered(backend, "http", what, match))
    if there:
        return (
            f"{said}; {plural(there, 'key')} of the registry 'http' (the HTTP "
            "middleware's) match: add --registry http"
        )
    return f"{said}; the HTTP middleware registers its responses in --registry http"


def _by_registry(obj: _Context, registry: str, dry_run: bool, what: str, match: str) -> None:
    with _failures(obj.url):
        keys = _registered(obj.backend, registry, what, match)
        if not keys:
            click.echo(_why_none(obj.backend, registry, what, match), err=True)
        invalidator = CacheInvalidator(obj.backend, registry=registry)
        _drop(invalidator, keys, dry_run, f"{what} {match!r}")


@invalidate.command("prefix", short_help="Invalidate the registered keys starting with PREFIX.")
@click.argument("prefix")
@_REGISTRY
@_DRY_RUN
@click.pass_obj
def invalidate_prefix(obj: _Context, prefix: str, registry: str, dry_run: bool) -> None:
    """Invalidate the registered keys starting with PREFIX (e.g. http:post:)."""
    _by_registry(obj, registry, dry_run, "prefix", prefix)


@invalidate.command("pattern", short_help="Invalidate the registered keys PATTERN finds.")
@click.argument("pattern")
@_REGISTRY
@_DRY_RUN
@click.pass_obj
def invalidate_pattern(obj: _Context, pattern: str, registry: str, dry_run: bool) -> None:
    r"""Invalidate the registered keys matching the regular expression PATTERN.

    PATTERN is searched anywhere in the key (Python's re.search). HTTP keys
    read http:<type>:<scheme>://<host><path>|<digest>, so '/posts/\d+\|'
    finds every post, and a '$' after a path finds nothing.
    """
    _by_registry(obj, registry, dry_run, "pattern", pattern)


# -- keys and inspect ----------------------------------------------------------------


@main.command("keys", short_help="List registered keys (a pattern, a URL).")
@click.argument("match", required=False, default="")
@_REGISTRY
@click.pass_obj
def list_keys(obj: _Context, match: str, registry: str) -> None:
    """List registered keys: all, those MATCH finds (a regular expression), or a URL's.

    A URL (http://127.0.0.1:8000/posts/1) or a URL key
    (http:post:http://127.0.0.1:8000/posts/1) lists the HTTP entries stored for
    it, one per variant, from the registry 'http'. The count goes to stderr.
    """
    url = url_pattern(match)
    registry = "http" if url is not None else registry
    with _failures(obj.url):
        keys = CacheInvalidator(obj.backend, registry=registry).matching_keys(url or match)
        for key in keys:
            click.echo(key)
        if not keys and match:
            click.echo(_why_none(obj.backend, registry, "pattern", match), err=True)
    click.echo(f"{plural(len(keys), 'key')} (registry {registry!r})", err=True)


@main.command("inspect", short_help="Show one entry (a key, a URL): TTL, state, tags.")
@click.argument("key")
@click.pass_obj
def inspect_key(obj: _Context, key: str) -> None:
    """Show KEY: a summary of its value, its TTL, its tags and whether it is fresh.

    KEY is a key as stored (cache keys lists them), or a URL or URL key, whose
    stored HTTP variants are shown one after the other. Exit code 2 if there
    is none.
    """
    with _failures(obj.url):
        backend = obj.backend
        found = [key]
        url = url_pattern(key)
        if backend.ttl(key) is MISSING and url is not None:
            found = CacheInvalidator(backend, registry="http").matching_keys(url)
        found = [k for k in found if backend.ttl(k) is not MISSING]
        if not found:
            hint = " (stored HTTP keys end in |<digest>; cache keys URL lists them)"
            raise _NotThere(f"no such key: {key}" + (hint if "|" not in key else ""))
        for number, name in enumerate(found):
            if number:
                click.echo()
            show_entry(backend, name)


# -- warm ----------------------------------------------------------------------------


@main.group(short_help="List or run an app's warming tasks.")
def warm() -> None:
    """List or run the warming tasks of an app's CacheWarmer (APP is module:attribute)."""


def _when(seconds: float | None) -> str:
    return "-" if seconds is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


@warm.command("list")
@click.argument("app")
def warm_list(app: str) -> None:
    """List APP's warming tasks with their schedules and next runs."""
    warmer = load_warmer(app)
    status = warmer.get_warming_status()
    if not status:
        click.echo("no warming tasks")
        return
    click.echo(f"{'key':30} {'schedule':15} {'next run':20} state")
    for key, s in status.items():
        click.echo(f"{key:30} {s['schedule'] or '-':15} {_when(s['next_run']):20} {s['state']}")


@warm.command("run", short_help="Run APP's warming tasks now; exit 1 if one fails.")
@click.argument("app")
@click.option("--key", "keys", multiple=True, help="Warm only this key (repeatable).")
def warm_run(app: str, keys: tuple[str, ...]) -> None:
    """Run APP's warming tasks now (all, or --key ones) into its cache; exit 1 if one fails."""
    warmer = load_warmer(app)

    async def run() -> dict[str, dict[str, Any]]:
        if not keys:
            return await warmer.warm_cache()
        results: dict[str, dict[str, Any]] = {}
        for key in keys:
            results.update(await warmer.warm_cache(key=key))
        return results

    try:
        results = asyncio.run(run())
    except LookupError as exc:
        raise click.BadParameter(str(exc).strip("'\""), param_hint="--key") from None
    failed = 0
    for key, result in results.items():
        if result["ok"]:
            click.echo(f"warmed {key} in {result['duration'] * 1000:,.0f} ms")
        else:
            failed += 1
            click.echo(f"FAILED {key}: {result['error']}", err=True)
    if failed:
        raise click.ClickException(f"{failed} of {len(results)} warming tasks failed")
