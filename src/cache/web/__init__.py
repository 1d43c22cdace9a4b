"""HTTP response caching: the ASGI middleware, and the dashboard and metrics apps.

``Dashboard`` needs the ``web`` extra (Starlette) and ``MetricsEndpoint`` the
``prometheus`` extra; both are imported on first use. The Django adapter is
``cache.web.django.CacheMiddleware``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cache.web.asgi import CacheMiddleware, Route
from cache.web.stored import Captured

if TYPE_CHECKING:
    from cache.web.dashboard import Dashboard
    from cache.web.metrics import MetricsEndpoint

__all__ = ["CacheMiddleware", "Captured", "Dashboard", "MetricsEndpoint", "Route"]

_OPTIONAL = {
    "Dashboard": ("cache.web.dashboard", "web"),
    "MetricsEndpoint": ("cache.web.metrics", "prometheus"),
}


def __getattr__(name: str) -> Any:
    # The apps need their extras' packages: imported when asked for, so that
    # the middleware alone stays light.
    if name not in _OPTIONAL:
        raise AttributeError(f"module 'cache.web' has no attribute {name!r}")
    module, extra = _OPTIONAL[name]
    import importlib  # noqa: PLC0415

    try:
        value = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ImportError(f"{name} needs the {extra} extra: pip install 'cache[{extra}]'") from exc
    return value
