"""How network engines turn values into bytes: JSON by default, pickle only when signed.

Every serialized value starts with a one-byte marker naming its format, so a
value written by one serializer is never misread by another. Integers are
stored as plain decimal text by the engine itself (so that Redis ``INCRBY``
works on them) and never reach a serializer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
import re
from typing import Any, Protocol

from cache.errors import CacheTypeError, CacheValueError, SerializationError

__all__ = [
    "JSONSerializer",
    "MsgpackSerializer",
    "PickleSerializer",
    "SerializationError",
    "Serializer",
    "check_serializer",
]


class Serializer(Protocol):
    """Turns values into bytes and back."""

    def dumps(self, value: Any) -> bytes:
        """Return ``value`` as bytes, or raise ``CacheTypeError`` naming its type."""
        ...

    def loads(self, data: bytes) -> Any:
        """Return the value in ``data``, or raise ``SerializationError``."""
        ...


def _not_json(obj: object) -> Any:
    raise TypeError(f"it holds {type(obj).__name__} {obj!r:.60}, which is not a JSON type")


#: A key JSON may have turned from a number, bool or None into a str (``{"1":``,
#: ``,"null":``...), searched in the reversed text so that the pattern starts
#: with the literal ``:"`` (a fast scan) and fails at a key's first character.
#: On a 5.8 kB page of 100 dicts: 10 us, against 100 us to walk the value
#: (json.dumps: 68 us); only a match (a number-like key) pays for the walk.
_NUMBER_LIKE_KEY = re.compile(r':"(?:\d(?:[^"]*\d)?-?|ytinifnI-?|NaN|eurt|eslaf|llun)"[{,]')


def _non_str_key(value: Any) -> tuple[object] | None:
    """Return ``(key,)`` for the first dict key in ``value`` that is not a str, else None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    return (key,)
                if isinstance(inner, (dict, list, tuple)):
                    stack.append(inner)
        elif isinstance(item, (list, tuple)):
            stack.extend(v for v in item if isinstance(v, (dict, list, tuple)))
    return None


class JSONSerializer:
    """JSON: safe and readable; holds str, int, float, bool, None, list and str-keyed dict.

    Tuples come back as lists. Anything else raises ``CacheTypeError`` on store,
    so does a dict key that is not a str (JSON would turn ``1`` into ``"1"``).
    """

    marker = b"j"

    def dumps(self, value: Any) -> bytes:
        """Encode ``value`` as JSON."""
        fix = "or use serializer=MsgpackSerializer() or PickleSerializer(secret_key=...)"
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_not_json)
        except RecursionError:
            raise CacheValueError(
                f"value of type {type(value).__name__} is nested too deeply to store as JSON; "
                "flatten it"
            ) from None
        except (TypeError, ValueError) as exc:
            raise CacheTypeError(
                f"value of type {type(value).__name__} cannot be stored with the JSON "
                f"serializer ({exc}); convert it to JSON types, {fix}"
            ) from None
        found = _non_str_key(value) if _NUMBER_LIKE_KEY.search(text[::-1]) else None
        if found is not None:
            raise CacheTypeError(
                f"value of type {type(value).__name__} holds the dict key {found[0]!r} of type "
                f"{type(found[0]).__name__}, which JSON would read back as a str; "
                f"use str keys, {fix}"
            )
        try:
            return self.marker + text.encode()
        except UnicodeEncodeError as exc:
            raise CacheValueError(
                f"value of type {type(value).__name__} holds a lone surrogate "
                f"{text[exc.start]!r}, which UTF-8 cannot encode; decode its bytes with "
                "errors='replace' (or store bytes with MsgpackSerializer())"
            ) from None

    def loads(self, data: bytes) -> Any:
        """Decode JSON written by :meth:`dumps`."""
        if data[:1] != self.marker:
            raise SerializationError(f"not JSON written by this serializer: {data[:16]!r}")
        try:
            return json.loads(data[1:])
        except ValueError as exc:
            raise SerializationError(f"corrupt JSON value: {exc}") from None


class MsgpackSerializer:
    """msgpack (extra ``msgpack``): compact and safe; bytes round-trip, tuples become lists."""

    marker = b"m"

    def __init__(self) -> None:
        import msgpack  # noqa: PLC0415 - optional dependency, imported when chosen

        self._msgpack = msgpack

    def dumps(self, value: Any) -> bytes:
        """Encode ``value`` with msgpack."""
        try:
            packed: bytes = self._msgpack.packb(value, use_bin_type=True)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise CacheTypeError(
                f"value of type {type(value).__name__} cannot be stored with msgpack ({exc}); "
                "convert it to msgpack types (a lone surrogate: decode with errors='replace'), "
                "or use PickleSerializer(secret_key=...)"
            ) from None
        return self.marker + packed

    def loads(self, data: bytes) -> Any:
        """Decode msgpack written by :meth:`dumps`."""
        if data[:1] != self.marker:
            raise SerializationError(f"not msgpack written by this serializer: {data[:16]!r}")
        try:
            return self._msgpack.unpackb(data[1:], raw=False, strict_map_key=False)
        except Exception as exc:
            raise SerializationError(f"corrupt msgpack value: {exc}") from None


class PickleSerializer:
    """Pickle, signed with HMAC-SHA256: any picklable value, refused if tampered with.

    Unpickling runs code, so a value is unpickled only after its signature
    checks out against ``secret_key``; a forged or corrupted value is refused
    (a miss), never unpickled. Every process sharing the cache needs the key.
    """

    marker = b"p"
    _SIG = 32

    def __init__(self, secret_key: bytes | str) -> None:
        if isinstance(secret_key, str):
            secret_key = secret_key.encode()
        if not isinstance(secret_key, bytes):
            raise CacheTypeError(
                f"secret_key must be bytes or str, got {type(secret_key).__name__}; "
                "e.g. secrets.token_bytes(32)"
            )
        if len(secret_key) < 16:
            raise CacheValueError(
                "secret_key must be at least 16 bytes, e.g. secrets.token_bytes(32); "
                "every process sharing the cache needs the same key"
            )
        self._key = secret_key

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def dumps(self, value: Any) -> bytes:
        """Pickle and sign ``value``."""
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise CacheTypeError(
                f"value of type {type(value).__name__} cannot be pickled ({exc}); "
                "store something picklable"
            ) from None
        return self.marker + self._sign(payload) + payload

    def loads(self, data: bytes) -> Any:
        """Check the signature, then unpickle."""
        if data[:1] != self.marker or len(data) <= 1 + self._SIG:
            raise SerializationError("not a signed pickle written by this serializer")
        signature, payload = data[1 : 1 + self._SIG], data[1 + self._SIG :]
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise SerializationError("signature mismatch: value refused, not unpickled")
        return pickle.loads(payload)


def check_serializer(serializer: object, name: str = "serializer") -> Serializer:
    """Return ``serializer`` if it has ``dumps`` and ``loads``, else raise naming ``name``."""
    if (
        not isinstance(serializer, type)
        and callable(getattr(serializer, "dumps", None))
        and callable(getattr(serializer, "loads", None))
    ):
        return serializer  # type: ignore[return-value]
    hint = " (a class: write it with parentheses)" if isinstance(serializer, type) else ""
    if isinstance(serializer, str):
        hint = f" (a name such as {serializer!r} is read from a URL only: ?serializer=json)"
    raise CacheTypeError(
        f"{name} must be a serializer object with dumps() and loads(), e.g. JSONSerializer() "
        f"or MsgpackSerializer(), got {type(serializer).__name__} {serializer!r:.60}{hint}"
    )
