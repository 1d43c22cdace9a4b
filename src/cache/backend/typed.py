"""TypedSerializer: values that come back as the types they went in, on every engine.

JSON turns a ``datetime`` into an error and a tuple into a list; pickle runs
code on read. This serializer (msgpack, extra ``msgpack``) carries each type
JSON lacks as a tagged extension: ``datetime``, ``date``, ``time``,
``timedelta``, ``Decimal``, ``UUID``, ``tuple``, ``set``, ``frozenset``,
``bytes`` (msgpack's own), dicts with keys of any of these types, and the
dataclasses and Pydantic models it is told about. Nothing is imported or
run on read: a registered class is rebuilt from its fields; anything else is
refused at ``set``, with the fix named.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from cache.errors import CacheTypeError, SerializationError

__all__ = ["TypedSerializer"]

_DATETIME, _DATE, _TIME, _DELTA, _DECIMAL, _UUID, _TUPLE, _SET, _FROZENSET, _CLASS = range(1, 11)


class TypedSerializer:
    """msgpack with tagged types; ``types``: the dataclasses and Pydantic models it may rebuild.

    Each class is known by its qualified name, so every process must register
    the same classes (a value of an unregistered class reads as a miss).
    """

    marker = b"t"

    def __init__(self, types: Iterable[type] = ()) -> None:
        import msgpack  # noqa: PLC0415 - optional dependency, imported when chosen

        self._msgpack = msgpack
        self._by_name: dict[str, type] = {}
        for cls in types:
            if not isinstance(cls, type) or not (
                dataclasses.is_dataclass(cls) or hasattr(cls, "model_fields")
            ):
                raise CacheTypeError(
                    f"types must hold dataclasses or Pydantic models, got {cls!r:.60}"
                )
            self._by_name[f"{cls.__module__}.{cls.__qualname__}"] = cls

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
        name = f"{type(obj).__module__}.{type(obj).__qualname__}"
        if name not in self._by_name:
            kind = "dataclass" if dataclasses.is_dataclass(obj) else "type"
            raise CacheTypeError(
                f"a value holds the {kind} {name}, which TypedSerializer was not told about; "
                f"pass it in TypedSerializer(types=[{type(obj).__qualname__}, ...]) in every "
                "process, or store plain types"
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
            cls = self._by_name.get(name)
            if cls is None:
                raise SerializationError(f"a value of {name}, a class not registered here")
            validate = getattr(cls, "model_validate", None)
            return validate(fields) if validate is not None else cls(**fields)
        raise SerializationError(f"unknown extension type {code}")
