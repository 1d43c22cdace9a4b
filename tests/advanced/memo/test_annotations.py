"""@cached with TypedSerializer: results come back as their return annotation names them.

The same tests run on memory storing copies, Redis and the cluster; plain
``InMemoryCache`` keeps the objects and is unaffected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

from cache import cached, set_default_cache
from cache.backend import CacheBackend, CopyingCache, InMemoryCache, RedisCache, TypedSerializer
from cache.errors import CacheTypeError
from cache.testing.redis_server import RedisClusterServers, RedisServer
from tests.advanced.memo import annotated_app as app

ROOT = Path(__file__).resolve().parents[3]


@dataclasses.dataclass(frozen=True)
class Item:
    sku: uuid.UUID
    price: decimal.Decimal


@dataclasses.dataclass
class Basket:  # named only by a field of Order: registered through it
    items: list[Item]
    saved: dt.datetime


class Order(pydantic.BaseModel):
    id: int
    basket: Basket
    tags: frozenset[str]


@dataclasses.dataclass
class NeverAnnotated:  # no annotation names it: TypedSerializer refuses it
    x: int


class Opaque:
    pass


ITEMS = [
    Item(uuid.UUID(int=1), decimal.Decimal("9.90")),
    Item(uuid.UUID(int=2), decimal.Decimal("0")),
]
WHEN = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["memory (copies)", "redis", "cluster"])
def engine(
    request: pytest.FixtureRequest, redis_server: RedisServer, redis_cluster: RedisClusterServers
) -> Iterator[CacheBackend]:
    """An engine storing bytes through a TypedSerializer told about no class."""
    cache: CacheBackend
    if request.param == "memory (copies)":
        cache = CopyingCache(InMemoryCache(), TypedSerializer())
    else:
        cluster = request.param == "cluster"
        url = redis_cluster.url if cluster else redis_server.url
        cache = RedisCache(
            url, cluster=cluster, namespace="annotated", serializer=TypedSerializer()
        )
    cache.clear()
    yield cache
    cache.clear()
    cache.close()


def test_a_list_of_dataclasses_comes_back_as_the_annotation_names(engine: CacheBackend) -> None:
    calls = []

    @cached(timeout=60, cache=engine)
    def basket(user: int) -> list[Item]:
        calls.append(user)
        return list(ITEMS)

    assert basket(1) == ITEMS
    back = basket(1)
    assert calls == [1] and back == ITEMS and all(type(item) is Item for item in back)
    assert type(back[0].price) is decimal.Decimal and type(back[0].sku) is uuid.UUID


def test_a_datetime_a_model_and_what_its_fields_name_come_back(engine: CacheBackend) -> None:
    @cached(timeout=60, cache=engine)
    def when(event: str) -> dt.datetime:
        return WHEN

    @cached(timeout=60, cache=engine, tags=["order:{id}"])  # an SWR envelope holds it
    def order(id: int) -> Order | None:
        return Order(id=id, basket=Basket(list(ITEMS), WHEN), tags=frozenset({"gift"}))

    assert when("x") == when("x") == WHEN and type(when("x")) is dt.datetime
    first, again = order(7), order(7)
    assert again == first and type(again) is Order and type(again.basket) is Basket
    assert type(again.basket.items[0]) is Item and again.basket.saved == WHEN


async def test_async_functions_too(engine: CacheBackend) -> None:
    @cached(timeout=60, cache=engine)
    async def items(user: int) -> tuple[Item, ...]:
        return tuple(ITEMS)

    assert await items(1) == tuple(ITEMS)
    back = await items(1)
    assert type(back) is tuple and all(type(item) is Item for item in back)


def test_without_an_annotation_nothing_changes(engine: CacheBackend) -> None:
    @cached(timeout=60, cache=engine)
    def plain(n):  # type: ignore[no-untyped-def]
        return {"n": n, "when": WHEN}

    assert plain(1) == plain(1) == {"n": 1, "when": WHEN}

    @cached(timeout=60, cache=engine)
    def unnamed(n):  # type: ignore[no-untyped-def]
        return NeverAnnotated(n)

    with pytest.raises(CacheTypeError, match="NeverAnnotated, which TypedSerializer was not"):
        unnamed(1)


@pytest.mark.parametrize("value", [NeverAnnotated(1), Opaque(), [NeverAnnotated(2)]])
def test_what_the_codec_cannot_carry_fails_at_set_on_every_engine(
    engine: CacheBackend, value: object
) -> None:
    @cached(timeout=60, cache=engine)
    def wrong(n: int) -> Item:  # says Item, returns something else
        return value  # type: ignore[return-value]

    with pytest.raises(CacheTypeError, match="return annotation of the @cached function"):
        wrong(1)
    assert engine.get(wrong.key(1)) is None  # nothing stored, not even the fill's mark


def test_plain_memory_keeps_the_object_itself() -> None:
    engine = InMemoryCache()
    kept = NeverAnnotated(1)

    @cached(timeout=60, cache=engine)
    def same(n: int) -> NeverAnnotated:
        return kept

    assert same(1) is kept and same(1) is kept


def test_a_name_defined_below_the_function_is_read_at_the_first_call(engine: CacheBackend) -> None:
    set_default_cache(engine)
    try:
        first, again = app.report("2026-11-29"), app.report("2026-11-29")
    finally:
        set_default_cache(None)
    assert again == first and type(again) is app.Report and type(again.lines[0]) is app.Line


def test_a_name_only_type_checkers_see_leaves_the_annotation_unused(engine: CacheBackend) -> None:
    @cached(timeout=60, cache=engine)
    def hidden(n: int) -> NotDefinedAnywhere:  # type: ignore[name-defined]  # noqa: F821
        return n

    assert hidden(1) == hidden(1) == 1  # still cached; no class to learn


def test_another_process_reads_what_one_stored(redis_server: RedisServer) -> None:
    """Every process importing the function knows its classes, before its first read."""
    url = f"{redis_server.url}?serializer=typed&namespace=annotated-app"
    code = (
        "import asyncio\n"
        "from tests.advanced.memo import annotated_app as app\n"
        "report = app.report('2026-11-29')\n"
        "again = asyncio.run(app.areport('2026-11-29'))\n"
        "print(app.calls, type(report).__name__, type(report.lines[0].price).__name__,"
        " type(again).__name__, report == again)\n"
    )
    env = {**os.environ, "CACHE_URL": url, "PYTHONPATH": str(ROOT)}
    shared = RedisCache(redis_server.url, namespace="annotated-app")
    shared.clear()
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    shared.clear()
    shared.close()
    # The first computes report and areport; the second finds both.
    assert outputs == ["2 Report Decimal Report True\n", "0 Report Decimal Report True\n"]
