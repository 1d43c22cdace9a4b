"""TypedSerializer: values that come back as the types they went in, on every engine.

JSON turns a ``datetime`` into an error and a tuple into a list; pickle runs
code on read. This serializer (msgpack, extra ``msgpack``) carries each type
JSON lacks as a tagged extension: ``datetime``, ``date``, ``time``,
``timedelta``, ``Decimal``, ``UUID``, ``tuple``, ``set``, ``frozenset``,
``bytes`` (msgpack's own), dicts with keys of any of these types, and the
dataclasses and Pydantic models it is told about. Nothing is imported or
run on read: a registered class is rebuilt from its fields; anything else is
refused at ``set``, with the fix named.

A class is told about in ``TypedSerializer(types=[...])``, or, for every
serializer of the process, with :func:`register_types`: ``@cached`` calls it
with the classes its function's return annotation names (``-> list[Item]``),
so that its results come back as the annotated types on every engine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import typing
import uuid
from collections.abc import Iterable
from typing import Any

from cache.errors import CacheTypeError, SerializationError

__all__ = ["TypedSerializer", "annotated_types", "register_types"]

_DATETIME, _DATE, _TIME, _DELTA, _DECIMAL, _UUID, _TUPLE, _SET, _FROZENSET, _CLASS = range(1, 11)

#: Classes every TypedSerializer of this process rebuilds, by qualified name:
#: those named by ``@cached`` functions' return annotations (register_types).
_REGISTERED: dict[str, type] = {}


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _rebuildable(cls: object) -> bool:
    """Whether ``cls`` is a class this serializer can rebuild: a dataclass or a Pydantic model."""
    return isinstance(cls, type) and (dataclasses.is_dataclass(cls) or hasattr(cls, "model_fields"))


def _check_types(types: Iterable[type]) -> dict[str, type]:
    by_name = {}
    for cls in types:
        if not _rebuildable(cls):
            raise CacheTypeError(f"types must hold dataclasses or Pydantic models, got {cls!r:.60}")
        by_name[_name(cls)] = cls
    return by_name


def register_types(types: Iterable[type]) -> None:
    """Make dataclasses and Pydantic models known to every TypedSerializer of this process.

    ``@cached`` calls it with the classes its function's return annotation
    names; every process running that function so reads them back.
    """
    _REGISTERED.update(_check_types(types))


def _field_types(cls: type) -> list[Any]:
    """Return the annotations of a dataclass's or a model's fields (those Python can resolve)."""
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict):
        return [field.annotation for field in fields.values()]
    try:
        return list(typing.get_type_hints(cls).values())
    except Exception:  # a name defined only for type checkers: take the fields already resolved
        return [f.type for f in dataclasses.fields(cls) if not isinstance(f.type, str)]


def annotated_types(annotation: object) -> list[type]:
    """Return the dataclasses and Pydantic models ``annotation`` names, and those their fields name.

    ``list[Item] | None`` names ``Item``, and ``Item``'s fields name their own classes.
    """
    found: dict[str, type] = {}
    stack: list[object] = [annotation]
    seen: list[object] = []
    while stack:
        item = stack.pop()
        if any(item is other for other in seen):
            continue
        seen.append(item)  # kept alive, so compared by identity safely
        stack.extend(typing.get_args(item))
        if typing.get_origin(item) is None and _rebuildable(item):
            assert isinstance(item, type)
            found[_name(item)] = item
            stack.extend(_field_types(item))
    return list(found.values())


class TypedSerializer:
    """msgpack with tagged types; ``types``: the dataclasses and Pydantic models it may rebuild.

    Each class is known by its qualified name, so every process must register
    the same classes (a value of an unregistered class reads as a miss).
    """

    marker = b"t"

    def __init__(self, types: Iterable[type] = ()) -> None:
        import msgpack  # noqa: PLC0415 - optional dependency, imported when chosen

        self._msgpack = msgpack
        self._by_name = _check_types(types)

    def _class(self, name: str) -> type | None:
        """Return the class registered under ``name``: here, else for the process."""
        return self._by_name.get(name) or _REGISTERED.get(name)

    def dumps(self, value: Any) -> bytes:
        """Encode ``value``; raise ``CacheTypeError`` naming a type it cannot carry."""
        try:
            packed: bytes = self._msgpack.packb(
                value, default=self._encode, use_bin_type=True, strict_types=True
            )
        except CacheTypeError:
            raise
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise CacheTypeError(
                f"value of type {type(value).__name__} cannot be stored ({exc})"
            ) from None
        return self.marker + packed

    def loads(self, data: bytes) -> Any:
        """Decode what :meth:`dumps` wrote, rebuilding every tagged type."""
        if data[:1] != self.marker:
            raise SerializationError(f"not written by TypedSerializer: {data[:16]!r}")
        try:
            return self._unpack(data[1:])
        except SerializationError:
            raise
        except Exception as exc:
            raise SerializationError(f"corrupt typed value: {exc}") from None

    def _pack(self, value: Any) -> bytes:
        packed: bytes = self._msgpack.packb(
            value, default=self._encode, use_bin_type=True, strict_types=True
        )
        return packed

    def _unpack(self, data: bytes) -> Any:
        return self._msgpack.unpackb(
            data, ext_hook=self._decode, raw=False, strict_map_key=False, use_list=True
        )

    def _encode(self, obj: Any) -> Any:  # noqa: PLR0911 - one return per carried type
        ext = self._msgpack.ExtType
        if isinstance(obj, dt.datetime):
            return ext(_DATETIME, obj.isoformat().encode())
        if isinstance(obj, dt.date):
            return ext(_DATE, obj.isoformat().encode())
        if isinstance(obj, dt.time):
            return ext(_TIME, obj.isoformat().encode())
        if isinstance(obj, dt.timedelta):
            return ext(_DELTA, self._pack([obj.days, obj.seconds, obj.microseconds]))
        if isinstance(obj, decimal.Decimal):
            return ext(_DECIMAL, str(obj).encode())
        if isinstance(obj, uuid.UUID):
            return ext(_UUID, obj.bytes)
        if isinstance(obj, tuple):
            return ext(_TUPLE, self._pack(list(obj)))
        if isinstance(obj, (set, frozenset)):
            return ext(_SET if isinstance(obj, set) else _FROZENSET, self._pack(list(obj)))
        if type(obj) in (list, dict) or isinstance(obj, (list, dict)):
            return list(obj) if isinstance(obj, list) else dict(obj)  # subclasses: as the base
        return ext(_CLASS, self._pack(self._fields(obj)))

    def _fields(self, obj: Any) -> list[Any]:
        name = _name(type(obj))
        if self._class(name) is None:
            kind = "dataclass" if dataclasses.is_dataclass(obj) else "type"
            raise CacheTypeError(
                f"a value holds the {kind} {name}, which TypedSerializer was not told about; "
                f"pass it in TypedSerializer(types=[{type(obj).__qualname__}, ...]) in every "
                "process, name it in the return annotation of the @cached function returning "
                "it, or store plain types"
            )
        if dataclasses.is_dataclass(obj):
            return [name, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}]
        return [name, {field: getattr(obj, field) for field in type(obj).model_fields}]

    def _decode(self, code: int, data: bytes) -> Any:  # noqa: PLR0911 - one return per type
        if code == _DATETIME:
            return dt.datetime.fromisoformat(data.decode())
        if code == _DATE:
            return dt.date.fromisoformat(data.decode())
        if code == _TIME:
            return dt.time.fromisoformat(data.decode())
        if code == _DELTA:
            days, seconds, micros = self._unpack(data)
            return dt.timedelta(days, seconds, micros)
        if code == _DECIMAL:
            return decimal.Decimal(data.decode())
        if code == _UUID:
            return uuid.UUID(bytes=data)
        if code == _TUPLE:
            return tuple(self._unpack(data))
        if code in (_SET, _FROZENSET):
            items = self._unpack(data)
            return set(items) if code == _SET else frozenset(items)
        if code == _CLASS:
            name, fields = self._unpack(data)
            cls = self._class(name)
            if cls is None:
                raise SerializationError(f"a value of {name}, a class not registered here")
            validate = getattr(cls, "model_validate", None)
            return validate(fields) if validate is not None else cls(**fields)
        raise SerializationError(f"unknown extension type {code}")
