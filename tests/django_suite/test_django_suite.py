"""Django's own ``BaseCacheTests`` against ``cache.django.CacheBackend``: memory, Redis, cluster.

As Django runs them against its own backends (``LocMemCacheTests``,
``RedisCacheTests`` in ``tests/cache/tests.py``): one subclass per engine,
with the suite's ``CACHES`` pointed at the backend (``settings.caches``). The exclusions are listed
in this folder's README.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import connection
from django.test import TestCase

from tests.django_suite import settings
from tests.django_suite.django_cache_tests.models import Poll
from tests.django_suite.django_cache_tests.tests import BaseCacheTests


def _create_tables() -> None:
    """Create the test app's table in the in-memory database (no test runner does it here)."""
    if Poll._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(Poll)


class _OnEngine(BaseCacheTests, TestCase):  # type: ignore[misc]
    """BaseCacheTests with CACHES on ``cache.django.CacheBackend`` over ``engine``."""

    __test__ = False
    engine: ClassVar[str]

    @classmethod
    def setUpClass(cls) -> None:
        cls._overridden_settings = {
            "CACHES": settings.caches(settings.LOCATIONS[cls.engine]),
            "INSTALLED_APPS": [settings.APP],
            "USE_TZ": False,  # as in Django's test settings (tests/test_sqlite.py)
        }
        _create_tables()
        super().setUpClass()


class MemoryCacheBackendTests(_OnEngine):
    __test__ = True
    engine = "memory"


class RedisCacheBackendTests(_OnEngine):
    __test__ = True
    engine = "redis"


class ClusterCacheBackendTests(_OnEngine):
    __test__ = True
    engine = "cluster"
