"""Run the demo site with uvicorn: in memory by default, or on Redis with several workers."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import uvicorn


def app_from_env() -> object:
    """Build the app in a uvicorn worker, from the settings main() put in the environment."""
    from cache.backend import RedisCache  # noqa: PLC0415
    from cache.web.demo.app import create_app  # noqa: PLC0415

    url = os.environ.get("CACHE_URL")
    latency = float(os.environ.get("CACHE_DEMO_LATENCY", "0.05"))
    return create_app(RedisCache(url, namespace="demo") if url else None, latency=latency)


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description="The cache demo: a blog behind the cache.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--redis", metavar="URL", help="share the cache in Redis (e.g. redis://localhost:6379/0)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (with --redis)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each query takes")
    args = parser.parse_args()
    if args.workers > 1 and not args.redis:
        parser.error("--workers needs --redis: processes share a cache only through Redis")
    os.environ["CACHE_DEMO_DB"] = os.environ.get("CACHE_DEMO_DB") or str(
        Path(tempfile.mkdtemp()) / "blog.db"
    )
    os.environ["CACHE_DEMO_LATENCY"] = str(args.latency)
    if args.redis:
        os.environ["CACHE_URL"] = args.redis
    engine = (
        f"Redis at {args.redis}, {args.workers} worker(s)" if args.redis else "the in-memory engine"
    )
    print(
        f"cache demo on {engine}: open http://{args.host}:{args.port}/  (dashboard: /dashboard/)",
        flush=True,
    )
    uvicorn.run(
        "cache.web.demo.__main__:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
