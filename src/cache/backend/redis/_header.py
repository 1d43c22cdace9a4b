"""The refs header: the keys an entry depends on, stored in front of its value.

``b"r"``, the length of the names' JSON as 4 big-endian bytes, that JSON (a
list of full key names), then the value as the engine dumps it. A plain value
never starts with ``r``: ints are stored as digits and every serializer starts
with its own tag. The ``GET_ENTRY`` script reads the same layout on the server
(see _scripts.py); on this side, everything reads it through this module.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

__all__ = ["MARK", "decode", "encode", "split", "strip", "value"]

MARK = b"r"
_SIZE = struct.Struct(">I")
_HEAD = len(MARK) + _SIZE.size


def encode(names: Sequence[str], data: bytes) -> bytes:
    """Return ``data`` behind a header naming the keys it depends on."""
    listed = json.dumps(list(names)).encode()
    return MARK + _SIZE.pack(len(listed)) + listed + data


def _end(raw: bytes) -> int:
    """Return where the header of ``raw`` ends; ValueError if it is cut short."""
    if len(raw) < _HEAD:
        raise ValueError("refs header cut short")
    end = _HEAD + int(_SIZE.unpack_from(raw, len(MARK))[0])
    if end > len(raw):
        raise ValueError("refs header longer than the value")
    return end


def split(raw: bytes) -> tuple[list[str], bytes]:
    """Return the names in the header of ``raw`` and the value behind it.

    A value without a header has no names: ``([], raw)``. A header that is
    cut short or does not list key names raises ValueError.
    """
    if raw[:1] != MARK:
        return [], raw
    end = _end(raw)
    names = json.loads(raw[_HEAD:end])  # JSONDecodeError, UnicodeDecodeError: ValueErrors
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError("refs header does not list key names")
    return names, raw[end:]


def value(raw: bytes) -> bytes:
    """Return the value of ``raw`` behind a well-formed header; ValueError if it is corrupt."""
    return split(raw)[1] if raw[:1] == MARK else raw


def decode(raw: bytes) -> tuple[list[str], bytes]:
    """Return the names in the header of ``raw`` and the value behind it, never raising.

    A corrupt header lists no names (``([], raw)``): the engine reads every
    value through :func:`value` first, which finds the corruption and serves
    the entry as a miss (issue 8).
    """
    try:
        return split(raw)
    except ValueError:
        return [], raw


def strip(raw: bytes) -> bytes:
    """Return the value of ``raw`` without its header, leaving the names unread."""
    return raw[_end(raw) :] if raw[:1] == MARK else raw
