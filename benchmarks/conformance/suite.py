"""The cache-tests suite: a working copy, its origin server, its client, its classification.

The checkout named on the command line is never written to: it is copied to
a temporary folder where ``npm ci --omit=dev`` installs its dependencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

__all__ = ["classify", "free_port", "origin_server", "run_client", "working_copy"]

CLASSIFY = Path(__file__).with_name("classify.mjs")


def free_port() -> int:
    """Return a loopback TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_suite(path: Path) -> Path:
    """Return ``path`` resolved if it looks like a cache-tests checkout, else raise SystemExit."""
    path = path.expanduser().resolve()
    for part in ("tests/index.mjs", "test-engine/cli.mjs", "test-engine/lib/results.mjs"):
        if not (path / part).is_file():
            raise SystemExit(f"{path} is not a cache-tests checkout: {part} is missing")
    return path


@contextlib.contextmanager
def working_copy(suite: Path) -> Iterator[Path]:
    """Copy the suite to a temporary folder and install its dependencies there."""
    with tempfile.TemporaryDirectory(prefix="cache-tests-") as tmp:
        copy = Path(tmp) / "cache-tests"
        shutil.copytree(suite, copy, ignore=shutil.ignore_patterns("node_modules", ".git"))
        done = subprocess.run(
            ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=copy,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"npm ci failed in the copy of the suite:\n{done.stderr}")
        yield copy


def _env(**config: str) -> dict[str, str]:
    """Return the environment ``npm run`` would give the suite's scripts (its package config)."""
    env = dict(os.environ)
    env.update(
        npm_package_config_protocol="http",
        npm_package_config_port="8000",
        npm_package_config_base="",
        npm_package_config_id="",
    )
    env.update({f"npm_config_{name}": value for name, value in config.items()})
    return env


@contextlib.asynccontextmanager
async def origin_server(copy: Path) -> AsyncIterator[str]:
    """Run the suite's origin server on a free port; yield its base URL."""
    port = free_port()
    env = _env(port=str(port), protocol="http", pidfile=str(copy / "server.pid"))
    process = await asyncio.create_subprocess_exec(
        "node",
        "test-engine/server/server.mjs",
        cwd=copy,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if not line.startswith(b"Listening"):
            raise RuntimeError(f"the origin server did not start: {line!r}")
        # Drain its log (warnings for every unknown request) so that it never blocks.
        drain = asyncio.create_task(process.stdout.read())
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        with contextlib.suppress(UnboundLocalError, asyncio.CancelledError):
            await drain


async def run_client(copy: Path, base: str, test_id: str = "") -> tuple[str, str]:
    """Run the suite's client against the cache at ``base``; return its stdout and stderr.

    With ``test_id``, one test runs and the client prints its exchange;
    otherwise stdout is the raw results as JSON.
    """
    process = await asyncio.create_subprocess_exec(
        "node",
        "--no-warnings",
        "test-engine/cli.mjs",
        cwd=copy,
        env=_env(base=base, id=test_id),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the cache-tests client failed ({process.returncode}): {err.decode()}")
    return out.decode(), err.decode()


def classify(suite: Path, result_files: list[Path]) -> dict[str, Any]:
    """Classify raw results with the suite's own rules (see classify.mjs)."""
    done = subprocess.run(
        ["node", str(CLASSIFY), str(suite), *map(str, result_files)],
        check=True,
        capture_output=True,
        text=True,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return data
