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
import subprocess  # noqa: F401 - the security tests probe tests.chaos_jobs.subprocess.Popen
import sys
import time
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


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[1] != "enqueue":
        raise SystemExit("usage: python -m tests.chaos_jobs enqueue FIRST COUNT QUEUE...")
    enqueue_main(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
