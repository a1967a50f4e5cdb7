"""Fixtures shared by tests/ and bench/: a private redis-server and both implementations."""
from __future__ import annotations

import importlib
import signal
from typing import Iterator

import pytest
import redis

from tests.helpers import RedisServer, extension_expected, worker_env


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(aof=False).start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def r(redis_server: RedisServer) -> Iterator["redis.Redis[bytes]"]:
    """A raw client on a freshly flushed test server."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def client(r: "redis.Redis[bytes]"):  # type: ignore[no-untyped-def]
    """A ``Resque`` client on the flushed test server, fresh registry."""
    from resque import Registry, Resque

    return Resque(r, registry=Registry())


@pytest.fixture(params=[pytest.param("cython", marks=pytest.mark.c_extension), "python"])
def impl(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Each implementation of the hot path: compiled and pure Python."""
    name = {"cython": "resque._speedups", "python": "resque._loop"}[request.param]
    try:
        return importlib.import_module(name)
    except ImportError:
        if extension_expected():
            raise  # Cython is here (or RESQUE_REQUIRE_EXTENSIONS is set): the build must have worked
        pytest.skip("resque._speedups not built (no Cython here)")


@pytest.fixture(params=["cython", "python"])
def env(request: pytest.FixtureRequest, redis_url: str) -> dict[str, str]:
    """The environment of a ``resque work`` subprocess, once per hot-loop twin."""
    return worker_env(redis_url, request.param)


@pytest.fixture
def saved_signals() -> Iterator[None]:
    """Restore the signal handlers a worker run in this process installs."""
    sigs = (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2,
            signal.SIGCONT)
    saved = {s: signal.getsignal(s) for s in sigs}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)
