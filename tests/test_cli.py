"""The operator CLI, run as a subprocess against a real Redis server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from cache import MISSING
from cache.advanced import (
    CacheInvalidator,
    CachePolicy,
    CacheStatistics,
    CacheTag,
    ContentTypeCacheManager,
    StaleWhileRevalidateCache,
)
from cache.backend import CacheBackend
from cache.testing.redis_server import RedisServer, free_port
from cache.web import CacheMiddleware


def run(
    *args: str, url: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    if url is not None:
        env["CACHE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "cache", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def timeless(shown: str) -> list[str]:
    """The lines of ``cache inspect`` that do not change from second to second."""
    return [line for line in shown.splitlines() if not line.startswith(("ttl:", "state:"))]


@pytest.fixture
def url(redis_server: RedisServer, redis_client: redis.Redis) -> str:
    return redis_server.url  # redis_client flushed the database


def test_help_documents_every_command() -> None:
    commands = [
        [],
        ["stats"],
        ["invalidate"],
        ["invalidate", "tag"],
        ["invalidate", "prefix"],
        ["invalidate", "pattern"],
        ["inspect"],
        ["warm"],
        ["warm", "list"],
        ["warm", "run"],
    ]
    for command in commands:
        result = run(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Usage: cache" in result.stdout
    assert "--dry-run" in run("invalidate", "prefix", "--help").stdout
    script = Path(sys.executable).with_name("cache")  # the console script
    version = subprocess.run([script, "--version"], check=True, capture_output=True, text=True)
    assert version.stdout.startswith("cache, version")


def test_invalidate_by_prefix_with_a_dry_run_first(
    url: str, open_url: Callable[[str], CacheBackend]
) -> None:
    backend = open_url(url)
    invalidator = CacheInvalidator(backend)
    for i in range(5):
        backend.set(f"user:{i}", i)
        backend.set(f"post:{i}", i)
    invalidator.register_keys([f"user:{i}" for i in range(5)] + [f"post:{i}" for i in range(5)])

    dry = run("--url", url, "invalidate", "prefix", "user:", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.split() == [f"user:{i}" for i in range(5)]
    assert "dry run: 5 keys would be invalidated" in dry.stderr
    assert backend.get("user:3") == 3  # nothing went

    done = run("invalidate", "prefix", "user:", url=url)  # the URL from CACHE_URL
    assert done.returncode == 0, done.stderr
    assert "invalidated 5 keys (prefix 'user:')" in done.stdout
    assert backend.get("user:3", MISSING) is MISSING and backend.get("post:3") == 3
    assert invalidator.registered_keys() == [f"post:{i}" for i in range(5)]


def test_invalidate_by_pattern_shows_progress_on_large_runs(
    url: str, open_url: Callable[[str], CacheBackend]
) -> None:
    backend = open_url(url)
    invalidator = CacheInvalidator(backend, registry="http")
    keys = [f"http:page:https://example.com/posts/{i}" for i in range(2_500)]
    backend.set_many(dict.fromkeys(keys, "page"))
    invalidator.register_keys(keys)
    backend.set("http:page:https://example.com/about", "about")
    invalidator.register_key("http:page:https://example.com/about")

    pattern = r"/posts/\d+$"
    dry = run("--url", url, "invalidate", "pattern", pattern, "--registry", "http", "--dry-run")
    assert dry.returncode == 0 and len(dry.stdout.split()) == 2_500
    done = run("--url", url, "invalidate", "pattern", pattern, "--registry", "http")
    assert done.returncode == 0, done.stderr
    assert "invalidated 2,500 keys" in done.stdout and "invalidating" in done.stderr
    assert backend.get_many(keys[:50]) == {}
    assert backend.get("http:page:https://example.com/about") == "about"
    bad = run("--url", url, "invalidate", "pattern", "(", "--registry", "http")
    assert bad.returncode == 2 and "not a valid regular expression" in bad.stderr


def test_invalidate_by_tag(url: str, open_url: Callable[[str], CacheBackend]) -> None:
    backend = open_url(url)
    swr = StaleWhileRevalidateCache(backend)
    swr.get_with_swr("profile:1", lambda: "v1", 600, tags=["user:1"])
    version = CacheTag(backend).get_versions(["user:1"])["user:1"]

    dry = run("--url", url, "invalidate", "tag", "user:1", "--dry-run")
    assert dry.returncode == 0 and f"user:1  (current version {version})" in dry.stdout
    assert swr.get_with_swr("profile:1", lambda: "v2", 600, tags=["user:1"])[0] == "v1"

    done = run("--url", url, "invalidate", "tag", "user:1", "user:2")
    assert done.returncode == 0 and "invalidated 2 tags: user:1, user:2" in done.stdout
    one = run("--url", url, "invalidate", "tag", "user:3", "--dry-run")
    assert "dry run: 1 tag would get new versions" in one.stderr
    assert "invalidated 1 tag: user:3" in run("--url", url, "invalidate", "tag", "user:3").stdout
    assert swr.get_with_swr("profile:1", lambda: "v2", 600, tags=["user:1"])[0] == "v2"


def test_inspect_a_key(url: str, open_url: Callable[[str], CacheBackend]) -> None:
    backend = open_url(url)
    swr = StaleWhileRevalidateCache(backend)
    swr.get_with_swr("report", lambda: {"rows": [1, 2, 3]}, 600, 60, tags=["reports", "daily"])
    backend.set("plain", "hello", timeout=None)

    shown = run("--url", url, "inspect", "report")
    assert shown.returncode == 0, shown.stderr
    lines = dict(line.split(":", 1) for line in shown.stdout.splitlines())
    assert float(lines["ttl"].split()[0]) > 600  # timeout plus the stale window
    assert lines["state"].strip().startswith("fresh for")
    assert lines["tags"].strip() == "daily, reports"
    assert lines["value"].strip() == 'dict of 1 items: {"rows": [1, 2, 3]}'

    CacheTag(backend).invalidate_tag("daily")
    after = run("--url", url, "inspect", "report").stdout
    assert "invalidated by tag daily" in after and "daily (invalidated)" in after

    plain = run("--url", url, "inspect", "plain").stdout
    assert "ttl:    no expiry" in plain and 'value:  str: "hello"' in plain
    missing = run("--url", url, "inspect", "nothing-here")
    assert missing.returncode == 2 and "no such key: nothing-here" in missing.stderr


async def test_inspect_a_stored_http_response(
    url: str, open_url: Callable[[str], CacheBackend]
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/plain"), (b"vary", b"Accept-Language")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello, world"})

    backend = open_url(url)
    manager = ContentTypeCacheManager(backend)
    manager.register_policy("page", CachePolicy(timeout=60, tags={"pages"}))
    middleware = CacheMiddleware(app, manager, {"/page": "page"})
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/page")).headers["cache-status"].endswith("; stored")
    (key,) = CacheInvalidator(backend, registry="http").registered_keys("http:page:")

    assert key.startswith("http:page:http://testserver/page|")
    shown = await asyncio.to_thread(run, "--url", url, "inspect", key)
    assert shown.returncode == 0, shown.stderr
    assert "tags:   pages" in shown.stdout
    assert (
        "value:  an HTTP response: status 200, text/plain, 12 bytes, varies on accept-language"
        in shown.stdout
    )
    # The same entry by its URL, as a browser shows it, and by its URL key (no digest).
    for name in (
        "http://testserver/page",
        "http://TestServer:80/page",
        "http:page:http://testserver/page",
    ):
        by_url = await asyncio.to_thread(run, "--url", url, "inspect", name)
        assert by_url.returncode == 0, by_url.stderr
        assert timeless(by_url.stdout) == timeless(shown.stdout)
    listed = await asyncio.to_thread(run, "--url", url, "keys", "http://testserver/page")
    assert listed.stdout.split() == [key] and "1 key (registry 'http')" in listed.stderr
    found = await asyncio.to_thread(run, "--url", url, "keys", r"/page\|", "--registry", "http")
    assert found.stdout.split() == [key]
    gone = await asyncio.to_thread(run, "--url", url, "inspect", "http:page:http://testserver/")
    assert gone.returncode == 2 and "cache keys URL lists them" in gone.stderr


async def test_a_prefix_of_http_keys_outside_the_http_registry_says_where_they_are(
    url: str, open_url: Callable[[str], CacheBackend]
) -> None:
    backend = open_url(url)
    http = CacheInvalidator(backend, registry="http")
    keys = [f"http:post:http://127.0.0.1:8000/posts/{n}|0123456789abcdef" for n in (1, 2)]
    backend.set_many(dict.fromkeys(keys, "page"))
    http.register_keys(keys)

    none = run("--url", url, "invalidate", "prefix", "http:post:")
    assert none.returncode == 0
    assert "invalidated 0 keys" in none.stdout
    assert "no key of the registry 'default' matches the prefix 'http:post:'" in none.stderr
    assert "2 keys of the registry 'http' (the HTTP middleware's) match: add --registry http" in (
        none.stderr
    )
    one = run("--url", url, "invalidate", "pattern", r"/posts/1\|", "--registry", "http")
    assert one.returncode == 0 and "invalidated 1 key (pattern" in one.stdout
    assert backend.get(keys[0], MISSING) is MISSING and backend.get(keys[1]) == "page"
    dollar = run("--url", url, "keys", r"/posts/2$", "--registry", "http")
    assert dollar.stdout == "" and "0 keys" in dollar.stderr  # the digest follows the path


def test_the_cli_needs_no_web_extra() -> None:
    code = (
        "import sys, cache.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'httpx', 'django'}))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_stats_shows_what_apps_pushed(url: str, open_url: Callable[[str], CacheBackend]) -> None:
    backend = open_url(url)
    stats = CacheStatistics()
    for _ in range(3):
        stats.record_hit(0.001)
    stats.record_miss(0.01)
    stats.push(backend, "web")
    result = run(
        "--url", url, "stats", "--group", "web", "--count", "2", "--interval", "0.1", "--json"
    )
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["app"]["hits"] == 3 and first["app"]["misses"] == 1
    assert first["app"]["hit_rate"] == 75.0 and first["requests_per_second"] is None
    assert second["requests_per_second"] == 0.0
    assert first["engine"]["engine"] == "RedisCache" and first["engine"]["keys"] >= 1
    text = run("--url", url, "stats", "--group", "web", "--count", "1").stdout
    assert "hits 3  misses 1  hit rate 75.0%" in text and "engine RedisCache" in text
    assert "| 1 worker reporting |" in text and first["workers"] == 1

    other = CacheStatistics()  # a second worker of the same deployment
    other.record_hit(0.001)
    other.push(backend, "web")
    both = run("--url", url, "stats", "--group", "web", "--count", "1", "--per-worker").stdout
    total, *workers = both.splitlines()
    assert "hits 4  misses 1  hit rate 80.0%" in total and "| 2 workers reporting |" in total
    assert sorted(w.split(": ", 1)[1] for w in workers) == [
        "hits 1  misses 0  hit rate 100.0%",
        "hits 3  misses 1  hit rate 75.0%",
    ]
    assert {w.split(": ", 1)[0] for w in workers} == {
        f"  worker {stats.worker}",
        f"  worker {other.worker}",
    }


def test_warm_list_and_run(
    url: str, tmp_path: Path, open_url: Callable[[str], CacheBackend]
) -> None:
    (tmp_path / "shopapp.py").write_text(
        textwrap.dedent(
            """
            from cache import from_env
            from cache.advanced import CacheWarmer

            warmer = CacheWarmer(from_env())
            warmer.register_warming_task(
                "data:popular", lambda: [1, 2, 3], timeout=600, schedule="*/5 * * * *"
            )
            warmer.register_warming_task("data:broken", lambda: 1 / 0, timeout=60)
            """
        )
    )
    listed = run("warm", "list", "shopapp:warmer", url=url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "data:popular" in listed.stdout and "*/5 * * * *" in listed.stdout

    one = run("warm", "run", "shopapp:warmer", "--key", "data:popular", url=url, cwd=tmp_path)
    assert one.returncode == 0 and "warmed data:popular" in one.stdout
    assert open_url(url).get("data:popular") == [1, 2, 3]

    everything = run("warm", "run", "shopapp:warmer", url=url, cwd=tmp_path)
    assert everything.returncode == 1
    assert "FAILED data:broken: ZeroDivisionError" in everything.stderr
    assert "1 of 2 warming tasks failed" in everything.stderr

    unknown = run("warm", "run", "shopapp:warmer", "--key", "nope", url=url, cwd=tmp_path)
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    wrong = run("warm", "list", "shopapp:from_env", url=url, cwd=tmp_path)
    assert wrong.returncode == 2 and "not a CacheWarmer" in wrong.stderr


def test_bad_urls_and_outages_exit_with_clear_messages() -> None:
    bad = run("--url", "redis://h:port/0", "stats", "--count", "1")
    assert bad.returncode == 2 and "the port in 'h:port' is not a number" in bad.stderr
    down_url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    down = run("--url", down_url, "invalidate", "tag", "x")
    assert down.returncode == 1 and "failed" in down.stderr
    assert "hunter2" not in down.stderr  # the password is not printed
    assert run("no-such-command").returncode == 2


DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def all_commands() -> list[list[str]]:
    from cache.cli import main

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(main, [])
    return found


def test_every_commands_help_is_on_the_docs_page() -> None:
    page = DOCS.read_text()
    documented = dict(re.findall(r"```text\n\$ cache ((?:[a-z]+ )*)--help\n(.*?)\n```", page, re.S))
    commands = all_commands()
    assert sorted(documented) == sorted(" ".join([*c, ""]).lstrip() for c in commands)
    env = {**os.environ, "COLUMNS": "80"}
    for command in commands:
        shown = subprocess.run(
            [sys.executable, "-m", "cache", *command, "--help"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout.rstrip()
        assert shown == documented[" ".join([*command, ""]).lstrip()], (
            f"docs/cli.md shows another help for `cache {' '.join(command)}`: paste this\n{shown}"
        )


@pytest.mark.parametrize(
    ("code", "args"),
    [
        (0, ["invalidate", "prefix", "nothing:"]),
        (0, ["keys", "http://127.0.0.1:8000/posts/1"]),
        (1, ["--url", "redis://127.0.0.1:{down}/0", "invalidate", "tag", "x"]),
        (1, ["--url", "redis://127.0.0.1:{down}/0", "inspect", "x"]),
        (2, ["inspect", "nothing-here"]),
        (2, ["inspect", "http://127.0.0.1:8000/posts/1"]),
        (2, ["invalidate", "pattern", "("]),
        (2, ["--url", "mongodb://x", "stats", "--count", "1"]),
        (2, ["stats", "--count", "0"]),
        (2, ["no-such-command"]),
        (2, ["warm", "list", "no_such_module:warmer"]),
    ],
)
def test_exit_codes_are_the_documented_ones(code: int, args: list[str]) -> None:
    table = DOCS.read_text().split("## Exit codes", 1)[1].split("##", 1)[0]
    assert re.search(rf"^\| {code} \| ", table, re.M), f"exit code {code} is not documented"
    result = run(*(a.format(down=free_port()) for a in args))
    assert result.returncode == code, result.stdout + result.stderr
