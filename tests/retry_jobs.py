"""Jobs with retries, locks and time limits for the plugin tests.

They live in their own registry (``REGISTRY``) so the tests choose which
client runs them; each counts its runs in Redis (``runs:<tag>``), so
forked children and subprocess workers report what they did.
"""
from __future__ import annotations

import os
import signal
import time

import redis

from resque import Registry
from resque.client import job
from resque.plugins import ExponentialBackoff, Lock, Retry, RetryMixin

REGISTRY = Registry()
_conn: "redis.Redis[bytes] | None" = None


def conn() -> "redis.Redis[bytes]":
    """A connection to the test server named by RESQUE_REDIS_URL (fork-safe)."""
    global _conn
    if _conn is None or _conn.connection_pool.pid != os.getpid():
        _conn = redis.Redis.from_url(os.environ["RESQUE_REDIS_URL"])
    return _conn


def count_run(tag: str) -> int:
    """Count one run of ``tag``; return how many runs so far."""
    return int(conn().incr(f"runs:{tag}"))


def runs(tag: str) -> int:
    return int(conn().get(f"runs:{tag}") or 0)


class Flaky(Exception):
    """A failure worth retrying."""


class Broken(Exception):
    """A failure never worth retrying."""


@job(queue="retry_q", name="RetryJob", registry=REGISTRY, retry=Retry(limit=2, delay=5))
def retry_job(*args: object) -> None:
    count_run("RetryJob")
    raise ArgumentError(f"boom {list(args)!r}")


class ArgumentError(Exception):
    """Ruby's name for the error the reference's RetryJob raises."""


@job(queue="retry0_q", name="RetryNow", registry=REGISTRY, retry=Retry(limit=3))
def retry_now(tag: str, fail_times: int) -> None:
    """Fail the first ``fail_times`` runs of ``tag``, then succeed."""
    if count_run(tag) <= fail_times:
        raise Flaky(f"{tag} fails this time")


@job(queue="retry0_q", name="RetryForever", registry=REGISTRY, retry=Retry(limit=-1))
def retry_forever(tag: str) -> None:
    count_run(tag)
    raise Flaky("again")


@job(queue="retry0_q", name="NeverRetry", registry=REGISTRY, retry=Retry(limit=0))
def never_retry(tag: str) -> None:
    count_run(tag)
    raise Flaky("once only")


@job(queue="retry0_q", name="Picky", registry=REGISTRY,
     retry=Retry(limit=5, exceptions=(Flaky, TimeoutError), ignore=(TimeoutError,),
                 retry_if=lambda exc, tag, kind: kind == "checked"))
def picky(tag: str, kind: str) -> None:
    """Raise what ``kind`` says: flaky, broken, checked (broken, but a check retries it), ignored."""
    n = count_run(tag)
    if n > 3:
        return
    if kind == "flaky":
        raise Flaky(tag)
    if kind == "ignored":
        raise TimeoutError(tag)
    raise Broken(tag)


@job(queue="retry0_q", name="NotFatal", registry=REGISTRY, retry=Retry(limit=2, fatal=(Broken,)))
def not_fatal(tag: str, kind: str) -> None:
    count_run(tag)
    raise Broken(tag) if kind == "broken" else Flaky(tag)


@job(queue="retry0_q", name="DiesOnce", registry=REGISTRY, retry=Retry(limit=2))
def dies_once(tag: str) -> None:
    """Kill its own process (SIGKILL) on the first run; succeed on the next."""
    if count_run(tag) == 1:
        os.kill(os.getpid(), signal.SIGKILL)


@job(queue="retry0_q", name="Backoff", registry=REGISTRY, retry=ExponentialBackoff())
def backoff(tag: str) -> None:
    count_run(tag)
    raise Flaky(tag)


class Ruby(RetryMixin):
    """A class job configured by resque-retry's class attributes."""

    queue = "retry0_q"
    retry_limit = 2
    retry_delay = 0
    retry_exceptions = [Flaky]

    @classmethod
    def retry_queue(cls, exc: BaseException, *args: object) -> str:
        return "retry_side_q"

    @staticmethod
    def perform(tag: str) -> None:
        count_run(tag)
        raise Flaky(tag)


job(name="Ruby::Mixin", registry=REGISTRY)(Ruby)


@job(queue="lock_q", name="Locked", registry=REGISTRY, lock=Lock(on_locked="requeue", requeue_delay=1))
def locked(tag: str, seconds: float = 0.0) -> None:
    """Note an overlap if another copy runs; sleep ``seconds``."""
    r = conn()
    if not r.set(f"inside:{tag}", os.getpid(), nx=True):
        r.incr(f"overlaps:{tag}")
    try:
        count_run(tag)
        time.sleep(seconds)
    finally:
        r.delete(f"inside:{tag}")


@job(queue="lock_q", name="Waiting", registry=REGISTRY, lock=Lock(on_locked="wait", wait=20))
def waiting(tag: str, seconds: float = 0.0) -> None:
    locked(tag, seconds)


@job(queue="lock_q", name="Dropping", registry=REGISTRY, lock=Lock(on_locked="drop"))
def dropping(tag: str) -> None:
    count_run(tag)


@job(queue="lock_q", name="Unique", registry=REGISTRY, lock=Lock(queued=True))
def unique(tag: str, die: bool = False) -> None:
    count_run(tag)
    if die:
        os.kill(os.getpid(), signal.SIGKILL)
    if tag.startswith("fail"):
        raise Broken(tag)


@job(queue="slow_q", name="Sleepy", registry=REGISTRY, timeout=0.5)
def sleepy(tag: str, seconds: float) -> None:
    """Sleep (interruptibly) for ``seconds``; note the limit record while running."""
    count_run(tag)
    r = conn()
    for key in r.scan_iter("resque:timeout:*"):
        r.rpush(f"limit:{tag}", r.get(key) or b"")
    time.sleep(seconds)
    r.rpush(f"done:{tag}", 1)


@job(queue="slow_q", name="Stubborn", registry=REGISTRY, timeout=0.3)
def stubborn(tag: str) -> None:
    """Swallow the timeout and keep going: only a kill stops it."""
    count_run(tag)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except BaseException:  # noqa: BLE001 - on purpose: a job that ignores its limit
            pass


class Slow:
    """A class job with a time limit of its own."""

    queue = "slow_q"
    job_timeout = 0.4

    @staticmethod
    def perform(tag: str, seconds: float) -> None:
        count_run(tag)
        time.sleep(seconds)


job(name="Slow", registry=REGISTRY)(Slow)


@job(queue="slow_q", name="Unlimited", registry=REGISTRY, timeout=0)
def unlimited(tag: str, seconds: float) -> None:
    count_run(tag)
    time.sleep(seconds)


@job(queue="slow_q", name="SlowRetry", registry=REGISTRY, timeout=0.4, retry=Retry(limit=2))
def slow_retry(tag: str) -> None:
    """Hang on the first run (past its limit), return at once on the next."""
    if count_run(tag) == 1:
        time.sleep(30)


@job(queue="slow_q", name="SlowLocked", registry=REGISTRY, timeout=0.3, lock=Lock(ttl=600))
def slow_locked(tag: str, stubborn_run: bool) -> None:
    count_run(tag)
    if stubborn_run:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(20)
