"""Between the app and its client: capture a storable response, stream others, send stored ones."""

from __future__ import annotations

from collections.abc import Callable, Container

from cache.web import headers as h
from cache.web._routes import (
    ASGIApp,
    Cacheable,
    Message,
    Receive,
    Scope,
    Send,
    decode_headers,
    encode_headers,
)
from cache.web.rfc9111.exchange import cache_status
from cache.web.stored import Captured, build_response

__all__ = ["Judge", "fetch_response", "send_stored"]

#: Given a response's status and headers, say why it may not be stored (or None).
Judge = Callable[[int, h.Headers], "str | None"]


async def fetch_response(
    app: ASGIApp,
    max_body_size: int,
    scope: Scope,
    receive: Receive,
    send: Send,
    streamed: list[bool],
    judge: Judge | None = None,
    hold: Container[int] = (),
) -> Captured | None:
    """Run the app for a GET; return its response if storable, else stream it to ``send``.

    A HEAD is sent to the app as a GET, so that the stored response can
    answer later GETs; its client gets no body. ``streamed`` gets a True when
    the response went to ``send``. ``judge`` says whether a response may be
    stored (None: stream it in any case). ``hold``: statuses kept back
    (returned, not sent) whatever ``judge`` says: a 304 that validates the
    stored copy, a 5xx a stale copy takes the place of.
    """
    head = scope["method"] == "HEAD"
    capture = _Capture(send, max_body_size, streamed, head, judge, hold)
    await app(dict(scope, method="GET") if head else scope, receive, capture)
    return capture.result()


class _Capture:
    """The ``send`` the app is given: holds a storable response back, streams any other."""

    def __init__(
        self,
        send: Send,
        max_body_size: int,
        streamed: list[bool],
        head: bool,
        judge: Judge | None,
        hold: Container[int],
    ) -> None:
        self.send = send
        self.max_body_size = max_body_size
        self.streamed = streamed
        self.head = head
        self.judge = judge
        self.hold = hold
        self.passing = judge is None
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.size = 0

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._start(message)
        elif kind != "http.response.body":
            await self.send(message)
        elif self.passing:
            await self._through(message)
        else:
            await self._body(message)

    async def _start(self, message: Message) -> None:
        self.start = message
        status = message["status"]
        if self.passing or self.judge is None:
            await self._stream("shared")
            return
        reason = self.judge(status, decode_headers(message.get("headers", [])))
        if status in self.hold:
            reason = None  # held back for the caller to decide (see Filler.miss)
        if reason is not None:
            await self._stream(reason or "shared")

    async def _body(self, message: Message) -> None:
        body = message.get("body", b"")
        if message.get("more_body", False) or self.size + len(body) > self.max_body_size:
            # Streaming or large: through untouched, not stored.
            await self._stream("too-large-or-streamed")
            for chunk in self.chunks:
                await self._through(
                    {"type": "http.response.body", "body": chunk, "more_body": True}
                )
            await self._through(message)
            return
        self.chunks.append(body)
        self.size += len(body)

    async def _stream(self, detail: str) -> None:
        """Pass the response through from now on: send its start, saying why it is not stored."""
        assert self.start is not None  # the app starts a response before its body
        self.passing = True
        self.streamed.append(True)
        status = cache_status(fwd="miss", detail=detail)
        headers = list(self.start.get("headers", [])) + encode_headers([("cache-status", status)])
        await self._through(dict(self.start, headers=headers))

    async def _through(self, message: Message) -> None:
        if self.head and message["type"] == "http.response.body":
            if not message.get("more_body", False):
                await self.send({"type": "http.response.body", "body": b""})
            return
        await self.send(message)

    def result(self) -> Captured | None:
        """Return the response held back, or None if it was streamed (or never started)."""
        if self.passing or self.start is None:
            return None
        headers = decode_headers(self.start.get("headers", []))
        return Captured(self.start["status"], headers, b"".join(self.chunks))


async def send_stored(
    request: Cacheable, send: Send, captured: Captured, status: str, now: float
) -> None:
    """Answer ``request`` with ``captured`` (a 304 if it matches); Cache-Status says ``status``."""
    code, out, body = build_response(captured, request.headers, request.policy, status, now)
    await send({"type": "http.response.start", "status": code, "headers": encode_headers(out)})
    head = request.scope["method"] == "HEAD"
    await send({"type": "http.response.body", "body": b"" if head else body})
