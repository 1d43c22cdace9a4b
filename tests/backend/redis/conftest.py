"""The engine tests run on each server program: Redis, then Valkey (issue 16)."""

from tests.server_kinds import new_server, redis_cluster, redis_server, server_binary, server_kind

__all__ = ["new_server", "redis_cluster", "redis_server", "server_binary", "server_kind"]
