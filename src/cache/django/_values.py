"""How :class:`cache.django.CacheBackend` turns Django's values into what an engine stores.

Django's own backends pickle every value, so that any picklable object
round-trips and a value read back is a copy. The codecs here do the same,
except for plain integers, which engines keep as integers so that ``incr``
stays atomic (Redis ``INCRBY``). On an engine that keeps objects in the
process (``memory://``) the pickle is kept as bytes; on a network engine it is
signed with HMAC-SHA256 and stored as text, so that a value written into the
server by anyone without the key is refused (read as a miss), never unpickled.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import pickle
from typing import Any, Protocol

from cache._types import MISSING

__all__ = ["Codec", "LocalPickles", "Passthrough", "SignedPickles"]


class Codec(Protocol):
    """Turns a Django value into a stored value and back (``MISSING`` if refused)."""

    def dumps(self, value: Any) -> Any:
        """Return what the engine stores for ``value``; ``pickle`` errors propagate."""
        ...

    def loads(self, stored: Any) -> Any:
        """Return the value ``stored`` holds, or ``MISSING`` if it is refused."""
        ...


class Passthrough:
    """Values go to the engine as they are (the engine's own serializer applies)."""

    def dumps(self, value: Any) -> Any:
        """Return ``value`` unchanged."""
        return value

    def loads(self, stored: Any) -> Any:
        """Return ``stored`` unchanged."""
        return stored


class _Pickled(bytes):
    """A pickle kept in process memory: its type tells it from bytes a caller stored."""

    __slots__ = ()


class LocalPickles:
    """Pickles kept as bytes, for an engine that holds objects by reference."""

    def dumps(self, value: Any) -> Any:
        """Return ``value`` itself if it is an int, else its pickle."""
        if type(value) is int:
            return value
        return _Pickled(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))

    def loads(self, stored: Any) -> Any:
        """Unpickle what :meth:`dumps` pickled; anything else is returned as it is."""
        if type(stored) is _Pickled:
            return pickle.loads(stored)
        return stored


class SignedPickles:
    """Signed pickles as text, for an engine that stores values in a server."""

    #: Starts every stored pickle; a text value without it is returned as it is.
    marker = "\x00django-pickle:"
    _SIG = 32

    def __init__(self, secret: bytes | str, *fallbacks: bytes | str) -> None:
        keys = [_derive(s) for s in (secret, *fallbacks)]
        #: The first key signs every value; the others (keys being rotated out) only verify.
        self._key, self._keys = keys[0], keys

    def dumps(self, value: Any) -> Any:
        """Return ``value`` itself if it is an int, else its signed pickle as text."""
        if type(value) is int:
            return value
        payload = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        signature = hmac.new(self._key, payload, hashlib.sha256).digest()
        return self.marker + base64.b64encode(signature + payload).decode("ascii")

    def loads(self, stored: Any) -> Any:
        """Check the signature, then unpickle; a forged or corrupt value is ``MISSING``."""
        if not (isinstance(stored, str) and stored.startswith(self.marker)):
            return stored
        try:
            data = base64.b64decode(stored[len(self.marker) :], validate=True)
        except (binascii.Error, ValueError):
            return MISSING
        signature, payload = data[: self._SIG], data[self._SIG :]
        for key in self._keys:
            if hmac.compare_digest(signature, hmac.new(key, payload, hashlib.sha256).digest()):
                return pickle.loads(payload)
        return MISSING


def _derive(secret: bytes | str) -> bytes:
    """Return the signing key made from ``secret`` (never ``secret`` itself)."""
    if isinstance(secret, str):
        secret = secret.encode()
    return hashlib.sha256(b"cache.django.values:" + secret).digest()
