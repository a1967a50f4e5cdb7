"""Turn a URL, a Ruby-style ``host:port:db/namespace`` or a client into a connection."""
from __future__ import annotations

import functools

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from . import sentinel
from .embedded import EmbeddedServer, default_data_dir
from .errors import ConfigurationError
from .keys import DEFAULT_NAMESPACE

EMBEDDED = "embedded"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_QUOTED = re.compile(r"'([^']*)'")
# Query parameters shown as they are; every other parameter's value is hidden.
_SHOWN_PARAMS = frozenset({
    "db", "protocol", "client_name", "encoding", "decode_responses", "max_connections",
    "health_check_interval", "retry_on_timeout", "socket_timeout", "socket_connect_timeout",
    "socket_keepalive", "ssl_cert_reqs", "ssl_check_hostname", "ssl_ca_certs", "ssl_ca_path",
    "ssl_certfile", "ssl_keyfile", "timeout", "wait", "wait_timeout",
})
_URL_SCHEMES = ("redis://", "rediss://", "unix://")
# Our own URL options, taken out before redis-py or the sentinel parser sees the URL.
_WAIT_PARAMS = ("wait", "wait_timeout")
DEFAULT_WAIT_TIMEOUT = 1000  # milliseconds


@dataclass(frozen=True)
class Connection:
    """A Redis client, the namespace to use on it, and how it was found."""

    redis: redis.Redis
    namespace: str
    description: str
    embedded: bool = False


@functools.lru_cache(maxsize=None)
def driver_info() -> dict[str, Any]:
    """redis-py's client name and version for CLIENT SETINFO, resolved once per process.

    redis-py 7+ otherwise reads its own package metadata (``importlib.metadata``,
    about a millisecond, more on a cold disk) for every new connection, which
    a forked job that connects pays each time.
    """
    try:
        from redis.driver_info import resolve_driver_info
    except ImportError:  # redis-py < 7 resolves its version once, at import
        return {}
    return {"driver_info": resolve_driver_info()}


def _client_options(tcp: bool = True, factory: Any = redis.Redis) -> dict[str, Any]:
    retry = AsyncRetry if issubclass(factory, redis.asyncio.Redis) else Retry
    opts: dict[str, Any] = {
        "retry": retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
        "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
        "health_check_interval": 30,
        **driver_info(),
    }
    if tcp:
        opts["socket_keepalive"] = True
    return opts


def _split_secrets(url: str) -> tuple[str, list[str]]:
    """Return ``url`` without credentials, and the credential texts taken out.

    The user info runs to the *last* ``@`` (a password may hold an unencoded
    ``/``, ``?``, ``#`` or ``@``); a query parameter's value is kept only for
    the harmless names in ``_SHOWN_PARAMS``. Works on malformed URLs too.
    """
    m = _SCHEME.match(url)
    scheme, rest = (m.group(0), url[m.end():]) if m else ("", url)
    taken: list[str] = []
    if "@" in rest:
        cut = rest.rindex("@")
        taken.append(rest[:cut])
        rest = rest[cut + 1:]
    path, sep, params = rest.partition("?")
    if not sep:
        return scheme + rest, taken
    kept = []
    for part in params.split("&"):
        name, eq, value = part.partition("=")
        if eq and name.lower() in _SHOWN_PARAMS and re.fullmatch(r"[\w./:-]*", value):
            kept.append(part)
        elif value or not eq:
            taken.append(value if eq else part)
            kept.append(f"{name}=***" if eq and re.fullmatch(r"\w+", name) else "***")
        else:
            kept.append(part)
    return f"{scheme}{path}?{'&'.join(kept)}", [t for t in taken if t]


def _take_wait(url: str) -> tuple[str, dict[str, str]]:
    """Return ``url`` without ``wait``/``wait_timeout``, and their values."""
    m = _SCHEME.match(url)
    if not m or "?" not in url:
        return url, {}
    head, _, params = url.rpartition("@")
    path, sep, query = params.partition("?")
    if not sep:
        return url, {}
    kept, taken = [], {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name in _WAIT_PARAMS:
            taken[name] = value
        else:
            kept.append(part)
    rest = f"{path}?{'&'.join(kept)}" if kept else path
    return (f"{head}@{rest}" if head else rest), taken


def _count(name: str, value: str | int, least: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name}={value!r} is not a whole number") from None
    if number < least:
        raise ConfigurationError(f"{name}={number} must be at least {least}")
    return number


def replica_wait(source: object = None,
                 replicas: int | None = None, timeout: int | None = None) -> tuple[str, int, int] | None:
    """Return the ``WAIT`` command enqueues send after their transaction, or None (off).

    ``replicas`` and ``timeout`` (milliseconds) come from the arguments,
    else from the URL's ``?wait=N&wait_timeout=MS`` (``source``, or the
    env URL when ``source`` is None; a client object has no URL), else from
    ``RESQUE_WAIT_REPLICAS``/``RESQUE_WAIT_TIMEOUT``; a timeout defaults to
    1000 ms. Zero replicas, the default, is off.
    """
    if source is None:
        source = os.environ.get("RESQUE_REDIS_URL") or os.environ.get("REDIS_URL") or None
    url = _take_wait(source.strip())[1] if isinstance(source, str) else {}
    given: str | int = replicas if replicas is not None else (
        url.get("wait") or os.environ.get("RESQUE_WAIT_REPLICAS") or 0)
    limit: str | int = timeout if timeout is not None else (
        url.get("wait_timeout") or os.environ.get("RESQUE_WAIT_TIMEOUT") or DEFAULT_WAIT_TIMEOUT)
    count, ms = _count("wait", given, 0), _count("wait_timeout", limit, 1)
    return ("WAIT", count, ms) if count else None


def redact(url: str) -> str:
    """Drop user names, passwords and credential parameters from a URL."""
    return _split_secrets(url)[0]


def redact_message(message: str, url: str) -> str:
    """Hide in ``message`` any credential of ``url`` or quoted piece of one."""
    secrets = _split_secrets(url)[1]
    for secret in secrets:
        message = message.replace(secret, "***")
    return _QUOTED.sub(lambda m: "'***'" if m.group(1) and any(
        m.group(1) in s for s in secrets) else m.group(0), message)


def _from_url(url: str, factory: Any = redis.Redis) -> Any:
    try:
        return factory.from_url(url, **_client_options(not url.startswith("unix://"), factory))
    except ValueError as exc:
        raise ConfigurationError(
            f"bad Redis URL {redact(url)!r}: {redact_message(str(exc), url)}") from None


def _from_ruby_form(text: str, factory: Any = redis.Redis) -> tuple[Any, str | None, str]:
    """Parse ``host:port:db/namespace`` as Ruby's ``Resque.redis=`` does."""
    server, _, ns = text.partition("/")
    host, _, rest = server.partition(":")
    port_s, _, db_s = rest.partition(":")
    try:
        port = int(port_s) if port_s else 6379
        db = int(db_s) if db_s else 0
    except ValueError:
        raise ConfigurationError(
            f"bad Redis address {redact(text)!r}: port and db must be numbers") from None
    client = factory(host=host or "localhost", port=port, db=db, **_client_options(True, factory))
    return client, (ns or None), f"redis://{host or 'localhost'}:{port}/{db}"


def _from_sentinel_url(url: str, factory: Any = redis.Redis) -> tuple[Any, str | None, str]:
    config = sentinel.parse(url)
    return sentinel.client(config, _client_options(True, factory), factory), config.namespace, str(config)


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
    if sentinel.is_managed_any(client.connection_pool):
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
    return Connection(*resolve(source, namespace, data_dir))


def resolve(source: str | None, namespace: str | None = None,
            data_dir: str | os.PathLike[str] | None = None,
            factory: Any = redis.Redis) -> tuple[Any, str, str, bool]:
    """Build a ``factory`` client from a source given as text, the env or nothing.

    Return ``(client, namespace, description, embedded)``. ``factory`` is
    ``redis.Redis`` or ``redis.asyncio.Redis``; both get the same options.
    Starting the embedded server blocks: an event loop calls this in a thread.
    """
    if source is None:
        source = os.environ.get("RESQUE_REDIS_URL") or os.environ.get("REDIS_URL") or None
    if source is None or source == EMBEDDED:
        server = EmbeddedServer(Path(data_dir) if data_dir else default_data_dir())
        url = server.ensure()
        server.announce(sys.stderr)
        return _from_url(url, factory), namespace or DEFAULT_NAMESPACE, url, True
    if not isinstance(source, str) or not source.strip():
        raise ConfigurationError(f"cannot connect to Redis from {source!r}")
    source = _take_wait(source.strip())[0]
    if source.startswith(sentinel.SCHEMES):
        client, ns, desc = _from_sentinel_url(source, factory)
        return client, namespace or ns or DEFAULT_NAMESPACE, desc, False
    if source.startswith(_URL_SCHEMES):
        return _from_url(source, factory), namespace or DEFAULT_NAMESPACE, redact(source), False
    if "://" in source:
        raise ConfigurationError(
            f"unsupported Redis URL scheme in {redact(source)!r} (use redis://, rediss://, unix:// or redis+sentinel://)")
    client, ns, desc = _from_ruby_form(source, factory)
    return client, namespace or ns or DEFAULT_NAMESPACE, desc, False
