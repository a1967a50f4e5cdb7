"""Jobs for the worker-hardening tests: short ticks, and jobs that kill their worker.

Each job notes its run in the list ``hardening:log`` on the server named by
``RESQUE_REDIS_URL`` (a fresh connection per process, fork-safe).
"""
from __future__ import annotations

import os
import signal
import time

import redis

from resque.client import job

LOG = "hardening:log"
_conn: "redis.Redis[bytes] | None" = None
_pid = 0


def conn() -> "redis.Redis[bytes]":
    """A connection of this process to the test server."""
    global _conn, _pid
    if _conn is None or _pid != os.getpid():
        _conn, _pid = redis.Redis.from_url(os.environ["RESQUE_REDIS_URL"]), os.getpid()
    return _conn


def note(*items: object) -> None:
    conn().rpush(LOG, "|".join(str(i) for i in items))


@job(queue="storm", name="Hardening::Tick")
class Tick:
    """Sleep a little, then note the run."""

    @staticmethod
    def perform(tag: str, seconds: float = 0.002) -> None:
        time.sleep(seconds)
        note("tick", tag)


@job(queue="poison", name="Hardening::KillWorker")
class KillWorker:
    """Kill the worker that runs this job: the process itself, or a forked child's parent."""

    @staticmethod
    def perform(tag: str, how: str = "exit") -> None:
        note("poison", tag, os.getpid())
        if how == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif how == "parent":
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(0.5)
        else:
            os._exit(3)
