"""cache.from_url: every scheme against a real engine, and bad URLs named precisely."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from cache import from_env, from_url
from cache.backend import CacheBackend, InMemoryCache, RedisCache
from cache.backend.config import CacheConfigError
from cache.backend.serializers import MsgpackSerializer
from cache.testing.redis_server import RedisClusterServers, RedisServer, free_port


def test_memory_url_with_options(open_url: Callable[[str], CacheBackend]) -> None:
    backend = open_url("memory://?max_entries=10000&default_timeout=60")
    assert isinstance(backend, InMemoryCache)
    assert backend.max_entries == 10_000 and backend.default_timeout == 60
    backend.set("k", "v")
    assert backend.get("k") == "v"
    assert isinstance(open_url("memory://"), InMemoryCache)
    assert open_url("memory://?default_timeout=none").default_timeout is None


def test_redis_url_with_options(
    redis_server: RedisServer, open_url: Callable[[str], CacheBackend]
) -> None:
    url = f"{redis_server.url}?namespace=app&default_timeout=30&strict=true&serializer=msgpack"
    backend = open_url(url)
    assert isinstance(backend, RedisCache)
    assert backend.namespace == "app" and backend.default_timeout == 30
    assert isinstance(backend.serializer, MsgpackSerializer)
    backend.set("k", {"a": 1})
    assert backend.get("k") == {"a": 1}
    other = open_url(redis_server.url.replace("/0", "/3"))
    assert other.get("k") is None  # another database
    backend.delete("k")


def test_valkey_scheme_is_an_alias(
    redis_server: RedisServer, open_url: Callable[[str], CacheBackend]
) -> None:
    backend = open_url(redis_server.url.replace("redis://", "valkey://"))
    backend.set("v", 1)
    assert backend.get("v") == 1
    backend.delete("v")


def test_cluster_url(
    redis_cluster: RedisClusterServers, open_url: Callable[[str], CacheBackend]
) -> None:
    backend = open_url(redis_cluster.url.replace("redis://", "redis+cluster://") + "?strict=1")
    assert isinstance(backend, RedisCache) and backend.cluster
    backend.set_many({f"k{i}": i for i in range(20)})  # keys in every slot range
    assert backend.get_many([f"k{i}" for i in range(20)]) == {f"k{i}": i for i in range(20)}
    backend.delete_many([f"k{i}" for i in range(20)])


def test_unix_socket_url(tmp_path: Path, open_url: Callable[[str], CacheBackend]) -> None:
    socket = tmp_path / "redis.sock"
    server = RedisServer(tmp_path, None, "--unixsocket", str(socket), "--unixsocketperm", "700")
    server.start()
    try:
        backend = open_url(f"unix://{socket}?db=2&namespace=u&strict=true")
        backend.set("k", "over a socket")
        assert backend.get("k") == "over a socket"
        backend.close()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A redis-server speaking TLS only, with a certificate from a throwaway CA."""
    workdir = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(workdir / "ca.pem"))
    cert.private_key_pem.write_to_path(str(workdir / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(workdir / "cert.pem"))
    port = free_port()
    server = RedisServer(  # TLS on ``port``; the plain port answers start()'s PING
        workdir,
        None,
        *("--tls-port", str(port)),
        *("--tls-cert-file", str(workdir / "cert.pem"), "--tls-key-file", str(workdir / "key.pem")),
        *("--tls-ca-cert-file", str(workdir / "ca.pem"), "--tls-auth-clients", "no"),
    )
    server.start()
    yield port, workdir / "ca.pem"
    server.stop()


def test_rediss_url_speaks_tls(
    tls_server: tuple[int, Path], open_url: Callable[[str], CacheBackend]
) -> None:
    port, ca = tls_server
    backend = open_url(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}&strict=true")
    backend.set("secret", "over TLS")
    assert backend.get("secret") == "over TLS"
    backend.close()


def test_cache_url_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_URL", "memory://?max_entries=7")
    backend = from_env()
    assert isinstance(backend, InMemoryCache) and backend.max_entries == 7
    monkeypatch.delenv("CACHE_URL")
    assert isinstance(from_env("memory://?max_entries=9"), InMemoryCache)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("localhost:6379", "has no scheme"),
        ("mongodb://h/0", "unknown scheme 'mongodb'"),
        ("memory://?max_entries=lots", "option max_entries='lots' must be an integer"),
        ("memory://?max_entries=-5", "option max_entries='-5' must not be negative"),
        ("memory://?max_entrys=5", "unknown option 'max_entrys' for memory://"),
        ("memory://somehost", "memory:// takes no host or path"),
        ("redis://", "redis:// needs a host"),
        ("redis://h:port/0", "the port in 'h:port' is not a number"),
        ("redis://h:6379/zero", "the database in 'redis://h:6379/zero' must be a number"),
        ("redis://h/0?strict=maybe", "option strict='maybe' must be true or false"),
        ("redis://h/0?serializer=pickle", "serializer='pickle' is not json, msgpack or typed"),
        ("redis://h/0?timeout=5", "unknown option 'timeout' for redis://"),
        ("redis://h/0?namespace=a&namespace=b", "option 'namespace' is given twice"),
        ("redis+cluster://h:7000/3", "database 0 only"),
        ("unix://", "unix:// needs a socket path"),
        ("redis://h/0?novalue", "not name=value pairs"),
    ],
)
def test_bad_urls_name_the_bad_part(url: str, message: str) -> None:
    with pytest.raises(CacheConfigError, match=message.replace("?", r"\?").replace("+", r"\+")):
        from_url(url)


def test_memory_url_bounds_bytes(open_url: Callable[[str], CacheBackend]) -> None:
    backend = open_url("memory://?max_bytes=1000")
    assert isinstance(backend, InMemoryCache) and backend.max_bytes == 1_000
    backend.set("k", "v")
    assert backend.info()["bytes"] > 0
    with pytest.raises(CacheConfigError, match="max_bytes='0' must be positive"):
        from_url("memory://?max_bytes=0")
    with pytest.raises(CacheConfigError, match="max_bytes='1kB' must be an integer"):
        from_url("memory://?max_bytes=1kB")
