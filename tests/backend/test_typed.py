"""One value model: TypedSerializer gives back the types that went in, on every engine."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Optional

import pydantic
import pytest

from cache.backend import CacheBackend, CopyingCache, InMemoryCache, RedisCache, TypedSerializer
from cache.backend.typed import annotated_types, register_types
from cache.errors import CacheTypeError
from cache.testing.redis_server import RedisClusterServers, RedisServer


@dataclasses.dataclass(frozen=True)
class Author:
    name: str
    born: dt.date


@dataclasses.dataclass
class Post:
    id: uuid.UUID
    author: Author
    price: decimal.Decimal
    tags: frozenset[str]


class Order(pydantic.BaseModel):
    id: int
    placed: dt.datetime
    lines: tuple[str, ...]


UTC = dt.timezone.utc
VALUES: list[Any] = [
    dt.datetime(2026, 11, 29, 9, 20, 14, 123456, tzinfo=UTC),
    dt.datetime(2026, 11, 29, 9, 20),  # naive stays naive
    dt.date(2026, 11, 29),
    dt.time(9, 20, 14),
    dt.timedelta(days=2, seconds=5, microseconds=7),
    decimal.Decimal("19.99"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    (1, "a", (2, 3)),
    {1, 2, 3},
    frozenset({"x"}),
    b"\x00\xffbytes",
    {(1, 2): "tuple key", 3: "int key", dt.date(2026, 1, 1): "date key"},
    [{"nested": [dt.date(2026, 2, 2), decimal.Decimal("1.5")]}],
    Post(
        uuid.uuid4(),
        Author("Ada", dt.date(1815, 12, 10)),
        decimal.Decimal("3.50"),
        frozenset({"x"}),
    ),
    Order(id=7, placed=dt.datetime(2026, 1, 2, 3, 4, tzinfo=UTC), lines=("a", "b")),
    None,
    True,
    1.5,
    "text",
]


def _codec() -> TypedSerializer:
    return TypedSerializer(types=[Author, Post, Order])


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_every_value_comes_back_as_its_own_type(value: Any) -> None:
    codec = _codec()
    back = codec.loads(codec.dumps(value))
    assert back == value and type(back) is type(value)


@pytest.fixture(params=["memory (copies)", "redis", "cluster"])
def engine(
    request: pytest.FixtureRequest, redis_server: RedisServer, redis_cluster: RedisClusterServers
) -> Iterator[CacheBackend]:
    cache: CacheBackend
    if request.param == "memory (copies)":
        cache = CopyingCache(InMemoryCache(), _codec())  # the same value model, in memory
    else:
        cluster = request.param == "cluster"
        url = redis_cluster.url if cluster else redis_server.url
        cache = RedisCache(url, cluster=cluster, namespace="typed", serializer=_codec())
    yield cache
    cache.clear()
    cache.close()


async def test_the_same_values_round_trip_on_every_engine(engine: CacheBackend) -> None:
    for i, value in enumerate(VALUES):
        engine.set(f"v{i}", value, 60)
        back = engine.get(f"v{i}")
        assert back == value and type(back) is type(value)
    engine.set_many({"a": (1, 2), "b": {dt.date(2026, 1, 1)}}, 60)
    assert engine.get_many(["a", "b"]) == {"a": (1, 2), "b": {dt.date(2026, 1, 1)}}
    await engine.aset("c", decimal.Decimal("0.1"), 60)
    assert await engine.aget("c") == decimal.Decimal("0.1")


class Unknown:
    pass


@dataclasses.dataclass
class NotRegistered:
    x: int


@pytest.mark.parametrize("value", [Unknown(), NotRegistered(1), {"deep": [NotRegistered(2)]}])
def test_what_it_cannot_carry_is_refused_at_set_naming_the_fix(
    engine: CacheBackend, value: object
) -> None:
    engine.set("keep", "stored before", 60)
    with pytest.raises(CacheTypeError, match="TypedSerializer"):
        engine.set("keep", value, 60)
    assert engine.get("keep") == "stored before"  # nothing already stored was touched


def test_only_dataclasses_and_models_can_be_registered() -> None:
    with pytest.raises(CacheTypeError, match="dataclasses or Pydantic"):
        TypedSerializer(types=[dict])


@dataclasses.dataclass
class Node:  # names itself through a field: the walk ends
    name: str
    children: list[Node]


def test_the_classes_an_annotation_names_are_found_through_every_form() -> None:
    assert set(annotated_types(list[Post] | None)) == {Post, Author}  # Post.author names Author
    assert set(annotated_types(dict[str, tuple[Order, ...]])) == {Order}
    assert set(annotated_types(Annotated[Optional[Node], "meta"])) == {Node}  # noqa: UP045
    assert annotated_types(dict[str, list[int]]) == [] and annotated_types(None) == []


def test_registered_types_are_known_to_every_serializer_of_the_process() -> None:
    @dataclasses.dataclass
    class Local:
        when: dt.date

    codec = TypedSerializer()
    with pytest.raises(CacheTypeError, match="return annotation of the @cached function"):
        codec.dumps(Local(dt.date(2026, 1, 1)))
    register_types([Local])
    back = TypedSerializer().loads(codec.dumps(Local(dt.date(2026, 1, 1))))
    assert back == Local(dt.date(2026, 1, 1)) and type(back) is Local
    with pytest.raises(CacheTypeError, match="dataclasses or Pydantic"):
        register_types([int])
