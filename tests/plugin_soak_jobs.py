"""Jobs for the plugin soak: flaky jobs with retries, locked jobs, hanging jobs.

Hanging jobs hang on their first run past their 0.5 s limit (a stubborn
one ignores the timeout, so only a kill stops it) and succeed on the next.

Each job notes what it did in Redis hashes keyed by job id: ``soak:runs``
(every start), ``soak:ok`` (every successful end). Locked jobs also note
an overlap in ``soak:overlaps`` if another copy of their key is inside.
The jobs' own connection never retries a command, so a lost reply fails
the job instead of counting twice.

``python -m tests.plugin_soak_jobs enqueue N`` enqueues the soak's jobs
with the default client (``RESQUE_REDIS_URL``).
"""
from __future__ import annotations

import os
import signal
import sys
import time

import redis

import resque
from resque.client import job
from resque.embedded import pid_alive
from resque.plugins import Lock, Retry

RUNS, OK, OVERLAPS = "soak:runs", "soak:ok", "soak:overlaps"
FORK_QUEUE = "soak_fork"
LIMIT = 3
LOCK_KEYS = 6
_conn: "redis.Redis[bytes] | None" = None


def conn() -> "redis.Redis[bytes]":
    global _conn
    if _conn is None or _conn.connection_pool.pid != os.getpid():
        _conn = redis.Redis.from_url(os.environ["RESQUE_REDIS_URL"], retry=None)
    return _conn


class Flake(Exception):
    """A failure worth retrying."""


@job(queue="soak_flaky", name="Soak::Flaky", retry=Retry(limit=LIMIT, delay=[0, 1, 0]))
def flaky(jid: int, fails: int) -> None:
    """Fail the first ``fails`` runs of ``jid``, then succeed."""
    if conn().hincrby(RUNS, str(jid), 1) <= fails:
        raise Flake(f"soak job {jid} fails this run")
    conn().hincrby(OK, str(jid), 1)


@job(queue="soak_locked", name="Soak::Locked",
     lock=Lock(on_locked="requeue", requeue_delay=0.5, ttl=60, key=lambda key, jid: str(key)),
     retry=Retry(limit=LIMIT))
def locked(key: int, jid: int) -> None:
    """Run alone among the copies of ``key``; note an overlap if not.

    The marker ``soak:inside:<key>`` names the process inside; one left by
    a process that was killed there is no overlap.
    """
    r = conn()
    r.hincrby(RUNS, str(jid), 1)
    inside = f"soak:inside:{key}"
    if not r.set(inside, os.getpid(), nx=True, ex=30):
        if pid_alive(int(r.get(inside) or 0)):
            r.hincrby(OVERLAPS, str(key), 1)
        r.set(inside, os.getpid(), ex=30)
    try:
        time.sleep(0.03)
    finally:
        r.delete(inside)
    r.hincrby(OK, str(jid), 1)


@job(queue="soak_flaky", name="Soak::Hang", timeout=0.5, retry=Retry(limit=LIMIT))
def hang(jid: int, stubborn: int) -> None:
    """Hang on the first run (a stubborn one ignoring its timeout), succeed on the next."""
    if conn().hincrby(RUNS, str(jid), 1) == 1:
        if stubborn:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            time.sleep(3)  # bounded, should it outlive a killed worker
            raise Flake(f"soak job {jid} was not stopped at its limit")
        time.sleep(30)
    conn().hincrby(OK, str(jid), 1)


def plan(n: int) -> list[tuple[str, int, list[int]]]:
    """Return the soak's jobs: (kind, id, args). Ids are unique across kinds."""
    jobs: list[tuple[str, int, list[int]]] = []
    for jid in range(n):
        if jid % 5 == 4:
            jobs.append(("locked", jid, [jid % LOCK_KEYS, jid]))
        elif jid % 37 == 1:
            jobs.append(("hang", jid, [jid, int(jid % 3 == 0)]))
        else:
            jobs.append(("flaky", jid, [jid, fails_of(jid)]))
    return jobs


def fails_of(jid: int) -> int:
    """How many runs of a flaky job fail: 0, 1 or 2 (it succeeds), or forever."""
    return 99 if jid % 11 == 0 else jid % 3


def enqueue_main(n: int) -> None:
    kinds = {"flaky": flaky, "locked": locked, "hang": hang}
    for kind, _, args in plan(n):
        # stubborn hangs only where a worker can kill them: in fork workers
        queue = FORK_QUEUE if kind == "hang" and args[1] else None
        while True:
            try:
                if queue:
                    resque.enqueue_to(queue, kinds[kind], *args)
                else:
                    resque.enqueue(kinds[kind], *args)
                break
            except Exception:  # noqa: BLE001 - retry until acknowledged
                time.sleep(0.05)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "enqueue":
        raise SystemExit("usage: python -m tests.plugin_soak_jobs enqueue N")
    enqueue_main(int(sys.argv[2]))
