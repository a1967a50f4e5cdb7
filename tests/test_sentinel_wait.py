"""Enqueues that wait for replicas (Redis ``WAIT``): the option, the wire, the error.

A master with one replica on unix sockets; the replica is frozen (SIGSTOP)
to make an acknowledgement impossible, so ``NotReplicated`` is certain.
"""
from __future__ import annotations

import asyncio
import os
import signal
from typing import Iterator

import pytest

from resque import ConfigurationError, RedisUnavailable, Registry, Resque
from resque.aio import Resque as AsyncResque
from resque.connection import connect, replica_wait
from resque.errors import NotReplicated
from tests.helpers import RedisServer, wait_for
from tests.monitor import Monitor


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[RedisServer, RedisServer]]:
    master = RedisServer("--repl-diskless-sync-delay", "0", aof=False, tcp=True).start()
    replica = RedisServer("--replicaof", "127.0.0.1", str(master.port), aof=False).start()
    wait_for(lambda: replica.raw().info("replication")["master_link_status"] == "up", timeout=20)
    assert master.raw().execute_command("WAIT", 1, 10000) == 1
    yield master, replica
    replica.cleanup()
    master.cleanup()


@pytest.fixture
def master(pair: tuple[RedisServer, RedisServer]) -> RedisServer:
    pair[0].raw().flushall()
    return pair[0]


class frozen:
    """SIGSTOP a server for the block: it acknowledges nothing."""

    def __init__(self, server: RedisServer):
        self.pid = server.proc.pid if server.proc else 0

    def __enter__(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def __exit__(self, *exc: object) -> None:
        os.kill(self.pid, signal.SIGCONT)


def test_option_comes_from_arguments_then_url_then_env(monkeypatch):
    monkeypatch.delenv("RESQUE_WAIT_REPLICAS", raising=False)
    monkeypatch.delenv("RESQUE_WAIT_TIMEOUT", raising=False)
    monkeypatch.delenv("RESQUE_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert replica_wait("redis://h:1/0") is None  # off by default
    assert replica_wait("redis://h:1/0?wait=1") == ("WAIT", 1, 1000)
    assert replica_wait("redis://u:p?w@h:1/0?db=2&wait=2&wait_timeout=250") == ("WAIT", 2, 250)
    assert replica_wait("redis://h:1/0?wait=2", 1, 50) == ("WAIT", 1, 50)
    monkeypatch.setenv("RESQUE_WAIT_REPLICAS", "1")
    monkeypatch.setenv("RESQUE_WAIT_TIMEOUT", "300")
    assert replica_wait("redis://h:1/0") == ("WAIT", 1, 300)
    assert replica_wait(object()) == ("WAIT", 1, 300)  # a client object: the env only
    assert replica_wait("redis://h:1/0?wait=0") is None  # the URL wins over the env
    monkeypatch.setenv("RESQUE_REDIS_URL", "redis://h:1/0?wait=2")
    assert replica_wait(None) == ("WAIT", 2, 300)


@pytest.mark.parametrize("bad", ["redis://h:1/0?wait=x", "redis://h:1/0?wait=-1",
                                 "redis://h:1/0?wait=1&wait_timeout=0",
                                 "redis://h:1/0?wait=1&wait_timeout=1.5"])
def test_bad_values_are_configuration_errors(bad):
    with pytest.raises(ConfigurationError, match="wait"):
        replica_wait(bad)


@pytest.mark.parametrize("url", [
    "unix://{sock}?db=0&wait=1&wait_timeout=500",
    "redis://127.0.0.1:{port}/0?wait=1",
    "redis+sentinel://127.0.0.1:1/svc?wait=1&namespace=x",
])
def test_the_url_options_never_reach_redis_py_or_the_sentinel_parser(master, url):
    conn = connect(url.format(sock=master.socket, port=master.port))
    assert "wait" not in str(conn.redis.connection_pool.connection_kwargs)
    assert "wait" not in conn.description


def test_wait_rides_after_exec_in_the_same_write_and_default_sends_none(master):
    url = f"unix://{master.socket}"
    with Monitor(str(master.socket)) as wire:
        Resque(url, registry=Registry()).enqueue_to("q", "A", 1)
        Resque(url, registry=Registry(), wait_replicas=1, wait_timeout=2000).enqueue_to("q", "A", 2)
        Resque(url + "?wait=1", registry=Registry()).enqueue_many("A", [[i] for i in range(2500)], "q")
    names = [n for n in wire.names() if n in ("MULTI", "SADD", "RPUSH", "EXEC", "WAIT")]
    assert names == ["MULTI", "SADD", "RPUSH", "EXEC",
                     "MULTI", "SADD", "RPUSH", "EXEC", "WAIT",
                     "MULTI", "SADD", "RPUSH", "RPUSH", "RPUSH", "EXEC", "WAIT"]
    waits = [w for w in wire.words() if w[0] == b"WAIT"]
    assert waits == [[b"WAIT", b"1", b"2000"], [b"WAIT", b"1", b"1000"]]
    assert master.raw().llen("resque:queue:q") == 2502


def test_enqueue_acknowledged_by_the_replica_returns_and_the_replica_has_it(pair, master):
    client = Resque(f"unix://{master.socket}?wait=1&wait_timeout=5000", registry=Registry())
    assert client.enqueue_to("q", "A", 1) is True
    assert client.enqueue_many("A", [[2], [3]], "q") == 2
    assert pair[1].raw().llen("resque:queue:q") == 3  # WAIT returned: the replica holds them


def test_too_few_replicas_raise_not_replicated_and_the_job_may_be_kept(pair, master):
    client = Resque(f"unix://{master.socket}", registry=Registry(), wait_replicas=1, wait_timeout=100)
    with frozen(pair[1]):
        with pytest.raises(NotReplicated, match="acknowledged by 0 of 1 replicas within 100 ms") as err:
            client.enqueue_to("q", "A", 1)
        with pytest.raises(NotReplicated):
            client.enqueue_many("A", [[2], [3]], "q")
    assert isinstance(err.value, RedisUnavailable)  # the family enqueuers retry on
    assert (err.value.acknowledged, err.value.wanted) == (0, 1)
    assert "may or may not be kept" in str(err.value)
    assert master.raw().llen("resque:queue:q") == 3  # written, not rolled back
    with pytest.raises(NotReplicated, match="1 of 2"):  # asking more replicas than exist
        Resque(f"unix://{master.socket}?wait=2&wait_timeout=50", registry=Registry()).enqueue_to("q", "A", 4)
    client.enqueue_to("q", "A", 5)  # the connection is still usable once the replica is back


def test_asyncio_client_waits_the_same_way(pair, master):
    url = f"unix://{master.socket}"

    async def scenario() -> None:
        async with AsyncResque(url, registry=Registry(), wait_replicas=1, wait_timeout=100) as c:
            await c.enqueue_to("q", "A", 1)
            await c.enqueue_many("A", [[2]], "q")
            with frozen(pair[1]):
                with pytest.raises(NotReplicated):
                    await c.enqueue_to("q", "A", 3)
                with pytest.raises(NotReplicated):
                    await c.enqueue_many("A", [[4]], "q")
            await c.enqueue_to("q", "A", 5)
        async with AsyncResque(url, registry=Registry()) as plain:
            await plain.enqueue_to("q", "A", 6)

    with Monitor(str(master.socket)) as wire:
        asyncio.run(scenario())
    assert wire.names().count("WAIT") == 5 and wire.names().count("EXEC") == 6
    assert master.raw().llen("resque:queue:q") == 6
