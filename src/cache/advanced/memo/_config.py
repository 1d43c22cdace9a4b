"""The options of ``@cached``, checked when it decorates a function, and its argument keys."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from cache._clock import Clock
from cache._types import Duration
from cache.advanced.memo._keys import READABLE_LIMIT, SIMPLE, encode, template_names
from cache.backend.base import CacheBackend
from cache.backend.validation import MAX_KEY_LENGTH, check_seconds
from cache.errors import CacheTypeError

__all__ = ["Config", "Options"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Options:
    """The arguments of ``cached(...)``, as given (see :func:`~cache.cached`)."""

    timeout: Duration
    key: str | None
    tags: Iterable[str]
    stale_while_revalidate: Duration
    cache: CacheBackend | None
    prefix: str | None
    clock: Clock | None
    store_if: Callable[[Any], bool] | None


def _check_types(func: object, options: Options) -> None:
    if not callable(func):
        raise CacheTypeError(f"@cached needs a function, got {type(func).__name__}")
    cache = options.cache
    if cache is not None and not isinstance(cache, CacheBackend):
        raise CacheTypeError(f"cache must be a CacheBackend, got {type(cache).__name__}")
    store_if = options.store_if
    if store_if is not None and not callable(store_if):
        raise CacheTypeError(f"store_if must be callable, got {type(store_if).__name__}")


def _check_templates(
    func: Callable[..., Any], signature: inspect.Signature, key: str | None, tags: Iterable[str]
) -> None:
    """Refuse a ``key=`` or ``tags=`` template naming what is not an argument."""
    names = set(signature.parameters)
    for template, what in [(key, "key"), *((t, "tag") for t in tags)]:
        if template is None:
            continue
        unknown = template_names(template, what) - names
        if unknown:
            raise CacheTypeError(
                f"{what} {template!r} names {sorted(unknown)}, which are not arguments "
                f"of {func.__qualname__}{signature}"
            )


class Config(Generic[P, R]):
    """A function's checked ``@cached`` options, and how its arguments become keys."""

    def __init__(self, func: Callable[P, R], options: Options, skip: int | None) -> None:
        _check_types(func, options)
        self.store_if = options.store_if
        self.func = func
        self.timeout = check_seconds(options.timeout, "timeout", allow_zero=False)
        self.stale_while_revalidate = check_seconds(
            options.stale_while_revalidate, "stale_while_revalidate", allow_zero=True
        )
        self.cache = options.cache
        tags = options.tags
        self.tags = tuple(tags) if not isinstance(tags, str) else (tags,)
        self.key_template = options.key
        self.is_async = inspect.iscoroutinefunction(func)
        self._signature = inspect.signature(func)
        _check_templates(func, self._signature, self.key_template, self.tags)
        params = list(self._signature.parameters.values())
        self._names = [p.name for p in params]
        if skip is None:  # a method's self stays out of the key; a classmethod's cls does not
            skip = 1 if params and self._names[0] == "self" else 0
        self.skip = skip
        #: Positional calls map straight to parameters (no *args, no keyword-only).
        self._plain_signature = {p.kind for p in params} <= {
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        }
        self._defaults = tuple(p.default for p in params)
        self._required = sum(1 for p in params if p.default is inspect.Parameter.empty)
        self._prefix = options.prefix or f"{func.__module__}.{func.__qualname__}"
        #: No tags, no SWR: a plain get, then a fill on a miss.
        self.plain = not self.tags and not self.stale_while_revalidate
        #: A call of every parameter by position, all of simple types, has a hit
        #: path that builds its key inline (see ``_function.py``).
        self.fast = self.plain and self.key_template is None and self._plain_signature
        self.arg_count = len(self._names)
        self.key_head = f"{self._prefix}:"
        self.readable_max = len(self.key_head) + READABLE_LIMIT

    def _values(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Return every parameter's value in order, defaults applied."""
        n = len(args)
        if not kwargs and self._plain_signature and self._required <= n <= len(self._names):
            return args + self._defaults[n:]
        bound = self._signature.bind(*args, **kwargs)  # a TypeError for a bad call, as Python's
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        return dict(zip(self._names, self._values(args, kwargs), strict=True))

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Return the key a call with these arguments is stored under."""
        if self.key_template is not None:
            return self.key_template.format_map(self._arguments(args, kwargs))
        values = self._values(args, kwargs)[self.skip :]
        for value in values:
            if type(value) not in SIMPLE:
                break
        else:
            # Unambiguous for these types: a str's repr quotes (and escapes) its commas.
            text = ", ".join(map(repr, values))
            if len(text) <= READABLE_LIMIT:
                return f"{self._prefix}:{text}"
            return f"{self._prefix}:#{hashlib.sha256(text.encode()).hexdigest()}"
        try:
            text = json.dumps(values, default=encode, sort_keys=True, separators=(",", ":"))
        except TypeError as exc:
            raise CacheTypeError(
                f"an argument of {self.func.__qualname__} is a {exc}, which has no stable key: "
                f"give @cached a key template naming what identifies it, e.g. key='{{user.id}}'"
            ) from None
        if len(text) + len(self._prefix) >= MAX_KEY_LENGTH or len(text) > READABLE_LIMIT:
            return f"{self._prefix}:#{hashlib.sha256(text.encode()).hexdigest()}"
        return f"{self._prefix}:{text}"

    def tag_names(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
        """Return the tags of a call with these arguments (its templates filled in)."""
        if not self.tags:
            return []
        arguments = self._arguments(args, kwargs)
        return [tag.format_map(arguments) for tag in self.tags]

    def __repr__(self) -> str:
        return f"<cached {self._prefix} timeout={self.timeout:g}>"
