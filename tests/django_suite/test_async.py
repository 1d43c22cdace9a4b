"""The async API (``aget``, ``aset``...) of ``cache.django.CacheBackend``, in Django's way.

Django 5.2's ``tests/cache/tests_async.py`` tests only the dummy backend (it
stores nothing), and ``BaseCacheTests`` calls no async method. So these are
``BaseCacheTests``' own tests, ported to the ``a*`` methods, run as Django
runs async tests (async methods of a ``SimpleTestCase``), on memory, Redis and
a Redis Cluster. On Redis and the cluster they also check that the engine's
sync methods are never called: the async API awaits the asyncio client.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from unittest import mock

from django.core.cache import CacheKeyWarning, cache, caches
from django.test import SimpleTestCase

from tests.django_suite import settings
from tests.django_suite.django_cache_tests.tests import (
    KEY_ERRORS_WITH_MEMCACHED_MSG,
    Unpicklable,
)

#: The engine's sync methods the async API must not call on a network engine.
SYNC = ("get", "set", "add", "delete", "touch", "incr", "has_key", "get_many", "set_many")


class _AsyncOnEngine(SimpleTestCase):
    __test__ = False
    engine: ClassVar[str]

    @classmethod
    def setUpClass(cls) -> None:
        cls._overridden_settings = {"CACHES": settings.caches(settings.LOCATIONS[cls.engine])}
        super().setUpClass()

    def tearDown(self) -> None:
        cache.clear()

    @contextmanager
    def no_sync_calls(self) -> Iterator[None]:
        """On Redis (and a cluster), fail if a sync engine method or a thread is used."""
        engine = cache.engine
        if self.engine == "memory":  # in memory the twins call the sync methods: no I/O
            yield
            return
        with (
            mock.patch.multiple(engine, **{name: mock.DEFAULT for name in SYNC}) as mocks,
            mock.patch("asyncio.to_thread") as to_thread,
        ):
            yield
        called = [name for name, m in mocks.items() if m.called]
        self.assertEqual(called, [], "sync engine methods called from the async API")
        self.assertFalse(to_thread.called, "the async API ran a call in a thread")

    async def test_simple(self) -> None:
        with self.no_sync_calls():
            await cache.aset("key", "value")
            self.assertEqual(await cache.aget("key"), "value")

    async def test_default_used_when_none_is_set(self) -> None:
        await cache.aset("key_default_none", None)
        self.assertIsNone(await cache.aget("key_default_none", default="default"))

    async def test_add(self) -> None:
        with self.no_sync_calls():
            self.assertIs(await cache.aadd("addkey1", "value"), True)
            self.assertIs(await cache.aadd("addkey1", "newvalue"), False)
            self.assertEqual(await cache.aget("addkey1"), "value")

    async def test_prefix(self) -> None:
        await cache.aset("somekey", "value")
        self.assertIs(await caches["prefix"].ahas_key("somekey"), False)
        await caches["prefix"].aset("somekey", "value2")
        self.assertEqual(await cache.aget("somekey"), "value")
        self.assertEqual(await caches["prefix"].aget("somekey"), "value2")

    async def test_non_existent(self) -> None:
        self.assertIsNone(await cache.aget("does_not_exist"))
        self.assertEqual(await cache.aget("does_not_exist", "bang!"), "bang!")

    async def test_get_many(self) -> None:
        with self.no_sync_calls():
            await cache.aset_many({"a": "a", "b": "b", "c": "c", "d": "d"})
            self.assertEqual(await cache.aget_many(["a", "c", "d"]), {"a": "a", "c": "c", "d": "d"})
            self.assertEqual(await cache.aget_many(["a", "b", "e"]), {"a": "a", "b": "b"})
            self.assertEqual(await cache.aget_many(iter(["a", "b", "e"])), {"a": "a", "b": "b"})
            await cache.aset_many({"x": None, "y": 1})
            self.assertEqual(await cache.aget_many(["x", "y"]), {"x": None, "y": 1})

    async def test_delete(self) -> None:
        with self.no_sync_calls():
            await cache.aset_many({"key1": "spam", "key2": "eggs"})
            self.assertIs(await cache.adelete("key1"), True)
            self.assertIsNone(await cache.aget("key1"))
            self.assertEqual(await cache.aget("key2"), "eggs")
            self.assertIs(await cache.adelete("nonexistent_key"), False)

    async def test_has_key(self) -> None:
        await cache.aset("hello1", "goodbye1")
        self.assertIs(await cache.ahas_key("hello1"), True)
        self.assertIs(await cache.ahas_key("goodbye1"), False)
        await cache.aset("no_expiry", "here", None)
        self.assertIs(await cache.ahas_key("no_expiry"), True)
        await cache.aset("null", None)
        self.assertIs(await cache.ahas_key("null"), True)

    async def test_incr_decr(self) -> None:
        with self.no_sync_calls():
            await cache.aset("answer", 41)
            self.assertEqual(await cache.aincr("answer"), 42)
            self.assertEqual(await cache.aincr("answer", 10), 52)
            self.assertEqual(await cache.adecr("answer", 10), 42)
            self.assertEqual(await cache.aget("answer"), 42)
            with self.assertRaises(ValueError):
                await cache.aincr("does_not_exist")
            with self.assertRaises(ValueError):
                await cache.adecr("does_not_exist")
        await cache.aset("null", None)
        with self.assertRaises(TypeError):
            await cache.aincr("null")

    async def test_data_types(self) -> None:
        stuff = {"string": "this is a string", "int": 42, "bool": True, "list": [1, 2, 3, 4]}
        stuff.update({"tuple": (1, 2, 3, 4), "dict": {"A": 1, "B": 2}, "bytes": b"\x00\xff"})
        await cache.aset("stuff", stuff)
        self.assertEqual(await cache.aget("stuff"), stuff)

    async def test_expiration_and_touch(self) -> None:
        with self.no_sync_calls():
            await cache.aset("expire1", "very quickly", 1)
            await cache.aset("expire2", "very quickly", 1)
            await cache.aset("expire3", "very quickly", 1)
            self.assertIs(await cache.atouch("expire3", timeout=10), True)
            await asyncio.sleep(1.5)
            self.assertIsNone(await cache.aget("expire1"))
            self.assertIs(await cache.aadd("expire2", "newvalue"), True)
            self.assertEqual(await cache.aget("expire2"), "newvalue")
            self.assertIs(await cache.ahas_key("expire3"), True)
            self.assertIs(await cache.atouch("nonexistent"), False)

    async def test_forever_and_zero_timeouts(self) -> None:
        await cache.aset("key1", "eggs", None)
        self.assertEqual(await cache.aget("key1"), "eggs")
        self.assertIs(await cache.aadd("key1", "new eggs", None), False)
        await cache.aset("key2", "eggs", 0)
        self.assertIsNone(await cache.aget("key2"))
        self.assertIs(await cache.aadd("key3", "ham", 0), True)
        self.assertIsNone(await cache.aget("key3"))
        await cache.aset_many({"key4": "sausage", "key5": "lobster bisque"}, 0)
        self.assertIsNone(await cache.aget("key4"))
        await cache.aset("key6", "belgian fries", timeout=5)
        self.assertIs(await cache.atouch("key6", timeout=0), True)
        self.assertIsNone(await cache.aget("key6"))

    async def test_set_many_and_delete_many(self) -> None:
        self.assertEqual(await cache.aset_many({"key1": "spam", "key2": "eggs"}), [])
        self.assertEqual(await cache.aset_many({}), [])
        await cache.aset("key3", "ham")
        await cache.adelete_many(["key1", "key2"])
        self.assertIsNone(await cache.aget("key1"))
        self.assertEqual(await cache.aget("key3"), "ham")
        self.assertIsNone(await cache.adelete_many([]))

    async def test_clear(self) -> None:
        await cache.aset_many({"key1": "spam", "key2": "eggs"})
        await cache.aclear()
        self.assertIsNone(await cache.aget("key1"))
        self.assertIsNone(await cache.aget("key2"))

    async def test_versioning(self) -> None:
        await cache.aset("answer", 42, version=2)
        self.assertIsNone(await cache.aget("answer"))
        self.assertEqual(await cache.aget("answer", version=2), 42)
        self.assertEqual(await cache.aincr_version("answer", version=2), 3)
        self.assertIsNone(await cache.aget("answer", version=2))
        self.assertEqual(await cache.aget("answer", version=3), 42)
        self.assertEqual(await cache.adecr_version("answer", version=3), 2)
        self.assertEqual(await caches["v2"].aget("answer"), 42)
        with self.assertRaises(ValueError):
            await cache.aincr_version("does_not_exist")

    async def test_custom_key_func(self) -> None:
        await cache.aset("answer1", 42)
        self.assertIsNone(await caches["custom_key"].aget("answer1"))
        await caches["custom_key"].aset("answer2", 42)
        self.assertIsNone(await cache.aget("answer2"))
        self.assertEqual(await caches["custom_key2"].aget("answer2"), 42)

    async def test_pickle_errors(self) -> None:
        with self.assertRaises(pickle.PickleError):
            await cache.aadd("unpicklable", Unpicklable())
        with self.assertRaises(pickle.PickleError):
            await cache.aset("unpicklable", Unpicklable())

    async def test_get_or_set(self) -> None:
        self.assertEqual(await cache.aget_or_set("projector", 42), 42)
        self.assertEqual(await cache.aget("projector"), 42)
        self.assertIsNone(await cache.aget_or_set("null", None))
        self.assertIsNone(await cache.aget("null", "default"))
        self.assertEqual(await cache.aget_or_set("mykey", lambda: "value"), "value")
        self.assertEqual(await cache.aget_or_set("brian", 1979, version=2), 1979)
        self.assertIsNone(await cache.aget("brian", version=1))

    async def test_invalid_key_characters_warn(self) -> None:
        key = "key with spaces and 清"

        def func(key: str, *args: Any) -> str:
            return key

        old_func = cache.key_func
        cache.key_func = func
        try:
            for operation, args in [
                ("aadd", [key, 1]),
                ("aget", [key]),
                ("aset", [key, 1]),
                ("aincr", [key]),
                ("adecr", [key]),
                ("atouch", [key]),
                ("adelete", [key]),
                ("aget_many", [[key, "b"]]),
                ("aset_many", [{key: 1, "b": 2}]),
                ("adelete_many", [[key, "b"]]),
            ]:
                with self.subTest(operation=operation), self.assertWarns(CacheKeyWarning) as cm:
                    await getattr(cache, operation)(*args)
                self.assertEqual(str(cm.warning), KEY_ERRORS_WITH_MEMCACHED_MSG % key)
        finally:
            cache.key_func = old_func


class AsyncMemoryCacheBackendTests(_AsyncOnEngine):
    __test__ = True
    engine = "memory"


class AsyncRedisCacheBackendTests(_AsyncOnEngine):
    __test__ = True
    engine = "redis"


class AsyncClusterCacheBackendTests(_AsyncOnEngine):
    __test__ = True
    engine = "cluster"
