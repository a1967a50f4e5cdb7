"""Resolve the asyncio client's connection from the same sources as the sync one."""
from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import redis
import redis.asyncio

from ..connection import Connection, describe, resolve
from ..errors import ConfigurationError
from ..keys import DEFAULT_NAMESPACE


@dataclass(frozen=True)
class AsyncConnection:
    """A ``redis.asyncio`` client, the namespace to use on it, and how it was found."""

    redis: "redis.asyncio.Redis"
    namespace: str
    description: str
    embedded: bool = False


async def connect(
    source: "str | redis.asyncio.Redis | AsyncConnection | None" = None,
    namespace: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> AsyncConnection:
    """Resolve a connection as ``resque.connection.connect`` does, for asyncio.

    URLs, Ruby's ``host:port:db/namespace``, ``"embedded"``,
    ``RESQUE_REDIS_URL``/``REDIS_URL`` and the embedded default all work.
    The source is resolved in a worker thread: starting the embedded
    server blocks, and must not block the event loop.
    """
    if isinstance(source, AsyncConnection):
        return source if namespace is None else AsyncConnection(
            source.redis, namespace, source.description, source.embedded)
    if isinstance(source, redis.asyncio.Redis):
        return AsyncConnection(source, namespace or DEFAULT_NAMESPACE, describe(source))  # type: ignore[arg-type]
    if isinstance(source, (redis.Redis, Connection)):
        raise ConfigurationError(
            "the asyncio client needs a URL, a redis.asyncio.Redis or nothing, not a sync client")
    client, ns, description, embedded = await asyncio.to_thread(
        resolve, source, namespace, data_dir, redis.asyncio.Redis)
    return AsyncConnection(client, ns, description, embedded)
