"""Run the demo site with uvicorn: in memory by default, or on Redis with several workers."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn

#: The cache when no --cache or $CACHE_URL names one.
DEFAULT_CACHE = "memory://?max_entries=50000"


def app_from_env() -> object:
    """Build the app in a uvicorn worker, from the settings main() put in the environment."""
    from cache.backend.config import from_url  # noqa: PLC0415
    from demo.app import create_app  # noqa: PLC0415

    url = os.environ.get("CACHE_URL") or DEFAULT_CACHE
    latency = float(os.environ.get("CACHE_DEMO_LATENCY", "0.05"))
    return create_app(from_url(with_namespace(url)), latency=latency)


def with_namespace(url: str) -> str:
    """Give a Redis URL the namespace ``demo`` unless it names one (the CLI needs the same URL)."""
    if url.startswith("memory:") or "namespace=" in url:
        return url
    return url + ("&" if "?" in url else "?") + "namespace=demo"


def _redacted(url: str) -> str:
    password = urlsplit(url).password
    return url.replace(f":{password}@", ":***@", 1) if password else url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/demo", description="The cache demo: a blog behind the cache."
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to serve on")
    parser.add_argument("--port", type=int, default=8000, help="the port to serve on")
    parser.add_argument(
        "--cache",
        metavar="URL",
        default=os.environ.get("CACHE_URL"),
        help="the cache, e.g. redis://localhost:6379/0 to share it between workers "
        "(default: $CACHE_URL, else in memory); Redis URLs get ?namespace=demo",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (needs --cache redis://...)"
    )
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each query takes")
    return parser


def _check_cache(parser: argparse.ArgumentParser, url: str) -> None:
    """Fail here, not in every worker, on a bad URL or a server that does not answer."""
    from cache.backend.config import from_url  # noqa: PLC0415
    from cache.errors import BackendUnavailableError, CacheConfigError  # noqa: PLC0415

    try:
        strict = url.startswith("memory:") or "strict=" in url
        cache = from_url(url if strict else url + ("&" if "?" in url else "?") + "strict=true")
    except CacheConfigError as exc:
        parser.error(f"--cache: {exc}")
    try:
        cache.info()
    except BackendUnavailableError as exc:
        parser.error(
            f"--cache: {_redacted(url)} does not answer ({exc}); is the server running? "
            "(redis-server --daemonize yes starts one on port 6379)"
        )
    finally:
        cache.close()


def _bind(parser: argparse.ArgumentParser, host: str, port: int) -> socket.socket:
    """Bind the port before saying where the site is: a busy port is a clear error."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        parser.error(
            f"cannot listen on {host}:{port} ({exc.strerror}): another program has the port; "
            f"choose another with --port, e.g. --port {port + 1}"
        )
    return sock


@contextlib.contextmanager
def _database() -> Iterator[tuple[str, str]]:
    """Yield the blog's SQLite file and how to say it: $CACHE_DEMO_DB, else a temporary one."""
    given = os.environ.get("CACHE_DEMO_DB")
    if given:
        yield given, given
        return
    with tempfile.TemporaryDirectory(prefix="cache-demo-") as folder:
        path = str(Path(folder) / "blog.db")
        yield path, f"{path} (temporary: removed on exit)"


def _serve(config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve on the bound socket: in this process, or in ``config.workers`` processes."""
    server = uvicorn.Server(config)
    if config.workers > 1:
        from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

        older = "target" in inspect.signature(Multiprocess).parameters  # uvicorn < 0.30
        supervisor = (
            Multiprocess(config, target=server.run, sockets=[sock])  # type: ignore[call-arg, unused-ignore]
            if older
            else Multiprocess(config, sockets=[sock])
        )
        supervisor.run()
    else:
        server.run(sockets=[sock])


def _stop(signum: int, frame: object) -> None:
    """Leave through the ``with`` blocks (uvicorn raises the signal again once it has stopped)."""
    sys.exit(128 + signum)


def main() -> None:
    """Parse the command line, bind the port, say where the site is, and serve."""
    parser = _parser()
    args = parser.parse_args()
    url = with_namespace(args.cache or DEFAULT_CACHE)
    shared = not url.startswith("memory:")
    if args.workers > 1 and not shared:
        parser.error("--workers needs --cache redis://...: processes share a cache only in Redis")
    if args.cache:
        _check_cache(parser, url)
    sock = _bind(parser, args.host, args.port)
    with _database() as (path, db):
        os.environ.update(CACHE_DEMO_DB=path, CACHE_DEMO_LATENCY=str(args.latency), CACHE_URL=url)
        workers = f"{args.workers} worker{'' if args.workers == 1 else 's'}"
        print(
            f"cache demo: open http://{args.host}:{args.port}/  (dashboard: /dashboard/)\n"
            f"  cache {_redacted(url)}, {workers}; the blog in {db}",
            flush=True,
        )
        if shared:
            print(
                f"  watch it: .venv/bin/cache --url '{_redacted(url)}' stats --group demo",
                flush=True,
            )
        config = uvicorn.Config(
            "demo.__main__:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
        )
        signal.signal(signal.SIGTERM, _stop)
        with contextlib.suppress(KeyboardInterrupt):  # ^C: the site stopped; the database goes
            _serve(config, sock)


if __name__ == "__main__":
    main()
