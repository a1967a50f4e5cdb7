"""Redis Sentinel: ``redis+sentinel://`` URLs into sentinel-managed clients.

``redis+sentinel://[user:password@]host:port[,host:port...]/service[/db][?options]``
names the sentinels to ask, the monitored service and the db. The client is
redis-py's ``Sentinel.master_for``: every new connection asks the sentinels
for the current master, and a connection that finds its server demoted to a
replica (READONLY) is closed and raises ``ConnectionError``, so a retried or
repeated command reaches the new master. ``rediss+sentinel://`` turns TLS on
for the Redis servers and the sentinels alike.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import MasterNotFoundError as AsyncMasterNotFoundError
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool

from .errors import ConfigurationError

SCHEMES = ("redis+sentinel://", "rediss+sentinel://")
_TRUE = {"1", "true", "yes", "on"}
_FLOATS = ("socket_timeout", "socket_connect_timeout")
_TLS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")
_SENTINEL_DEFAULTS: dict[str, Any] = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
MASTER_CHECK_INTERVAL = 0.5


class _Throttled:
    """When to ask the sentinels again: at most every ``MASTER_CHECK_INTERVAL``."""

    _next_check = 0.0

    def _check_due(self) -> bool:
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + MASTER_CHECK_INTERVAL
        return True


class CheckedSentinelPool(_Throttled, SentinelConnectionPool):
    """A sentinel pool that asks the sentinels for the master at most twice a second.

    redis-py asks only when it opens a connection, so a long-lived
    connection keeps writing to a master that a ``SENTINEL FAILOVER`` has
    replaced until the sentinels demote it (up to their 10 s INFO period);
    Redis then drops those writes. Asking again every half second and closing
    connections to the old master shortens that window to about half a second.
    """

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        self.master_changed()
        return super().get_connection(*args, **kwargs)

    def master_changed(self) -> bool:
        """Ask the sentinels (at most twice a second); tell whether the master moved.

        On a move redis-py closes the idle connections; one in use is
        closed when it comes back to the pool.
        """
        if not self._check_due():
            return False
        known = self.master_address
        try:
            address = self.get_master_address()  # type: ignore[no-untyped-call]
        except MasterNotFoundError:
            return False  # no sentinel answers: keep what we have
        return known is not None and address != known


class AsyncCheckedSentinelPool(_Throttled, AsyncSentinelPool):
    """The asyncio twin of ``CheckedSentinelPool``: the same half-second check, awaited.

    Asking the sentinels is awaited on the event loop (never a blocking
    call); idle connections to a replaced master are closed at once, one
    in use when it comes back to the pool.
    """

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        await self.master_changed()
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]

    async def release(self, connection: Any) -> None:
        # redis-py's asyncio owns_connection calls a method its base lacks: compare here.
        if self.master_address is not None and (connection.host, connection.port) != self.master_address:
            await connection.disconnect()
        await super().release(connection)

    async def master_changed(self) -> bool:
        """Ask the sentinels (at most twice a second); tell whether the master moved."""
        if not self._check_due():
            return False
        known = self.master_address
        try:
            address = await self.get_master_address()  # type: ignore[no-untyped-call]
        except AsyncMasterNotFoundError:
            return False  # no sentinel answers: keep what we have
        return known is not None and address != known


@dataclass
class SentinelURL:
    """The parts of a ``redis+sentinel://`` URL, secrets kept out of ``str``."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    namespace: str | None = None
    redis_kwargs: dict[str, Any] = field(default_factory=dict)
    sentinel_kwargs: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return describe_parts(self.sentinels, self.service, self.db,
                              bool(self.redis_kwargs.get("ssl")))


def describe_parts(sentinels: list[tuple[str, int]], service: str, db: int, tls: bool) -> str:
    """Return the display form of a sentinel setup (never a password)."""
    hosts = ",".join(f"{h}:{p}" for h, p in sentinels)
    return f"{'rediss' if tls else 'redis'}+sentinel://{hosts}/{service}/{db}"


def _hosts(netloc: str, url: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for item in netloc.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep:
            host, port = item.strip(), "26379"
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise ConfigurationError(f"bad sentinel address {item!r} in {url!r} (use host:port)")
        found.append((host, int(port)))
    return found


def _bool(value: str) -> bool:
    return value.strip().lower() in _TRUE


def parse(url: str) -> SentinelURL:
    """Split a sentinel URL into sentinels, service, db and options."""
    tls = url.startswith("rediss+")
    parts = urlsplit(url)
    userinfo, _, netloc = parts.netloc.rpartition("@")
    shown = f"{url.split('://')[0]}://{netloc}{parts.path}"
    segments = [s for s in parts.path.split("/") if s]
    if not netloc or not segments or len(segments) > 2:
        raise ConfigurationError(
            f"bad sentinel URL {shown!r}: use redis+sentinel://host:port[,host:port]/service[/db]")
    if len(segments) == 2 and not segments[1].isdigit():
        raise ConfigurationError(f"bad sentinel URL {shown!r}: db {segments[1]!r} is not a number")
    config = SentinelURL(_hosts(netloc, shown), unquote(segments[0]),
                         int(segments[1]) if len(segments) == 2 else 0)
    if userinfo:
        user, _, password = userinfo.partition(":")
        config.redis_kwargs.update(username=unquote(user) or None, password=unquote(password) or None)
    _options(config, parse_qsl(parts.query, keep_blank_values=True), tls, shown)
    return config


def _options(config: SentinelURL, query: list[tuple[str, str]], tls: bool, shown: str) -> None:
    """Apply the query options to the Redis and sentinel connection settings."""
    r, s = config.redis_kwargs, config.sentinel_kwargs
    if tls:
        r["ssl"] = s["ssl"] = True
    for name, value in query:
        if name == "namespace":
            config.namespace = value or None
        elif name == "ssl":
            r["ssl"] = _bool(value)
        elif name == "sentinel_ssl":
            s["ssl"] = _bool(value)
        elif name in ("sentinel_password", "sentinel_username"):
            s[name.removeprefix("sentinel_")] = value
        elif name in _TLS:
            r[name] = s[name] = value
        elif name in _FLOATS or name.removeprefix("sentinel_") in _FLOATS:
            try:
                number = float(value)
            except ValueError:
                raise ConfigurationError(f"bad sentinel URL {shown!r}: {name}={value!r} is not a number") \
                    from None
            (s if name.startswith("sentinel_") else r)[name.removeprefix("sentinel_")] = number
        else:
            raise ConfigurationError(f"bad sentinel URL {shown!r}: unknown option {name!r}")


def client(config: SentinelURL, options: dict[str, Any], factory: Any = redis.Redis) -> Any:
    """Return a master client for the service, managed by the sentinels.

    ``factory`` is ``redis.Redis`` or ``redis.asyncio.Redis``. A sentinel
    that does not answer is skipped at once (no retry, short timeouts):
    asking the next one is the retry.
    """
    asyncio = issubclass(factory, redis.asyncio.Redis)
    retry = AsyncRetry(NoBackoff(), 0) if asyncio else Retry(NoBackoff(), 0)
    sentinel_kwargs = {**_SENTINEL_DEFAULTS, "retry": retry, **config.sentinel_kwargs}
    manager: Any = (AsyncSentinel if asyncio else Sentinel)(config.sentinels, sentinel_kwargs=sentinel_kwargs)
    kwargs = {**options, **config.redis_kwargs, "db": config.db}
    kwargs["connection_pool_class"] = AsyncCheckedSentinelPool if asyncio else CheckedSentinelPool
    return manager.master_for(config.service, redis_class=factory, **kwargs)


def is_managed(pool: Any) -> TypeGuard[SentinelConnectionPool]:
    """Tell whether a (blocking) connection pool is a sentinel-managed one."""
    return isinstance(pool, SentinelConnectionPool)


def is_managed_any(pool: Any) -> bool:
    """Tell whether a blocking or asyncio pool is a sentinel-managed one."""
    return isinstance(pool, (SentinelConnectionPool, AsyncSentinelPool))


def clone(pool: SentinelConnectionPool, kwargs: dict[str, Any]) -> redis.Redis:
    """Return a client with a new pool that still asks the same sentinels."""
    kwargs = {k: v for k, v in kwargs.items() if k != "connection_pool"}
    return redis.Redis(connection_pool=type(pool)(
        pool.service_name, pool.sentinel_manager, connection_class=pool.connection_class,
        is_master=pool.is_master, check_connection=pool.check_connection, **kwargs))


def describe(pool: Any) -> str:
    """Return the display form of a sentinel-managed pool."""
    hosts = []
    for node in pool.sentinel_manager.sentinels:
        kw = node.connection_pool.connection_kwargs
        hosts.append((str(kw.get("host", "localhost")), int(kw.get("port", 26379))))
    tls = "ssl" in pool.connection_class.__name__.lower()
    return describe_parts(hosts, pool.service_name, int(pool.connection_kwargs.get("db", 0)), tls)
