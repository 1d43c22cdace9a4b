"""Run the demo site with uvicorn: in memory by default, or on Redis with several workers."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import uvicorn


def app_from_env() -> object:
    """Build the app in a uvicorn worker, from the settings main() put in the environment."""
    from cache.backend.config import from_url  # noqa: PLC0415
    from demo.app import create_app  # noqa: PLC0415

    url = os.environ.get("CACHE_URL") or "memory://?max_entries=50000"
    if not url.startswith("memory:") and "namespace=" not in url:
        url += ("&" if "?" in url else "?") + "namespace=demo"
    latency = float(os.environ.get("CACHE_DEMO_LATENCY", "0.05"))
    return create_app(from_url(url), latency=latency)


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description="The cache demo: a blog behind the cache.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--cache",
        "--redis",
        metavar="URL",
        default=os.environ.get("CACHE_URL"),
        help="the cache, e.g. redis://localhost:6379/0 to share it between workers "
        "(default: $CACHE_URL, else in memory)",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (with --redis)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each query takes")
    args = parser.parse_args()
    shared = args.cache is not None and not args.cache.startswith("memory:")
    if args.workers > 1 and not shared:
        parser.error("--workers needs --redis URL: processes share a cache only through Redis")
    if args.cache:
        from cache.backend.config import CacheConfigError, from_url  # noqa: PLC0415

        try:
            from_url(args.cache).close()  # a bad URL fails here, not in every worker
        except CacheConfigError as exc:
            parser.error(f"--cache: {exc}")
    os.environ["CACHE_DEMO_DB"] = os.environ.get("CACHE_DEMO_DB") or str(
        Path(tempfile.mkdtemp()) / "blog.db"
    )
    os.environ["CACHE_DEMO_LATENCY"] = str(args.latency)
    if args.cache:
        os.environ["CACHE_URL"] = args.cache
    engine = f"{args.cache}, {args.workers} worker(s)" if shared else "the in-memory engine"
    print(
        f"cache demo on {engine}: open http://{args.host}:{args.port}/  (dashboard: /dashboard/)",
        flush=True,
    )
    uvicorn.run(
        "demo.__main__:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
