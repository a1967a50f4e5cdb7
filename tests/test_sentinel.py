"""Sentinel URLs: parsing, display without secrets, clones that stay managed."""
from __future__ import annotations

import os
import time

import pytest
import redis
from click.testing import CliRunner
from redis.sentinel import SentinelConnectionPool

from resque import ConfigurationError, Registry, Resque
from resque.cli import main
from resque.connection import clone_client, connect
from resque.sentinel import MASTER_CHECK_INTERVAL, parse
from tests.helpers import wait_for
from tests.sentinel_cluster import SentinelCluster


@pytest.fixture(scope="module")
def cluster():
    c = SentinelCluster()
    yield c
    c.cleanup()


def test_url_names_sentinels_service_db_and_namespace():
    c = parse("redis+sentinel://app:s3cret@10.0.0.1:26379,sentinel-b:26380,[::1]:26381/mymaster/2"
              "?namespace=billing&sentinel_password=sp&socket_timeout=1.5")
    assert c.sentinels == [("10.0.0.1", 26379), ("sentinel-b", 26380), ("::1", 26381)]
    assert (c.service, c.db, c.namespace) == ("mymaster", 2, "billing")
    assert c.redis_kwargs == {"username": "app", "password": "s3cret", "socket_timeout": 1.5}
    assert c.sentinel_kwargs == {"password": "sp"}
    assert "s3cret" not in str(c) and "sp" not in str(c).split("//")[1].split("/")[0]


def test_sentinel_port_defaults_to_26379_and_tls_scheme_sets_ssl_on_both_sides():
    c = parse("rediss+sentinel://s1,s2/mymaster?ssl_ca_certs=/ca.pem&sentinel_ssl=false")
    assert c.sentinels == [("s1", 26379), ("s2", 26379)]
    assert c.redis_kwargs == {"ssl": True, "ssl_ca_certs": "/ca.pem"}
    assert c.sentinel_kwargs == {"ssl": False, "ssl_ca_certs": "/ca.pem"}
    assert str(c) == "rediss+sentinel://s1:26379,s2:26379/mymaster/0"


@pytest.mark.parametrize("bad", [
    "redis+sentinel://h:1",  # no service
    "redis+sentinel:///svc",  # no sentinel
    "redis+sentinel://h:x/svc",  # port not a number
    "redis+sentinel://h:1/svc/notadb",
    "redis+sentinel://h:1/svc/0/extra",
    "redis+sentinel://h:1/svc?frobnicate=1",
    "redis+sentinel://h:1/svc?socket_timeout=soon",
])
def test_bad_sentinel_urls_raise_configuration_error_without_secrets(bad):
    with pytest.raises(ConfigurationError) as err:
        connect(bad.replace("://", "://u:pw@"))
    assert "pw" not in str(err.value)


def test_connection_is_sentinel_managed_and_shows_no_password():
    conn = connect("redis+sentinel://:hunter2@127.0.0.1:1,127.0.0.1:2/svc/3?sentinel_password=hunter3"
                   "&namespace=app")
    assert isinstance(conn.redis.connection_pool, SentinelConnectionPool)
    assert conn.namespace == "app"
    assert conn.description == "redis+sentinel://127.0.0.1:1,127.0.0.1:2/svc/3"
    client = Resque(conn.redis, registry=Registry())
    assert "hunter" not in client.redis_id
    assert client.redis_id == "redis+sentinel://127.0.0.1:1,127.0.0.1:2/svc/3/resque"
    assert connect("redis+sentinel://127.0.0.1:1/svc/0?namespace=x", namespace="y").namespace == "y"


def test_clone_keeps_sentinel_management_and_its_settings():
    conn = connect("redis+sentinel://:pw@127.0.0.1:1/svc/4?socket_timeout=3")
    hot = clone_client(conn.redis, retries=0)
    pool = hot.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool is not conn.redis.connection_pool
    assert pool.sentinel_manager is conn.redis.connection_pool.sentinel_manager
    kw = pool.connection_kwargs
    assert (kw["db"], kw["password"], kw["socket_timeout"]) == (4, "pw", 3.0)
    assert kw["retry"].get_retries() == 0
    assert kw["connection_pool"] is pool.proxy  # the clone's connections ask its own proxy


def test_client_talks_to_the_master_and_follows_a_failover(cluster):
    client = Resque(cluster.url, "sent", registry=Registry())
    client.redis.delete("sent:queue:q")
    client.enqueue_to("q", "A", 1)
    hot = clone_client(client.redis, retries=0)
    assert hot.ping()
    port = cluster.master_port()
    assert client.redis.connection_pool.get_master_address()[1] == port
    cluster.sync()
    cluster.failover()
    client.enqueue_to("q", "A", 2)  # the old connection meets READONLY, reconnects, retries
    try:
        hot.rpush("sent:queue:q", b"{}")
    except redis.exceptions.ConnectionError:  # no retries: the next call asks the sentinels again
        hot.rpush("sent:queue:q", b"{}")
    assert cluster.master().raw().llen("sent:queue:q") == 3
    assert cluster.master_port() != port


def test_forked_child_uses_its_own_sentinel_connections(cluster):
    client = Resque(cluster.url, "fork", registry=Registry())
    client.redis.set("fork:x", "parent")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            client.redis.set("fork:x", "child")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert client.redis.get("fork:x") == b"child"


def test_cli_and_env_take_a_sentinel_url(cluster, monkeypatch):
    client = Resque(cluster.url, registry=Registry())
    client.redis.delete("resque:queues", "resque:queue:envq")
    client.enqueue_to("envq", "A")
    out = CliRunner().invoke(main, ["-r", cluster.url, "queues"])
    assert out.exit_code == 0, out.output
    assert "envq" in out.output
    monkeypatch.setenv("RESQUE_REDIS_URL", f"{cluster.url}?namespace=resque")
    out = CliRunner().invoke(main, ["info"])
    assert out.exit_code == 0, out.output
    assert "redis+sentinel://127.0.0.1:" in out.output and "pending      1" in out.output


def test_asyncio_client_takes_a_sentinel_url_and_follows_a_failover(cluster):
    import asyncio

    from redis.asyncio.sentinel import SentinelConnectionPool as AsyncPool

    from resque.aio import Resque as AsyncResque

    async def scenario() -> list[int]:
        client = AsyncResque(cluster.url, "aio", registry=Registry())
        await client.connect()
        try:
            assert isinstance(client.redis.connection_pool, AsyncPool)
            assert client.redis_id.startswith("redis+sentinel://127.0.0.1:")
            await client.redis.delete("aio:queue:q")
            await client.enqueue_to("q", "A", 1)
            await asyncio.to_thread(cluster.sync)
            await asyncio.to_thread(cluster.failover)
            await client.enqueue_to("q", "A", 2)
            return [await client.redis.llen("aio:queue:q")]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [2]
    assert cluster.master().raw().llen("aio:queue:q") == 2


def test_pooled_connections_leave_a_replaced_master_before_the_sentinels_demote_it(cluster):
    client = Resque(cluster.url, "moved", registry=Registry())
    client.redis.delete("moved:x")
    client.redis.rpush("moved:x", 1)
    cluster.sync()  # this test is about the switch, not about asynchronous replication
    old = cluster.master_port()
    wait_for(cluster._try_failover, timeout=30, step=0.2)  # SENTINEL FAILOVER, once it is accepted
    cluster._wait_new_master(old)  # the sentinels name the new master; the old one still accepts writes
    time.sleep(MASTER_CHECK_INTERVAL)
    client.redis.rpush("moved:x", 2)
    assert b"2" in cluster.master().raw().lrange("moved:x", 0, -1)  # written to the new master
    wait_for(cluster._ready, timeout=30, step=0.1)


def test_a_retried_enqueue_reaches_the_new_master_not_the_demoted_one(cluster):
    client = Resque(cluster.url, "retry", registry=Registry())
    client.redis.delete("retry:queue:q")
    client.enqueue_to("q", "A", 1)  # a pooled connection to the current master
    client.redis.connection_pool._next_check = float("inf")  # as if checked a moment ago
    old = cluster.master()
    cluster.sync()
    wait_for(cluster._try_failover, timeout=30, step=0.2)  # SENTINEL FAILOVER, once it is accepted
    cluster._wait_new_master(old.port)
    old.raw().replicaof("127.0.0.1", cluster.master_port())  # demoted, our connection kept
    client.enqueue_to("q", "A", 2)  # READONLY, then a retry that must ask the sentinels
    assert cluster.master().raw().llen("retry:queue:q") == 2
    wait_for(cluster._ready, timeout=30, step=0.1)


def test_asyncio_pool_leaves_a_replaced_master_before_the_sentinels_demote_it(cluster):
    import asyncio

    from resque.aio import Resque as AsyncResque
    from resque.sentinel import AsyncCheckedSentinelPool

    async def scenario() -> None:
        async with AsyncResque(cluster.url, "amoved", registry=Registry()) as client:
            assert isinstance(client.redis.connection_pool, AsyncCheckedSentinelPool)
            await client.redis.delete("amoved:x")
            await client.redis.rpush("amoved:x", 1)  # an idle pooled connection to the master
            await asyncio.to_thread(cluster.sync)
            old = await asyncio.to_thread(cluster.master_port)
            await asyncio.to_thread(wait_for, cluster._try_failover, 30, 0.2)
            await asyncio.to_thread(cluster._wait_new_master, old)  # the old one still takes writes
            await asyncio.sleep(MASTER_CHECK_INTERVAL)
            await client.redis.rpush("amoved:x", 2)
            await client.enqueue_to("q", "A", 3)  # the store's own path too
            assert (await client.redis.connection_pool.get_master_address())[1] != old

    asyncio.run(scenario())
    new = cluster.master().raw()
    assert b"2" in new.lrange("amoved:x", 0, -1) and new.llen("amoved:queue:q") == 1
    wait_for(cluster._ready, timeout=30, step=0.1)
