"""Jobs used by the worker tests; they report what they saw into Redis."""
from __future__ import annotations

import os
import signal
import time

import redis

import resque
from resque.client import job

_conn: "redis.Redis[bytes] | None" = None


def conn() -> "redis.Redis[bytes]":
    """A connection to the test server named by RESQUE_REDIS_URL (fork-safe)."""
    global _conn
    if _conn is None:
        _conn = redis.Redis.from_url(os.environ.get("RESQUE_TEST_URL") or os.environ["RESQUE_REDIS_URL"])
    return _conn


def note(*items: object) -> None:
    conn().rpush("test:log", "|".join(str(i) for i in items))


@job(queue="high", name="Record")
class Record:
    @staticmethod
    def perform(*args: object) -> None:
        note("record", *args)


@job(queue="high", name="Mail::Deliver")
class Deliver:
    @classmethod
    def perform(cls, to: str) -> None:
        note("deliver", to)


@job(queue="high", name="Boom")
class Boom:
    @staticmethod
    def perform(message: str) -> None:
        raise ValueError(message)

    @staticmethod
    def on_failure_note(exc: BaseException, message: str) -> None:
        note("on_failure", type(exc).__name__, message)


@job(queue="high", name="Sleepy")
class Sleepy:
    @staticmethod
    def perform(seconds: float, tag: str = "") -> None:
        note("start", tag, os.getpid())
        try:
            time.sleep(seconds)
        except resque.TermException:
            note("term", tag)
            raise
        note("end", tag)


@job(queue="high", name="Suicide")
class Suicide:
    @staticmethod
    def perform(how: str) -> None:
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(int(how))


@job(queue="high", name="WorkerState")
class WorkerState:
    @staticmethod
    def perform(worker_key: str) -> None:
        conn().set("test:seen", conn().get(worker_key) or b"")
        conn().set("test:title", resque._compat.get_title())


@job(queue="high", name="Skip")
class Skip:
    @staticmethod
    def before_perform(x: int) -> None:
        raise resque.DontPerform()

    @staticmethod
    def perform(x: int) -> None:
        note("should-not-run", x)


@job(queue="fn")
def add(a: int, b: int) -> None:
    note("add", a + b)


@job(queue="high", name="Chain")
class Chain:
    @staticmethod
    def perform(tag: str) -> None:
        resque.enqueue_to("low", "Record", tag)  # on the default client: the worker's own
