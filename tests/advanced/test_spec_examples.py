"""Every code block of the user's design document runs as written and keeps its promise.

The blocks are read from ``shared/spec/advanced-caching.md`` beside the
repository and run in order in one namespace, as one script would; the helper
functions the spec leaves undefined are defined first.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "advanced-caching.md"

HELPERS = """
post_data = {"id": 456, "title": "Hello", "author": 123}

def generate_homepage():
    return "<h1>Home</h1>"

def fetch_latest_data():
    return {"latest": [1, 2, 3]}

def fetch_popular_posts():
    return [{"id": 123, "title": "Example"}]
"""


def spec_blocks() -> list[tuple[str, str]]:
    """Return (section heading, code) for every python block of the spec."""
    text = SPEC.read_text()
    blocks = []
    heading = ""
    pattern = r"^(#+ [^\n]*)$|^```python\n(.*?)^```"
    for match in re.finditer(pattern, text, re.M | re.S):
        if match.group(1):
            heading = match.group(1).lstrip("# ").strip()
        else:
            blocks.append((heading, match.group(2)))
    return blocks


def run_block(code: str, namespace: dict[str, Any]) -> str:
    """Run ``code`` (top-level await allowed) in ``namespace``; return what it printed."""
    compiled = compile(code, "<spec>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = eval(compiled, namespace)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    return out.getvalue()


def test_the_spec_is_beside_the_repository() -> None:
    assert SPEC.exists(), f"{SPEC} is missing: CI clones the repo with shared/ beside it"
    assert len(spec_blocks()) == 10


@pytest.mark.parametrize("engine", ["memory", "redis", "cluster"])
def test_every_spec_example_runs_and_keeps_its_promise(
    engine: str, request: pytest.FixtureRequest
) -> None:
    """The spec as written; on Redis, with ``RedisCache(url)`` in place of ``InMemoryCache()``."""
    if not SPEC.exists():
        pytest.fail(f"{SPEC} is missing")
    ns: dict[str, Any] = {}
    exec(HELPERS, ns)
    if engine != "memory":
        from cache.backend import RedisCache

        server = "redis_server" if engine == "redis" else "redis_cluster"
        request.getfixturevalue("redis_client" if engine == "redis" else "cluster_client")
        url = request.getfixturevalue(server).url
        ns["_engine"] = lambda: RedisCache(url, cluster=engine == "cluster")
    printed = {}
    for heading, code in spec_blocks():
        source = code if engine == "memory" else code.replace("InMemoryCache()", "_engine()")
        printed[heading] = run_block(source, ns)
        check = CHECKS.get(heading)
        if check is not None:
            check(ns, printed[heading])
    assert set(CHECKS) <= set(printed), set(CHECKS) - set(printed)


def _tagging(ns: dict[str, Any], out: str) -> None:
    cache, tags = ns["cache"], ns["tags"]
    assert cache.get(ns["versioned_key"]) == ns["post_data"]  # the old entry is still stored ...
    fresh_key = ns["tag_manager"].tag_cache_key("post:456", tags)
    assert fresh_key != ns["versioned_key"]  # ... but no reader can reach it any more
    assert cache.get(fresh_key) is None
    untouched = ns["tag_manager"].tag_cache_key("post:1", {"posts"})
    cache.set(untouched, "kept", timeout=300)
    ns["tag_manager"].invalidate_tag("user:123")
    assert cache.get(ns["tag_manager"].tag_cache_key("post:1", {"posts"})) == "kept"


def _pattern(ns: dict[str, Any], out: str) -> None:
    assert ns["count"] == 2
    assert out == "Invalidated 2 keys\n"
    assert ns["invalidator"].registered_keys() == ["post:1"]


def _prefix(ns: dict[str, Any], out: str) -> None:
    assert ns["count"] == 0
    assert out == "Invalidated 0 page keys\n"


def _warming(ns: dict[str, Any], out: str) -> None:
    assert ns["cache"].get("page:home") == "<h1>Home</h1>"
    status = ns["status"]["page:home"]
    assert status["state"] == "ok" and status["runs"] == 2
    assert status["schedule"] == "0 * * * *" and status["next_run"] is not None


def _policies(ns: dict[str, Any], out: str) -> None:
    assert ns["cached"] == {"title": "Home", "body": "..."}
    assert ns["cache_key"].startswith("content:page:home")
    policy = ns["manager"].policies["api_response"]
    assert policy.cache_control == "public, max-age=60, stale-while-revalidate=30"


def _statistics(ns: dict[str, Any], out: str) -> None:
    assert ns["result"]["hit_rate"] == 50.0
    assert "Hit rate: 50.0%" in out
    assert "Average hit time: 1.0ms" in out
    assert ns["stats"].get_stats()["hits"] == 0  # reset() ran last


def _swr(ns: dict[str, Any], out: str) -> None:
    assert ns["value"] == {"latest": [1, 2, 3]}
    assert ns["is_stale"] is False
    assert ns["swr_cache"].get_with_swr("data:latest", ns["generate_data"], 60, 30) == (
        ns["value"],
        False,
    )
    ns["swr_cache"].close()


def _config(ns: dict[str, Any], out: str) -> None:
    policy = ns["policy"]
    assert policy.cache_control == "public, max-age=600"
    assert policy.vary_on == ("Accept-Language", "Accept")


def _integration(ns: dict[str, Any], out: str) -> None:
    manager = ns["content_manager"]
    assert manager.get_cached_content("post", "123") is None  # invalidated by author:456
    manager.cache_content("post", "124", {"id": 124}, extra_tags={"author:999"})
    assert manager.get_cached_content("post", "124") == {"id": 124}
    assert ns["cache"].get("posts:popular") == [{"id": 123, "title": "Example"}]
    assert ns["cache_stats"]["hit_rate"] == 100.0
    assert out == "Cache hit rate: 100.0%\n"


def _cleanup(ns: dict[str, Any], out: str) -> None:
    assert ns["invalidator"].cleanup_old_keys(max_age_hours=24) == 0


CHECKS = {
    "Cache Tagging": _tagging,
    "Pattern-Based Invalidation": _pattern,
    "Prefix-Based Invalidation": _prefix,
    "Cache Warming": _warming,
    "Content-Type Cache Policies": _policies,
    "Cache Statistics": _statistics,
    "Stale-While-Revalidate": _swr,
    "Cache Policy Configuration": _config,
    "Integration Example": _integration,
    "Cleanup": _cleanup,
}
