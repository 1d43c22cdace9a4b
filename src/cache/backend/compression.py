"""Compression of serialized values above a size threshold, transparent on read.

:class:`Compressed` wraps any serializer: a value whose serialized form is
at least ``threshold`` bytes is stored compressed behind a one-byte marker
(``z`` zlib, ``Z`` zstandard); smaller ones are stored as the inner
serializer wrote them, so values written before compression was turned on
(or by a process without it) still read back. zlib is in the standard
library; zstandard (extra ``zstd``) is faster at the same ratio.
"""

from __future__ import annotations

import threading
import zlib
from typing import Any

from cache.backend.serializers import JSONSerializer, Serializer, check_serializer
from cache.errors import CacheConfigError, CacheValueError, SerializationError

__all__ = ["ALGORITHMS", "Compressed"]

#: Marker byte of each algorithm; no serializer's own marker is one of these.
ALGORITHMS = {"zlib": b"z", "zstd": b"Z"}

#: A stored value never inflates past this (a corrupt or hostile one is refused).
MAX_INFLATED = 256 * 1024 * 1024


class Compressed:
    """Compress what ``inner`` writes when it is at least ``threshold`` bytes.

    Args:
        inner: The serializer whose bytes are compressed (JSON by default).
        threshold: Smaller values are stored as they are: compressing a few
            hundred bytes saves little and costs time on every read.
        algorithm: ``"zlib"`` (standard library) or ``"zstd"`` (extra ``zstd``).
        level: The algorithm's level (zlib 1-9, zstd 1-22); the default is
            each one's usual balance (6 and 3).
    """

    def __init__(
        self,
        inner: Serializer | None = None,
        *,
        threshold: int = 1024,
        algorithm: str = "zlib",
        level: int | None = None,
    ) -> None:
        self.inner = JSONSerializer() if inner is None else check_serializer(inner, "inner")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise CacheValueError(
                f"threshold must be a number of bytes (0 or more), e.g. 1024, got {threshold!r}"
            )
        if algorithm not in ALGORITHMS:
            raise CacheConfigError(
                f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}"
            )
        self.threshold, self.algorithm = threshold, algorithm
        self.marker = ALGORITHMS[algorithm]
        self._zstd: Any = None
        if algorithm == "zstd":
            try:
                import zstandard  # noqa: PLC0415 - optional dependency, imported when chosen
            except ImportError:
                raise CacheConfigError(
                    "algorithm='zstd' needs the zstandard package: pip install 'tagcache[zstd]'"
                ) from None
            self._zstd = zstandard
        self.level = _check_level(algorithm, level)
        # zstandard's (de)compressor objects are reusable but not thread-safe: one per thread.
        self._local = threading.local()

    def dumps(self, value: Any) -> bytes:
        """Serialize ``value`` with the inner serializer; compress it if it is large enough."""
        data = self.inner.dumps(value)
        if len(data) < self.threshold:
            return data
        if self.algorithm == "zstd":
            packed: bytes = self._zstd_objects()[0].compress(data)
        else:
            packed = zlib.compress(data, self.level)
        return self.marker + packed if len(packed) + 1 < len(data) else data

    def loads(self, data: bytes) -> Any:
        """Inflate ``data`` if it is compressed (by either algorithm), then deserialize it."""
        kind = data[:1]
        if kind == b"z":
            data = _inflate_zlib(data[1:])
        elif kind == b"Z":
            data = self._inflate_zstd(data[1:])
        return self.inner.loads(data)

    def _inflate_zstd(self, packed: bytes) -> bytes:
        if self._zstd is None:
            try:
                import zstandard  # noqa: PLC0415
            except ImportError:
                raise SerializationError(
                    "a zstd-compressed value, and the zstandard package is not installed"
                ) from None
            self._zstd = zstandard
        try:
            # A frame that states its size is inflated whole whatever max_output_size
            # says: check the size it states, or read through a stream one byte past
            # the bound when it states none.
            size = self._zstd.get_frame_parameters(packed).content_size
            if 0 < size <= MAX_INFLATED:
                data: bytes = self._zstd_objects()[1].decompress(packed)
            else:
                data = self._zstd_objects()[1].stream_reader(packed).read(MAX_INFLATED + 1)
        except self._zstd.ZstdError as exc:
            raise SerializationError(f"corrupt zstd value: {exc}") from None
        if len(data) > MAX_INFLATED:
            raise SerializationError(f"a compressed value inflates past {MAX_INFLATED} bytes")
        return data

    def _zstd_objects(self) -> tuple[Any, Any]:
        """Return this thread's zstandard compressor and decompressor."""
        found = getattr(self._local, "zstd", None)
        if found is None:
            compressor = self._zstd.ZstdCompressor(level=self.level)
            found = self._local.zstd = (compressor, self._zstd.ZstdDecompressor())
        return found


def _inflate_zlib(packed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(packed, MAX_INFLATED)
    except zlib.error as exc:
        raise SerializationError(f"corrupt zlib value: {exc}") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise SerializationError(
            f"a compressed value is truncated or inflates past {MAX_INFLATED} bytes"
        )
    return data


def _check_level(algorithm: str, level: object) -> int:
    low, high, usual = (1, 9, 6) if algorithm == "zlib" else (1, 22, 3)
    if level is None:
        return usual
    if isinstance(level, bool) or not isinstance(level, int) or not low <= level <= high:
        raise CacheValueError(
            f"level must be an int from {low} to {high} for {algorithm}, got {level!r}"
        )
    return level
