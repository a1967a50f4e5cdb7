"""Turn a URL, a Ruby-style ``host:port:db/namespace`` or a client into a connection."""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from . import sentinel
from .embedded import EmbeddedServer, default_data_dir
from .errors import ConfigurationError
from .keys import DEFAULT_NAMESPACE

EMBEDDED = "embedded"
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
_SECRET_PARAM = re.compile(r"(?i)([?&]password=)[^&#]*")
_URL_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class Connection:
    """A Redis client, the namespace to use on it, and how it was found."""

    redis: redis.Redis
    namespace: str
    description: str
    embedded: bool = False


def _client_options(tcp: bool = True) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
        "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
        "health_check_interval": 30,
    }
    if tcp:
        opts["socket_keepalive"] = True
    return opts


def _redact(url: str) -> str:
    """Drop the user name and password from a URL, even a malformed one."""
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub(r"\1", url))


def _from_url(url: str) -> redis.Redis:
    try:
        return redis.Redis.from_url(url, **_client_options(not url.startswith("unix://")))
    except ValueError as exc:
        raise ConfigurationError(f"bad Redis URL {_redact(url)!r}: {exc}") from None


def _from_ruby_form(text: str) -> tuple[redis.Redis, str | None, str]:
    """Parse ``host:port:db/namespace`` as Ruby's ``Resque.redis=`` does."""
    server, _, ns = text.partition("/")
    host, _, rest = server.partition(":")
    port_s, _, db_s = rest.partition(":")
    try:
        port = int(port_s) if port_s else 6379
        db = int(db_s) if db_s else 0
    except ValueError:
        raise ConfigurationError(f"bad Redis address {text!r}: port and db must be numbers") from None
    client = redis.Redis(host=host or "localhost", port=port, db=db, **_client_options())
    return client, (ns or None), f"redis://{host or 'localhost'}:{port}/{db}"


def _from_sentinel_url(url: str) -> tuple[redis.Redis, str | None, str]:
    config = sentinel.parse(url)
    return sentinel.client(config, _client_options()), config.namespace, str(config)


def clone_client(client: redis.Redis, retries: int | None = None) -> redis.Redis:
    """Return a client with its own pool on the same server (optionally no retries).

    A sentinel-managed client's clone asks the same sentinels, so it
    follows a failover too.
    """
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    if retries is not None:
        kwargs["retry"] = Retry(ExponentialBackoff(), retries)
        kwargs.pop("retry_on_error", None)
    if sentinel.is_managed(pool):
        return sentinel.clone(pool, kwargs)
    return redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=pool.connection_class, **kwargs))


def describe(client: redis.Redis) -> str:
    """Return a display string for a client, without its password."""
    if sentinel.is_managed(client.connection_pool):
        return sentinel.describe(client.connection_pool)
    kw = client.connection_pool.connection_kwargs
    if "path" in kw:
        return f"unix://{kw['path']}?db={kw.get('db', 0)}"
    scheme = "rediss" if "ssl" in str(client.connection_pool.connection_class).lower() else "redis"
    return f"{scheme}://{kw.get('host', 'localhost')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


def connect(
    source: "str | redis.Redis | Connection | None" = None,
    namespace: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> Connection:
    """Resolve a connection: explicit source, then env, then the embedded server.

    ``source`` may be a ``redis://``, ``rediss://``, ``unix://`` or
    ``redis+sentinel://`` URL,
    Ruby's ``host:port[:db][/namespace]``, ``"embedded"``, a ``redis.Redis``
    or a ``Connection``. ``RESQUE_REDIS_URL`` then ``REDIS_URL`` are read
    only when no source is given. An explicit ``namespace`` wins.
    """
    if isinstance(source, Connection):
        return source if namespace is None else Connection(
            source.redis, namespace, source.description, source.embedded)
    if isinstance(source, redis.Redis):
        return Connection(source, namespace or DEFAULT_NAMESPACE, describe(source))
    if source is None:
        source = os.environ.get("RESQUE_REDIS_URL") or os.environ.get("REDIS_URL") or None
    if source is None or source == EMBEDDED:
        server = EmbeddedServer(Path(data_dir) if data_dir else default_data_dir())
        url = server.ensure()
        server.announce(sys.stderr)
        return Connection(_from_url(url), namespace or DEFAULT_NAMESPACE, url, embedded=True)
    if not isinstance(source, str) or not source.strip():
        raise ConfigurationError(f"cannot connect to Redis from {source!r}")
    source = source.strip()
    if source.startswith(sentinel.SCHEMES):
        client, ns, desc = _from_sentinel_url(source)
        return Connection(client, namespace or ns or DEFAULT_NAMESPACE, desc)
    if source.startswith(_URL_SCHEMES):
        return Connection(_from_url(source), namespace or DEFAULT_NAMESPACE, _redact(source))
    if "://" in source:
        raise ConfigurationError(
            f"unsupported Redis URL scheme in {_redact(source)!r} (use redis://, rediss://, unix:// or redis+sentinel://)")
    client, ns, desc = _from_ruby_form(source)
    return Connection(client, namespace or ns or DEFAULT_NAMESPACE, desc)
