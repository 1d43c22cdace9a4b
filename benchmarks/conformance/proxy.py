"""The cache under test: CacheMiddleware as a reverse proxy in front of the suite's origin.

The forwarding app passes every request to the origin and its answer back
(status, headers, body) untouched, except for hop-by-hop headers. It is
wrapped in ``CacheMiddleware`` with one route matching every path, in one of
the configurations of :data:`CONFIGS`, and served by uvicorn on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from uvicorn.protocols.http import h11_impl

from cache.advanced import CachePolicy, ContentTypeCacheManager
from cache.backend import InMemoryCache
from cache.web import CacheMiddleware

__all__ = ["CONFIGS", "ProxyConfig", "build_proxy", "forwarding_app", "serve"]

log = logging.getLogger("benchmarks.conformance")

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

#: Per-connection headers (RFC 9110 section 7.6.1), never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass(frozen=True)
class ProxyConfig:
    """One way of configuring the middleware for the run."""

    name: str
    description: str
    policy_timeout: float
    stale_if_error: float


#: "standard": the origin's own freshness governs as far as the API allows (a
#: policy timeout of 1 ms is the fallback for responses without max-age, and
#: no stale-if-error); "documented": the configuration docs/http.md shows.
CONFIGS = {
    "standard": ProxyConfig(
        "standard",
        "policy timeout 1 ms, default stale_if_error (300 s)",
        policy_timeout=0.001,
        stale_if_error=300.0,
    ),
    "documented": ProxyConfig(
        "documented",
        "policy timeout 300 s, stale_if_error=300 (the default)",
        policy_timeout=300.0,
        stale_if_error=300.0,
    ),
}


def forwarding_app(origin: str, client: httpx.AsyncClient) -> Callable[..., Any]:
    """Return an ASGI app that forwards each HTTP request to ``origin`` (e.g. http://127.0.0.1:8000)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        target = origin + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = _forwardable(scope["headers"], {"host", "content-length"})
        request = client.build_request(scope["method"], target, headers=headers, content=body)
        try:
            response = await client.send(request, stream=True)
            try:
                content = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.HTTPError as error:  # the origin dropped the connection, or timed out
            message = f"origin error: {type(error).__name__}: {error}".encode()
            log.warning("%s %s: %s", scope["method"], target, message.decode())
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": message})
            return
        out = _forwardable(response.headers.raw)
        # One body message: the middleware stores only responses sent in one piece.
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": content})

    return app


def _forwardable(
    headers: Iterable[tuple[bytes, bytes]], drop: Iterable[str] = ()
) -> list[tuple[bytes, bytes]]:
    """Return ``headers`` without hop-by-hop ones, nor those their Connection names.

    An intermediary must remove the fields Connection lists (RFC 9110
    section 7.6.1); the forwarding app does it, as any proxy in front of the
    middleware would.
    """
    pairs = [(k.decode("latin-1").lower(), k, v) for k, v in headers]
    listed = {
        option.strip().lower()
        for name, _, value in pairs
        if name == "connection"
        for option in value.decode("latin-1").split(",")
    }
    skip = HOP_BY_HOP | listed | set(drop)
    return [(k, v) for name, k, v in pairs if name not in skip]


def build_proxy(config: ProxyConfig, origin: str, client: httpx.AsyncClient) -> CacheMiddleware:
    """Return the forwarding app wrapped in CacheMiddleware under ``config``."""
    manager = ContentTypeCacheManager(InMemoryCache(max_entries=100_000))
    manager.register_policy("origin", CachePolicy(timeout=config.policy_timeout))
    return CacheMiddleware(
        forwarding_app(origin, client),
        manager,
        {".*": "origin"},
        stale_if_error=config.stale_if_error,
    )


def _allow_any_status() -> None:
    """Let uvicorn send statuses up to 999 (the origin's 999 "304 Not Generated").

    uvicorn's h11 protocol looks the reason phrase up in a table of 100-599
    and fails on any other status; h11 itself accepts 200-999.
    """
    for status in range(600, 1000):
        h11_impl.STATUS_PHRASES.setdefault(status, b"Unknown")


@contextlib.asynccontextmanager
async def serve(config: ProxyConfig, origin: str, port: int) -> AsyncIterator[str]:
    """Serve the proxy on 127.0.0.1:``port`` while the context is open; yield its base URL."""
    _allow_any_status()
    # A new connection per request: the origin closes idle connections after
    # about 5 s, and some tests make it send more body than its Content-Length
    # says, which would poison a reused connection's next response.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        app = build_proxy(config, origin, client)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                http="h11",
                lifespan="off",
                log_level="warning",
                access_log=False,
                server_header=False,
                date_header=False,  # the origin's Date is forwarded; uvicorn would add a second
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()  # raises why the server could not start
            await asyncio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task
            await app.wait_for_refreshes()
