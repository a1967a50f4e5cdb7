"""Small helpers shared by the process-level tests."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import importlib.util

import redis

from resque import _accel
from resque._flags import flag
from resque.embedded import find_redis_server


def extension_expected() -> bool:
    """Say whether ``resque._speedups`` must be built here.

    Yes when ``RESQUE_REQUIRE_EXTENSIONS`` is set (CI and the Makefile set
    it), or when Cython is importable on CPython and ``RESQUE_NO_EXTENSIONS``
    is unset: a failed build then fails the tests instead of skipping them.
    """
    if flag("RESQUE_REQUIRE_EXTENSIONS"):
        return True
    return not _accel.NO_EXTENSIONS and importlib.util.find_spec("Cython") is not None


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {predicate}")


ROOT = Path(__file__).resolve().parent.parent
_WORKER_VARS = ("QUEUE", "QUEUES", "TERM_CHILD", "INTERVAL", "FORK_PER_JOB", "BACKGROUND", "PIDFILE",
                "RESQUE_NO_EXTENSIONS", "RESQUE_ORPHAN_LIMIT", "RESQUE_JOB_TIMEOUT", "FAILURE_BACKEND")


def worker_env(redis_url: str, implementation: str = "") -> dict[str, str]:
    """Environment for a ``resque work`` subprocess on ``redis_url``, Ruby's variables unset.

    ``implementation`` ``"python"`` forces the pure hot loop.
    """
    env = {k: v for k, v in os.environ.items() if k not in _WORKER_VARS}
    env.update(RESQUE_REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    if implementation == "python":
        env["RESQUE_NO_EXTENSIONS"] = "1"
    return env


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A private redis-server (never port 6379) the tests may restart, pause, or fill up.

    It listens on a unix socket in its own dir (and on a loopback TCP port
    when ``tcp`` is set), with AOF on by default so a restart keeps every
    acknowledged write.
    """

    def __init__(self, *extra: str, aof: bool = True, tcp: bool = False,
                 password: str | None = None, username: str | None = None):
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError("no redis-server binary: install redis-server")
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="resque-test-"))
        self.socket = self.dir / "redis.sock"
        self.port = free_port() if tcp else 0
        self.extra = extra
        self.aof = aof
        self.password = password
        self.username = username
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def raw(self) -> "redis.Redis[bytes]":
        """A plain client on the unix socket, with the admin credentials."""
        return redis.Redis(unix_socket_path=str(self.socket), password=self.password,
                           username=self.username)

    def start(self) -> "RedisServer":
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--unixsocket", str(self.socket), "--dir", str(self.dir), "--save", "",
                "--appendonly", "yes" if self.aof else "no", "--appendfsync", "everysec",
                *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.raw().ping():
                    return self
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                time.sleep(0.02)
        raise RuntimeError("test redis-server did not start")

    def stop(self) -> None:
        """Shut down gracefully (SIGTERM: Redis flushes its AOF first)."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(30)

    def restart(self, down: float = 0.0) -> None:
        """Stop, stay down for ``down`` seconds, start again on the same dir."""
        self.stop()
        time.sleep(down)
        self.start()

    def pause(self, seconds: float) -> None:
        """Freeze the server (SIGSTOP) so it answers nothing for ``seconds``."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
