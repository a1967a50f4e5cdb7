"""Connection sources: URLs, Ruby's host:port:db/namespace, clients, env."""
from __future__ import annotations

import pytest
import redis

from resque import ConfigurationError, Registry, Resque
from resque.connection import connect


def test_ruby_string_forms():
    c = connect("example.org:6380:2/myapp")
    kw = c.redis.connection_pool.connection_kwargs
    assert (kw["host"], kw["port"], kw["db"], c.namespace) == ("example.org", 6380, 2, "myapp")
    c = connect("localhost:6379")
    assert c.namespace == "resque"
    assert connect("localhost:6379/x", namespace="y").namespace == "y"


def test_urls_and_namespace_default():
    c = connect("redis://:secret@example.org:6390/3")
    kw = c.redis.connection_pool.connection_kwargs
    assert (kw["port"], kw["db"], c.namespace) == (6390, 3, "resque")
    assert "secret" not in c.description
    assert connect("rediss://example.org:6390/0").redis.connection_pool.connection_kwargs["host"] == "example.org"


@pytest.mark.parametrize("bad", ["http://x", "localhost:notaport", "   "])
def test_bad_sources_raise_configuration_error(bad):
    with pytest.raises(ConfigurationError):
        connect(bad)


def test_env_urls_are_read_in_order(monkeypatch, redis_url, r):
    monkeypatch.setenv("REDIS_URL", "redis://nowhere.invalid:1/0")
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    c = Resque(registry=Registry())
    c.enqueue_to("q", "A")
    assert r.llen("resque:queue:q") == 1


def test_existing_client_is_used_as_is(r):
    c = Resque(r, "ns", registry=Registry())
    assert c.redis is r and c.namespace == "ns"
    assert isinstance(c.redis, redis.Redis)


def test_unix_url(redis_url, r):
    c = Resque(redis_url, registry=Registry())
    c.enqueue_to("q", "A")
    assert r.llen("resque:queue:q") == 1


def test_new_connections_reuse_redis_pys_driver_info_resolved_once(redis_url, monkeypatch):
    """redis-py reads its package metadata per connection unless given driver info."""
    import redis.utils

    calls = []
    real = redis.utils.get_lib_version
    monkeypatch.setattr(redis.utils, "get_lib_version", lambda: calls.append(1) or real())
    client = connect(redis_url).redis
    client.connection_pool.disconnect()
    for _ in range(3):
        conn = client.connection_pool.make_connection()
        conn.connect()
        conn.disconnect()
    assert client.ping() and calls == []
    redis.Redis.from_url(redis_url).connection_pool.make_connection()
    assert calls  # what a plain client pays per connection
