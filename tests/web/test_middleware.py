"""CacheMiddleware over HTTP (httpx's ASGI transport), on every engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cache.advanced import CachePolicy, CacheTag, ContentTypeCacheManager
from cache.backend import CacheBackend, InMemoryCache, RedisCache
from cache.testing import FakeClock
from cache.web import CacheMiddleware
from tests.web.app import App, build

Client = httpx.AsyncClient


@pytest.fixture
async def site(
    backend: CacheBackend, clock: FakeClock
) -> AsyncIterator[tuple[App, CacheMiddleware, Client]]:
    app, middleware = build(backend, clock, allowed_hosts=["testserver", "example.com"])
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield app, middleware, client
    await middleware.wait_for_refreshes()


async def test_miss_then_hit(site: tuple[App, CacheMiddleware, Client]) -> None:
    app, _, client = site
    first = await client.get("/page/a")
    assert first.status_code == 200 and first.text.startswith("/page/a #1")
    assert first.headers["cache-status"] == "cache; fwd=miss; fwd-status=200; stored"
    second = await client.get("/page/a")
    assert second.text == first.text and app.calls["/page/a"] == 1
    assert second.headers["cache-status"].startswith("cache; hit; ttl=")
    assert second.headers["cache-control"] == "no-cache"  # the policy's, for browsers
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["etag"].startswith('"') and second.headers["age"] == "0"
    assert second.headers["vary"] == "Accept-Language"  # the policy's vary_on, as written
    assert "date" in second.headers  # stored with the response (RFC 9110 section 6.6.1)
    assert int(second.headers["content-length"]) == len(second.content)


async def test_uncached_routes_and_non_http_pass_through(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    app, middleware, client = site
    await client.get("/other/x")
    await client.get("/other/x")
    assert app.calls["/other/x"] == 2
    seen: list[str] = []

    async def lifespan_app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["type"]))

    await CacheMiddleware(lifespan_app, middleware.manager, {})({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]


async def test_head_is_answered_from_a_stored_get(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    app, _, client = site
    head = await client.head("/page/h")  # a miss: the app sees a GET, the client no body
    assert head.status_code == 200 and head.content == b""
    get = await client.get("/page/h")
    assert get.text.startswith("/page/h #1") and app.calls["/page/h"] == 1
    again = await client.head("/page/h")
    assert again.content == b"" and again.headers["cache-status"].startswith("cache; hit")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("cookie=1", "set-cookie"),
        ("cc=private", "private"),
        ("cc=no-store", "no-store"),
        ("vary=*", "vary-star"),
        ("status=500", "status"),
        ("status=302", "status"),
    ],
)
async def test_non_storable_responses_are_never_stored(
    site: tuple[App, CacheMiddleware, Client], query: str, reason: str
) -> None:
    app, _, client = site
    for _ in range(2):
        response = await client.get(f"/page/n?{query}")
        client.cookies.clear()  # a browser would send the cookie back: another bypass
        assert response.headers["cache-status"] == f"cache; fwd=miss; detail={reason}"
    assert app.calls["/page/n"] == 2


async def test_no_cache_and_max_age_0_go_to_the_app_every_time(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    app, _, client = site
    for query in ("cc=no-cache", "cc=max-age%3D0"):
        for _ in range(2):
            response = await client.get(f"/page/z?{query}")
            assert not response.headers["cache-status"].startswith("cache; hit")
    assert app.calls["/page/z"] == 4


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Authorization": "Bearer x"}, "authorization"),
        ({"Cookie": "session=1"}, "cookie"),
        ({"If-Match": '"x"'}, "precondition"),
        ({"X-HTTP-Method-Override": "DELETE"}, "bypass-header"),
        ({"Cache-Control": "no-store"}, "no-store"),
    ],
)
async def test_requests_that_bypass(
    site: tuple[App, CacheMiddleware, Client], headers: dict[str, str], reason: str
) -> None:
    app, middleware, client = site
    for _ in range(2):
        response = await client.get("/page/b", headers=headers)
        assert response.headers["cache-status"] == f"cache; fwd=bypass; detail={reason}"
    assert app.calls["/page/b"] == 2
    assert middleware.bypasses[reason] == 2


async def test_a_route_may_opt_in_to_authorized_requests(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    app, _, client = site
    auth = {"Authorization": "Bearer x", "Cookie": "a=1"}
    for _ in range(2):
        await client.get("/private/p", headers=auth)
    # RFC 9111 section 3.5: shared only if the response says so.
    assert app.calls["/private/p"] == 2
    for _ in range(2):
        await client.get("/private/p?cc=public", headers=auth)
    assert app.calls["/private/p"] == 3


async def test_request_with_a_body_bypasses(site: tuple[App, CacheMiddleware, Client]) -> None:
    app, _, client = site
    for _ in range(2):
        response = await client.request("GET", "/page/body", content=b"payload")
        assert response.headers["cache-status"].endswith("detail=body")
    assert app.calls["/page/body"] == 2


async def test_vary_on_and_vary_headers_make_variants(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    app, _, client = site
    fr = await client.get("/page/v", headers={"Accept-Language": "fr"})
    en = await client.get("/page/v", headers={"accept-language": "en"})
    assert app.calls["/page/v"] == 2 and fr.text != en.text
    again = await client.get("/page/v", headers={"ACCEPT-LANGUAGE": " fr "})
    assert again.text == fr.text and app.calls["/page/v"] == 2  # names and whitespace normalised
    # The app's own Vary joins the key once it is known.
    await client.get("/page/va?vary=Accept", headers={"Accept": "text/html"})
    await client.get("/page/va?vary=Accept", headers={"Accept": "text/html"})
    await client.get("/page/va?vary=Accept", headers={"Accept": "application/json"})
    assert app.calls["/page/va"] == 2


async def test_query_parameters_are_sorted(site: tuple[App, CacheMiddleware, Client]) -> None:
    app, _, client = site
    await client.get("/page/q?b=2&a=1")
    await client.get("/page/q?a=1&b=2")
    await client.get("/page/q?a=1&b=3")
    assert app.calls["/page/q"] == 2


async def test_host_allow_list(site: tuple[App, CacheMiddleware, Client]) -> None:
    app, _, client = site
    for host in ("evil.example", "evil.example"):
        response = await client.get("/page/h2", headers={"Host": host})
        assert response.headers["cache-status"].endswith("detail=host")
    await client.get("/page/h2", headers={"Host": "example.com"})
    await client.get("/page/h2", headers={"Host": "example.com:80"})
    assert app.calls["/page/h2"] == 3
    # A name without a port allows every port (issue 13): localhost:8099 is cached.
    for _ in range(2):
        on_a_port = await client.get("/page/h3", headers={"Host": "example.com:8099"})
    assert on_a_port.headers["cache-status"].startswith("cache; hit")
    evil = await client.get("/page/h3", headers={"Host": "evil.example:8099"})
    assert evil.headers["cache-status"].endswith("detail=host")


async def test_conditional_requests_get_304(site: tuple[App, CacheMiddleware, Client]) -> None:
    _, _, client = site
    first = await client.get("/page/c?lm=1")
    etag = first.headers["etag"]
    not_modified = await client.get("/page/c?lm=1", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    other = await client.get("/page/c?lm=1", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200
    since = await client.get(
        "/page/c?lm=1", headers={"If-Modified-Since": "Thu, 22 Oct 2026 00:00:00 GMT"}
    )
    assert since.status_code == 304
    before = await client.get(
        "/page/c?lm=1", headers={"If-Modified-Since": "Tue, 20 Oct 2026 00:00:00 GMT"}
    )
    assert before.status_code == 200


async def test_stale_while_revalidate_refreshes_once(
    site: tuple[App, CacheMiddleware, Client], clock: FakeClock
) -> None:
    app, middleware, client = site
    assert (await client.get("/api/feed")).text.startswith("/api/feed #1")
    clock.advance(15)  # past max-age=10, inside stale-while-revalidate=30
    stale = await asyncio.gather(*(client.get("/api/feed") for _ in range(5)))
    # Stale at once; a request that comes after the refresh finished may get the new copy.
    assert stale[0].text.startswith("/api/feed #1")
    assert "detail=stale-while-revalidate" in stale[0].headers["cache-status"]
    assert {r.text.split(" lang")[0] for r in stale} <= {"/api/feed #1", "/api/feed #2"}
    await middleware.wait_for_refreshes()
    assert app.calls["/api/feed"] == 2  # exactly one background refresh
    fresh = await client.get("/api/feed")
    assert fresh.text.startswith("/api/feed #2") and fresh.headers["cache-status"].startswith(
        "cache; hit"
    )


@pytest.mark.parametrize("failure", ["raise", "500"])
async def test_stale_if_error(
    site: tuple[App, CacheMiddleware, Client], clock: FakeClock, failure: str
) -> None:
    app, _, client = site
    await client.get("/api/sie")
    clock.advance(100)  # past both windows, inside stale_if_error=300
    if failure == "raise":
        app.fail = True
    else:
        app.status_override = 500
    response = await client.get("/api/sie")
    assert response.status_code == 200 and response.text.startswith("/api/sie #1")
    assert response.headers["cache-status"].endswith("detail=stale-if-error")
    app.fail, app.status_override = False, None
    recovered = await client.get("/api/sie")
    assert recovered.text.startswith("/api/sie #3")


async def test_concurrent_requests_in_the_stale_if_error_window_reach_the_app_once(
    site: tuple[App, CacheMiddleware, Client], clock: FakeClock
) -> None:
    app, _, client = site
    url = "/api/sie?slow=0.1"
    await client.get(url)
    clock.advance(100)  # past both windows, inside stale_if_error=300
    app.status_override = 503
    failing = await asyncio.gather(*(client.get(url) for _ in range(5)))
    assert app.calls["/api/sie"] == 2  # the failing app was asked once for all five
    assert {r.text.split(" lang")[0] for r in failing} == {"/api/sie #1"}
    assert all(r.headers["cache-status"].endswith("detail=stale-if-error") for r in failing)
    app.status_override = None
    recovered = await asyncio.gather(*(client.get(url) for _ in range(5)))
    assert app.calls["/api/sie"] == 3
    assert {r.text.split(" lang")[0] for r in recovered} == {"/api/sie #3"}
    details = sorted(r.headers["cache-status"] for r in recovered)
    assert details.count("cache; fwd=stale; fwd-status=200; stored") == 1
    assert details.count("cache; fwd=stale; collapsed") == 4


async def test_concurrent_misses_reach_the_app_once(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    app, _, client = site
    responses = await asyncio.gather(*(client.get("/page/slow?slow=0.1") for _ in range(6)))
    assert app.calls["/page/slow"] == 1
    assert len({r.text for r in responses}) == 1
    details = sorted(r.headers["cache-status"] for r in responses)
    assert details.count("cache; fwd=miss; fwd-status=200; stored") == 1
    assert details.count("cache; fwd=miss; collapsed") == 5


async def _two_processes(backend: CacheBackend, clock: FakeClock) -> tuple[App, list[Client]]:
    """One app behind two middlewares over one backend: two worker processes.

    They share no memory, only the fill lock and the entries in the backend.
    """
    app, first = build(backend, clock)
    _, other = build(backend, clock)
    second = CacheMiddleware(app.starlette, other.manager, other.routes, clock=clock)
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=m), base_url="http://testserver")
        for m in (first, second)
    ]
    return app, clients


async def test_concurrent_misses_across_processes_reach_the_app_once(
    backend: CacheBackend, clock: FakeClock
) -> None:
    app, clients = await _two_processes(backend, clock)
    responses = await asyncio.gather(*(clients[i % 2].get("/page/slow?slow=0.2") for i in range(6)))
    assert app.calls["/page/slow"] == 1
    assert len({r.text for r in responses}) == 1
    details = [r.headers["cache-status"] for r in responses]
    assert details.count("cache; fwd=miss; fwd-status=200; stored") == 1
    assert details.count("cache; fwd=miss; collapsed") == 5
    for client in clients:
        await client.aclose()


async def test_a_waiting_process_fetches_itself_when_nothing_is_stored(
    backend: CacheBackend, clock: FakeClock
) -> None:
    # The fetching process's response cannot be shared (it sets a cookie):
    # the lock goes with nothing stored, and the waiter asks the app itself.
    app, clients = await _two_processes(backend, clock)
    url = "/page/c?slow=0.1&cookie=1"
    responses = await asyncio.gather(clients[0].get(url), clients[1].get(url))
    assert app.calls["/page/c"] == 2
    assert sorted(r.text for r in responses) == ["/page/c #1 lang=", "/page/c #2 lang="]
    for client in clients:
        await client.aclose()


async def test_surrogate_keys_and_policy_tags_purge(
    site: tuple[App, CacheMiddleware, Client], backend: CacheBackend
) -> None:
    app, _, client = site
    first = await client.get("/page/t?tags=post:1%20author:2")
    assert "surrogate-key" not in first.headers  # for this cache only
    await client.get("/page/t?tags=post:1%20author:2")
    assert app.calls["/page/t"] == 1
    CacheTag(backend).invalidate_tag("author:2")
    await client.get("/page/t?tags=post:1%20author:2")
    assert app.calls["/page/t"] == 2
    CacheTag(backend).invalidate_tag("pages")  # the policy's tag
    await client.get("/page/t?tags=post:1%20author:2")
    assert app.calls["/page/t"] == 3


async def test_successful_unsafe_requests_invalidate_the_url(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    app, _, client = site
    await client.get("/page/u", headers={"Accept-Language": "fr"})
    await client.get("/page/u?x=1")
    await client.get("/page/other")
    assert (await client.post("/page/u", content=b"edit")).status_code == 200
    await client.get("/page/u", headers={"Accept-Language": "fr"})
    await client.get("/page/u?x=1")
    await client.get("/page/other")
    assert app.calls["/page/u"] == 4  # every variant of /page/u went
    assert app.calls["/page/other"] == 1


async def test_large_and_streaming_bodies_go_through_untouched(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    app, _, client = site
    for _ in range(2):
        big = await client.get("/page/big?big=1")
        assert len(big.content) > 5_000 and big.headers["cache-status"].endswith(
            "too-large-or-streamed"
        )
        streamed = await client.get("/page/s?stream=1")
        assert streamed.text == "chunk0;chunk1;chunk2;"
    assert app.calls["/page/big"] == 2 and app.calls["/page/s"] == 2


async def test_purge_endpoint(backend: CacheBackend, clock: FakeClock) -> None:
    app, middleware = build(
        backend, clock, purge_path="/_purge", purge_token="s3cret-token-0123456"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=middleware), base_url="http://testserver"
    ) as client:
        await client.get("/page/p1?tags=t1")
        await client.get("/page/p2")
        assert (await client.post("/_purge", json={"tags": ["t1"]})).status_code == 401
        bad = await client.post(
            "/_purge", json={"tags": ["t1"]}, headers={"Authorization": "Bearer nope"}
        )
        assert bad.status_code == 401
        auth = {"Authorization": "Bearer s3cret-token-0123456"}
        ok = await client.post("/_purge", json={"tags": ["t1"], "prefix": "/page/p2"}, headers=auth)
        assert ok.json() == {"tags": 1, "prefix": 1}
        await client.get("/page/p1?tags=t1")
        await client.get("/page/p2")
        assert app.calls["/page/p1"] == 2 and app.calls["/page/p2"] == 2
        assert (await client.post("/_purge", content=b"{bad", headers=auth)).status_code == 400


async def test_purge_is_off_by_default(site: tuple[App, CacheMiddleware, Client]) -> None:
    _, _, client = site
    assert (await client.post("/_purge", json={"tags": ["pages"]})).status_code == 404
    with pytest.raises(TypeError, match="purge_token"):
        CacheMiddleware(
            App().starlette, site[1].manager, {}, purge_path="/_purge", purge_token="short"
        )


async def test_backend_down_passes_requests_through(clock: FakeClock) -> None:
    from cache.testing.redis_server import free_port

    down = RedisCache(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    _app, middleware = build(down, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=middleware), base_url="http://testserver"
    ) as client:
        for n in range(3):
            response = await client.get("/page/down")
            assert response.status_code == 200 and response.text.startswith(f"/page/down #{n + 1}")
    assert down.errors > 0


async def test_a_strict_backend_failure_is_never_a_500(clock: FakeClock) -> None:
    from cache.testing.redis_server import free_port

    strict = RedisCache(f"redis://127.0.0.1:{free_port()}/0", strict=True)
    app, middleware = build(strict, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=middleware), base_url="http://testserver"
    ) as client:
        response = await client.get("/page/strict")
    assert response.status_code == 200 and app.calls["/page/strict"] == 1


async def test_request_directives_are_ignored_unless_honoured(
    backend: CacheBackend, clock: FakeClock
) -> None:
    for honoured in (False, True):
        app, middleware = build(backend, clock, request_directives=honoured)
        transport = httpx.ASGITransport(app=middleware)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            path = f"/page/rd{honoured}"
            await client.get(path)
            forced = await client.get(path, headers={"Cache-Control": "no-cache"})
            assert forced.headers["cache-status"].startswith("cache; hit") != honoured
            assert app.calls[path] == (2 if honoured else 1)
            only = await client.get(path + "x", headers={"Cache-Control": "only-if-cached"})
            assert (only.status_code == 504) == honoured


async def test_a_304_that_says_private_or_sets_a_cookie_is_not_shared(clock: FakeClock) -> None:
    # Review finding: the merged 304 was stored without being judged again.
    served: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        asked = dict((k.decode(), v.decode()) for k, v in scope["headers"])
        if asked.get("if-none-match") == '"v1"':
            headers = [(b"set-cookie", b"sessionid=VICTIM"), (b"cache-control", b"private")]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        served.append("200")
        headers = [(b"etag", b'"v1"'), (b"cache-control", b"max-age=1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"page"})

    manager = ContentTypeCacheManager(InMemoryCache(), clock=clock)
    manager.register_policy("page", CachePolicy(timeout=60))
    middleware = CacheMiddleware(app, manager, {"/p": "page"}, clock=clock)
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get("/p")
        clock.advance(2)
        validated = await client.get("/p")  # the 304's fields go to this client only
        assert validated.headers["cache-status"] == "cache; fwd=stale; fwd-status=304"
        other = await client.get("/p")
        assert "sessionid" not in other.headers.get("set-cookie", "")
        assert not other.headers["cache-status"].startswith("cache; hit")


async def test_concurrent_misses_with_different_variants_get_their_own(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    # Review finding: on a cold URL the single flight shared a Vary response across variants.
    app, _, client = site
    url = "/page/v?vary=X-Lang&slow=0.05"
    en, fr = await asyncio.gather(
        client.get(url, headers={"X-Lang": "en", "Accept-Language": "en"}),
        client.get(url, headers={"X-Lang": "fr", "Accept-Language": "en"}),
    )
    assert en.text.endswith("lang=en") and fr.text.endswith("lang=en")  # the page's own lang
    assert en.text != fr.text  # ...but two renderings: the fr request was not handed en's
    assert app.calls["/page/v"] == 2


async def test_an_unsafe_request_during_a_fetch_keeps_the_fetched_copy_out(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    # Review finding: a page rendered before a POST was stored after it and served.
    app, _, client = site
    slow = asyncio.ensure_future(client.get("/page/race?slow=0.2"))
    while app.calls["/page/race"] == 0:  # the app is rendering the page now
        await asyncio.sleep(0.005)
    assert (await client.post("/page/race")).status_code == 200  # invalidates while in flight
    before = await slow
    after = await client.get("/page/race?slow=0.2")
    assert not after.headers["cache-status"].startswith("cache; hit")
    assert after.text != before.text and app.calls["/page/race"] == 2


async def test_a_request_after_an_invalidation_never_shares_an_answer_begun_before_it(
    site: tuple[App, CacheMiddleware, Client],
) -> None:
    """A GET in flight since before a POST returned is not handed to a GET after it (issue 11)."""
    app, _, client = site
    url = "/page/edited?slow=0.3"
    first = asyncio.ensure_future(client.get(url))
    while app.calls["/page/edited"] == 0:
        await asyncio.sleep(0.005)  # the app is rendering the old page
    assert (await client.post(url)).status_code == 200  # the edit: the URL is invalidated
    later = await client.get(url)  # came after the edit returned, while the old render runs
    assert (await first).text.startswith("/page/edited #1")
    assert later.text.startswith("/page/edited #2")
    assert (await client.get(url)).text.startswith("/page/edited #2")  # and that one is kept
