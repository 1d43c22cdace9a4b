"""Run the app for a cacheable GET: capture a storable response, or stream it through."""

from __future__ import annotations

from cache.web import headers as h
from cache.web._routes import ASGIApp, Message, Receive, Scope, Send, decode_headers, encode_headers
from cache.web._stored import Captured

__all__ = ["fetch_response"]


async def fetch_response(
    app: ASGIApp,
    max_body_size: int,
    scope: Scope,
    receive: Receive,
    send: Send,
    streamed: list[bool],
    share: bool = True,
    hold_errors: bool = False,
) -> Captured | None:
    """Run the app for a GET; return its response if storable, else stream it to ``send``.

    A HEAD is sent to the app as a GET, so that the stored response can
    answer later GETs; its client gets no body. ``hold_errors``: keep a 5xx
    back (returned, not sent), so that a stale copy can take its place.
    """
    head = scope["method"] == "HEAD"
    app_scope = dict(scope, method="GET") if head else scope
    start: Message | None = None
    chunks: list[bytes] = []
    size = 0
    passing = not share

    async def through(message: Message) -> None:
        if head and message["type"] == "http.response.body":
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b""})
            return
        await send(message)

    async def capture(message: Message) -> None:
        nonlocal start, size, passing
        if message["type"] == "http.response.start":
            start = message
            reason = h.storable_response(
                message["status"], decode_headers(message.get("headers", []))
            )
            if hold_errors and message["status"] >= 500:
                reason = None  # held back, never stored (see _miss)
            if reason is not None or passing:
                passing = True
                streamed.append(True)
                status = h.cache_status(False, fwd="miss", detail=reason or "shared")
                await through(
                    dict(
                        message,
                        headers=list(message.get("headers", []))
                        + encode_headers([("cache-status", status)]),
                    )
                )
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        if passing:
            await through(message)
            return
        body = message.get("body", b"")
        if message.get("more_body", False) or size + len(body) > max_body_size:
            passing = True  # streaming or large: through untouched, not stored
            streamed.append(True)
            assert start is not None
            status = h.cache_status(False, fwd="miss", detail="too-large-or-streamed")
            await through(
                dict(
                    start,
                    headers=list(start.get("headers", []))
                    + encode_headers([("cache-status", status)]),
                )
            )
            for chunk in chunks:
                await through({"type": "http.response.body", "body": chunk, "more_body": True})
            await through(message)
            return
        chunks.append(body)
        size += len(body)

    await app(app_scope, receive, capture)
    if passing or start is None:
        return None
    return Captured(start["status"], decode_headers(start.get("headers", [])), b"".join(chunks))
