"""The purge endpoint of CacheMiddleware: authenticated invalidation by tag, prefix or pattern.

``POST`` a JSON body ``{"tags": [...], "prefix": "/path", "pattern": "regex"}``
with ``Authorization: Bearer <token>``; the answer counts what was done.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re

from cache.advanced.invalidation import CacheInvalidator
from cache.advanced.policies import ContentTypeCacheManager
from cache.web import headers as h
from cache.web._routes import Receive, Scope, Send, decode_headers

__all__ = ["purge", "purge_prefix", "send_json"]


async def purge(
    scope: Scope,
    receive: Receive,
    send: Send,
    token: str,
    manager: ContentTypeCacheManager,
    invalidator: CacheInvalidator,
) -> None:
    """Answer one purge request."""
    headers = decode_headers(scope["headers"])
    if scope["method"] != "POST":
        await send_json(send, 405, {"error": "use POST"})
        return
    given = (h.get_header(headers, "authorization") or "").encode()
    if not hmac.compare_digest(given, f"Bearer {token}".encode()):
        await send_json(send, 401, {"error": "bad or missing bearer token"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    try:
        request = json.loads(body or b"{}")
        tags, prefix, pattern = (
            request.get("tags", []),
            request.get("prefix"),
            request.get("pattern"),
        )
        result: dict[str, int] = {}
        if tags:
            await manager.tags.ainvalidate_tags(tags)
            result["tags"] = len(tags)
        if prefix is not None:
            result["prefix"] = await asyncio.to_thread(purge_prefix, invalidator, prefix)
        if pattern is not None:
            result["pattern"] = await asyncio.to_thread(invalidator.invalidate_pattern, pattern)
    except (ValueError, TypeError, AttributeError) as exc:
        await send_json(send, 400, {"error": str(exc)})
        return
    await send_json(send, 200, result)


def purge_prefix(invalidator: CacheInvalidator, prefix: str) -> int:
    """Invalidate cached URLs whose path starts with ``prefix``, on every host and type."""
    return invalidator.invalidate_pattern(
        re.compile(r"^http:[^:]+:[a-z]+://[^/]*" + re.escape(prefix))
    )


async def send_json(send: Send, status: int, payload: object) -> None:
    """Send a small JSON response."""
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
