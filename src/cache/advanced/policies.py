"""CachePolicy and ContentTypeCacheManager: caching rules per kind of content."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cache._clock import Clock
from cache.advanced.envelope import Envelope
from cache.advanced.statistics import NULL_RECORDER, StatsRecorder
from cache.advanced.swr import StaleWhileRevalidateCache
from cache.advanced.tags import CacheTag, check_tags
from cache.backend.base import CacheBackend, check_backend, one_attempt
from cache.backend.validation import check_headers, check_key, check_seconds
from cache.errors import CacheTypeError, CacheValueError, UnknownContentTypeError

__all__ = ["CachePolicy", "ContentTypeCacheManager"]


@dataclass(frozen=True)
class CachePolicy:
    """How one kind of content is cached; validated on construction, immutable.

    Args:
        timeout: Seconds the content is fresh in this cache (for HTTP: when
            the app's response states no freshness of its own).
        tags: Tags every entry of this kind carries (invalidate with ``CacheTag``).
        vary_on: Request header names whose values are part of the key
            (case-insensitive), as HTTP ``Vary``.
        stale_while_revalidate: Seconds past ``timeout`` a stale copy may be
            served while it is refreshed.
        cache_control: The HTTP ``Cache-Control`` sent on to browsers and
            downstream caches when the app sends none. By default
            ``no-cache``: they keep a copy but ask again on each use, which
            this cache answers (a 304 if unchanged), so an invalidation shows
            at once. A longer browser lifetime (``public, max-age=600``) is
            the app's choice: a browser then shows its copy until it expires,
            whatever is invalidated here.
    """

    timeout: float
    tags: AbstractSet[str] = frozenset()
    vary_on: Sequence[str] = ()
    stale_while_revalidate: float = 0
    cache_control: str | None = None

    def __post_init__(self) -> None:
        timeout = check_seconds(self.timeout, "timeout", allow_zero=False)
        swr = check_seconds(self.stale_while_revalidate, "stale_while_revalidate", allow_zero=True)
        tags = check_tags(self.tags)
        if isinstance(self.vary_on, str) or not isinstance(self.vary_on, Iterable):
            raise CacheTypeError(
                f"vary_on must be a list of header names, e.g. ['Accept-Language'], "
                f"got {self.vary_on!r:.60}"
            )
        vary = tuple(self.vary_on)
        for name in vary:
            if not isinstance(name, str) or not name.strip() or ":" in name:
                raise CacheValueError(f"vary_on holds {name!r}, which is not a header name")
        control = self.cache_control
        if control is None:
            # Browsers revalidate with this cache; they never hold an invalidated copy.
            control = "no-cache"
        elif not isinstance(control, str) or not control.strip():
            raise CacheTypeError(f"cache_control must be a non-empty str, got {control!r}")
        object.__setattr__(self, "timeout", timeout)
        object.__setattr__(self, "stale_while_revalidate", swr)
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "vary_on", vary)
        object.__setattr__(self, "cache_control", control)


def _header(headers: Mapping[str, str] | None, name: str) -> str:
    if not headers:
        return ""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return " ".join(str(value).split())  # whitespace-normalised
    return ""


class ContentTypeCacheManager:
    """Caches content under per-content-type policies.

    Entries record the versions of their tags (the policy's plus
    ``extra_tags``), so ``CacheTag(cache).invalidate_tag(tag)`` on the same
    backend makes them miss even though readers never name the tags.
    """

    def __init__(
        self,
        cache: CacheBackend,
        *,
        tag_manager: CacheTag | None = None,
        stats: StatsRecorder = NULL_RECORDER,
        clock: Clock = time.time,
    ) -> None:
        self.cache = check_backend(cache)
        if tag_manager is not None and not isinstance(tag_manager, CacheTag):
            raise CacheTypeError(
                f"tag_manager must be a CacheTag or None, got {type(tag_manager).__name__}"
            )
        self.tags = tag_manager or CacheTag(cache)
        self.stats = stats
        #: Wall-clock seconds: the deadlines of the stored content (the HTTP adapters read it too).
        self.clock = clock
        self._policies: dict[str, CachePolicy] = {}
        self._swr: StaleWhileRevalidateCache | None = None

    @property
    def policies(self) -> Mapping[str, CachePolicy]:
        """The registered policies by content type (read-only)."""
        return MappingProxyType(self._policies)

    def register_policy(self, name: str, policy: CachePolicy) -> None:
        """Register (or replace) the policy of content type ``name``."""
        name = check_key(name, "name")
        if not isinstance(policy, CachePolicy):
            raise CacheTypeError(f"policy must be a CachePolicy, got {type(policy).__name__}")
        self._policies[name] = policy

    def get_policy(self, content_type: str) -> CachePolicy:
        """Return the policy of ``content_type`` or raise ``UnknownContentTypeError``."""
        try:
            return self._policies[content_type]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._policies)) or "none yet"
            raise UnknownContentTypeError(
                f"no policy for content type {content_type!r}; registered: {known}. "
                f"Call register_policy({content_type!r}, CachePolicy(...)) first"
            ) from None

    def cache_key(
        self, content_type: str, content_id: str | int, headers: Mapping[str, str] | None = None
    ) -> str:
        """Return the key of a piece of content, including its ``vary_on`` header values."""
        policy = self.get_policy(content_type)
        headers = check_headers(headers)  # pairs would fail later as an AttributeError
        if isinstance(content_id, bool) or not isinstance(content_id, (str, int)):
            raise CacheTypeError(
                f"content_id must be a str or int, got {type(content_id).__name__}"
            )
        key = f"content:{content_type}:{content_id}"
        if policy.vary_on:
            varied = "\n".join(
                f"{name.lower()}:{_header(headers, name)}"
                for name in sorted(policy.vary_on, key=str.lower)
            )
            key += ":vary=" + hashlib.sha256(varied.encode()).hexdigest()[:16]
        return check_key(key, "content_id")

    def _all_tags(self, policy: CachePolicy, extra_tags: Iterable[str] | None) -> frozenset[str]:
        extra = check_tags(extra_tags, "extra_tags") if extra_tags is not None else frozenset()
        return frozenset(policy.tags) | extra

    def cache_content(
        self,
        content_type: str,
        content_id: str | int,
        content: Any,
        extra_tags: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Store ``content`` under its policy; return the cache key.

        One attempt (:func:`~cache.backend.base.one_attempt`): when the tags'
        versions cannot be read, nothing is stored (an entry under made-up
        versions never matches) and the server is not waited for again.
        """
        policy = self.get_policy(content_type)
        key = self.cache_key(content_type, content_id, headers)
        with one_attempt() as attempt:
            versions = self.tags.get_versions(self._all_tags(policy, extra_tags))
            if attempt.failed:
                return key
            self._store(key, content, policy, versions)
        self.stats.record_set()
        return key

    def _store(self, key: str, content: Any, policy: CachePolicy, versions: dict[str, str]) -> None:
        now = self.clock()
        fresh = now + policy.timeout
        env = Envelope(content, fresh, fresh + policy.stale_while_revalidate, versions)
        ttl = policy.timeout + policy.stale_while_revalidate
        try:
            self.cache.set_entry(key, env.dump(), ttl, refs=self.tags.refs(versions))
        except (CacheTypeError, CacheValueError) as exc:  # the serializer saw the envelope
            raise type(exc)(
                f"content of type {type(content).__name__} cannot be stored: {exc}"
            ) from None

    def get_cached_content(
        self, content_type: str, content_id: str | int, headers: Mapping[str, str] | None = None
    ) -> Any:
        """Return the fresh cached content, or None (missing, stale, or its tags invalidated)."""
        started = time.perf_counter()
        key = self.cache_key(content_type, content_id, headers)
        entry = self.cache.get_entry(key)  # the content and its tags' versions, in one read
        env = Envelope.load(entry.value)
        if (
            env is not None
            and env.is_fresh(self.clock())
            and self.tags.matches(env.tags, entry.refs)
        ):
            self.stats.record_hit(time.perf_counter() - started)
            return env.value
        self.stats.record_miss(time.perf_counter() - started)
        return None

    def invalidate_content(
        self, content_type: str, content_id: str | int, headers: Mapping[str, str] | None = None
    ) -> bool:
        """Remove one piece of content (one ``vary_on`` variant); return True if it was cached.

        A :meth:`get_or_generate` under way stores content that never matches (issue 11).
        """
        policy = self.get_policy(content_type)
        key = self.cache_key(content_type, content_id, headers)
        removed = self.swr.invalidate(key, policy.timeout, policy.stale_while_revalidate)
        if removed:
            self.stats.record_delete()
        return removed

    @property
    def swr(self) -> StaleWhileRevalidateCache:
        """The stale-while-revalidate reader behind :meth:`get_or_generate`."""
        if self._swr is None:
            self._swr = StaleWhileRevalidateCache(
                self.cache, tag_manager=self.tags, stats=self.stats, clock=self.clock
            )
        return self._swr

    def get_or_generate(
        self,
        content_type: str,
        content_id: str | int,
        generator: Callable[[], Any],
        *,
        extra_tags: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, bool]:
        """Return ``(content, is_stale)``: cached, stale-and-refreshing, or generated now.

        Stale content is served only within the policy's ``stale_while_revalidate``.
        """
        policy = self.get_policy(content_type)
        return self.swr.get_with_swr(
            self.cache_key(content_type, content_id, headers),
            generator,
            policy.timeout,
            policy.stale_while_revalidate,
            tags=self._all_tags(policy, extra_tags),
        )

    async def aget_or_generate(
        self,
        content_type: str,
        content_id: str | int,
        generator: Callable[[], Any],
        *,
        extra_tags: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, bool]:
        """Async :meth:`get_or_generate`; ``generator`` may be async."""
        policy = self.get_policy(content_type)
        return await self.swr.aget_with_swr(
            self.cache_key(content_type, content_id, headers),
            generator,
            policy.timeout,
            policy.stale_while_revalidate,
            tags=self._all_tags(policy, extra_tags),
        )

    def close(self) -> None:
        """Stop the background refresh workers, if any were started."""
        if self._swr is not None:
            self._swr.close()
