"""Jobs, an enqueuer process and a restartable Redis for the chaos tests.

Each ``Chaos::Mark`` job counts its run in the hash ``chaos:seen`` (field =
job id), so a test can tell jobs that ran once, twice or never. The job's
own connection never retries: a lost reply fails the job (a failure
record) instead of counting a run twice.

Run ``python -m tests.chaos_jobs enqueue FIRST COUNT QUEUE...`` to enqueue
ids FIRST..FIRST+COUNT-1 round-robin over the queues with the library's
default client; it retries a failed enqueue until it is acknowledged and
prints a JSON report (ids whose enqueue saw a connection error may have
been pushed twice).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from resque.client import job

SEEN = "chaos:seen"
HUNG = "chaos:hung"
_conn: "redis.Redis[bytes] | None" = None


def conn() -> "redis.Redis[bytes]":
    """A connection without retries to the server named by RESQUE_REDIS_URL."""
    global _conn
    if _conn is None:
        _conn = redis.Redis.from_url(os.environ["RESQUE_REDIS_URL"], retry=None)
    return _conn


@job(queue="chaos_a", name="Chaos::Mark")
class Mark:
    """Record one run of job ``jid``; ``fail`` jobs raise after recording."""

    @staticmethod
    def perform(jid: int, mode: str = "") -> None:
        if mode == "slow":
            time.sleep(0.02)
        conn().hincrby(SEEN, str(jid), 1)
        if mode == "fail":
            raise RuntimeError(f"chaos job {jid} fails on purpose")


@job(queue="hang", name="Chaos::Hang")
class Hang:
    """Note the process that runs it, then hang (bounded at 10 minutes)."""

    @staticmethod
    def perform(tag: str) -> None:
        conn().rpush(HUNG, f"{tag}|{os.getpid()}")
        time.sleep(600)


def mode_of(jid: int) -> str:
    """Return the mode of job ``jid``: a few fail, a few are slow."""
    if jid % 97 == 0:
        return "fail"
    if jid % 13 == 0:
        return "slow"
    return ""


class _RetryCounter:
    """Count redis-py's internal retries (each may have re-sent a command)."""

    failures = 0

    @classmethod
    def install(cls) -> None:
        from redis.retry import Retry

        original = Retry.call_with_retry

        def counting(self: Any, do: Any, fail: Any, *args: Any, **kwargs: Any) -> Any:
            def counted_fail(error: Exception, *rest: Any) -> Any:
                cls.failures += 1
                return fail(error, *rest)

            return original(self, do, counted_fail, *args, **kwargs)

        Retry.call_with_retry = counting  # type: ignore[method-assign]


def enqueue_main(first: int, count: int, queues: list[str]) -> dict[str, Any]:
    """Enqueue ids ``first``..``first+count-1``; retry each until acknowledged."""
    import orjson

    from resque import Resque

    _RetryCounter.install()
    client = Resque()
    errors = 0
    uncertain: list[int] = []
    deadline = time.monotonic() + float(os.environ.get("CHAOS_ENQUEUE_DEADLINE", "300"))
    pause = float(os.environ.get("CHAOS_ENQUEUE_PAUSE", "0"))  # seconds between enqueues
    for jid in range(first, first + count):
        queue = queues[jid % len(queues)]
        delay = 0.05
        before = _RetryCounter.failures
        failed = False
        while True:
            try:
                client.enqueue_to(queue, "Chaos::Mark", jid, mode_of(jid))
                break
            except Exception as exc:  # noqa: BLE001 - any error: back off and retry
                errors += 1
                failed = True
                if time.monotonic() > deadline:
                    raise SystemExit(f"enqueue of {jid} still failing at the deadline: {exc}")
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        if failed or _RetryCounter.failures != before:
            uncertain.append(jid)
        if pause:
            time.sleep(pause)
    report = {"first": first, "count": count, "errors": errors,
              "retries": _RetryCounter.failures, "uncertain": uncertain}
    sys.stdout.write(orjson.dumps(report).decode() + "\n")
    return report


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChaosServer:
    """A private redis-server the tests may restart, pause, or fill up.

    It listens on a unix socket in its own dir (and on a loopback TCP port
    when ``tcp`` is set), with AOF on by default so a restart keeps every
    acknowledged write.
    """

    def __init__(self, *extra: str, aof: bool = True, tcp: bool = False,
                 password: str | None = None, username: str | None = None):
        from resque.embedded import find_redis_server

        binary = find_redis_server()
        if binary is None:
            raise RuntimeError("no redis-server binary: install redis-server")
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="resque-chaos-"))
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

    def start(self) -> "ChaosServer":
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
        raise RuntimeError("chaos redis-server did not start")

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


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[1] != "enqueue":
        raise SystemExit("usage: python -m tests.chaos_jobs enqueue FIRST COUNT QUEUE...")
    enqueue_main(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
