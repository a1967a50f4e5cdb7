"""Processes that ``throughput.py`` starts: one worker (or fork floor) each.

``python bench/roles.py ROLE URL [ARGS...]`` prints one JSON line. Each
process measures itself and reads the Redis server's own counters, so
the numbers are those of a real worker process, not of the harness.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any, Callable

import redis

from bench_jobs import memory_kb, registry
from resque import Resque, _accel
from resque.worker import Worker, WorkerOptions

QUEUE = "bench"
WARM = 200


def server_counters(raw: "redis.Redis[bytes]") -> tuple[int, int]:
    """Return (socket reads, commands) the server has processed, INFO excluded."""
    info = raw.info("all")
    commands = sum(v["calls"] for k, v in info.items()
                   if k.startswith("cmdstat_") and k != "cmdstat_info")
    return int(info["total_reads_processed"]), commands


def cpu_seconds() -> tuple[float, float]:
    """Return (this process, its reaped children) CPU seconds, microsecond precision."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def measure(raw: "redis.Redis[bytes]", jobs: int, run: Callable[[], Any]) -> dict[str, Any]:
    """Time ``run`` and count what it cost: wall, CPU, Redis reads and commands, RSS."""
    rss0, _ = memory_kb(os.getpid())
    reads0, cmds0 = server_counters(raw)
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    done = run()
    elapsed = time.perf_counter() - t0
    cpu1 = cpu_seconds()
    reads1, cmds1 = server_counters(raw)
    rss1, uss1 = memory_kb(os.getpid())
    return {
        "jobs": jobs, "done": done, "seconds": elapsed, "rate": jobs / elapsed,
        "cpu_per_job_us": (cpu1[0] - cpu0[0]) / jobs * 1e6,
        "child_cpu_per_job_us": (cpu1[1] - cpu0[1]) / jobs * 1e6,
        "reads_per_job": (reads1 - reads0 - 1) / jobs,  # minus the second INFO's own read
        "commands_per_job": (cmds1 - cmds0) / jobs,
        "rss_before_kb": rss0, "rss_after_kb": rss1, "uss_after_kb": uss1,
        "implementation": _accel.IMPLEMENTATION,
    }


def _worker(url: str, fork: bool, interval: float = 0.0, per_fork: int = 1) -> Worker:
    client = Resque(url, registry=registry())
    return Worker([QUEUE], client, WorkerOptions(interval=interval, fork=fork,
                                                 jobs_per_fork=per_fork))


def drain(url: str, mode: str, jobs: str, warm: str) -> dict[str, Any]:
    """Start a worker, run ``warm`` jobs, then time draining the rest.

    ``mode`` is ``nofork``, ``fork`` or ``forkN`` (fork with ``--jobs-per-fork N``).
    """
    per_fork = int(mode[4:] or 1) if mode.startswith("fork") else 1
    w = _worker(url, fork=mode.startswith("fork"), per_fork=per_fork)
    raw = redis.Redis.from_url(url)
    w.startup()

    def taken() -> int:
        return w.processed + w._finish  # jobs run, by this process or its children

    try:
        multi = w._multi
        while taken() < int(warm):
            if multi is not None:  # a child must not run past the warm-up
                multi.jobs = min(per_fork, int(warm) - taken())
            _accel.work_one(w)
        if multi is not None:
            multi.jobs = per_fork

        def run() -> int:
            before = taken()
            _accel.run_loop(w)
            return taken() - before

        return measure(raw, int(jobs), run)
    finally:
        w.shutdown_cleanup()


def ab(url: str, mode: str, jobs: str, rounds: str) -> dict[str, Any]:
    """Alternate the compiled and the pure ``work_one`` on one worker, ``jobs`` each.

    Both loops drive the same worker in the same process, in interleaved
    chunks, so process-to-process noise (layout, hash seed, neighbours)
    cancels out of the ratio.
    """
    import importlib

    from resque import _loop

    try:
        compiled = importlib.import_module("resque._speedups")
    except ImportError:
        return {"missing": True, "rate": 0.0}
    w = _worker(url, fork=mode == "fork")
    w.startup()
    n, k = int(jobs), int(rounds)
    spent = {"cython": [0.0, 0.0], "python": [0.0, 0.0]}  # wall, CPU seconds
    try:
        for _ in range(WARM):
            _loop.work_one(w)
        for i in range(k):
            order = [("cython", compiled), ("python", _loop)]
            for name, module in order if i % 2 == 0 else order[::-1]:
                work_one = module.work_one
                cpu0, t0 = sum(cpu_seconds()), time.perf_counter()
                for _ in range(n // k):
                    work_one(w)
                spent[name][0] += time.perf_counter() - t0
                spent[name][1] += sum(cpu_seconds()) - cpu0
    finally:
        w.shutdown_cleanup()
    done = n // k * k
    return {"jobs": done, "rate": spent["python"][0] / spent["cython"][0],
            "cython_rate": done / spent["cython"][0], "python_rate": done / spent["python"][0],
            "cython_cpu_us": spent["cython"][1] / done * 1e6,
            "python_cpu_us": spent["python"][1] / done * 1e6}


def floor(url: str, jobs: str) -> dict[str, Any]:
    """In a started worker's process, time bare fork + ``_exit(0)`` + waitpid."""
    w = _worker(url, fork=True)
    raw = redis.Redis.from_url(url)
    w.startup()

    def loop() -> int:
        for _ in range(n):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
        return n

    n = int(jobs)
    try:
        return measure(raw, n, loop)
    finally:
        w.shutdown_cleanup()


def rq_fill(raw: "redis.Redis[bytes]", n: int) -> None:
    """Queue ``n`` RQ no-op jobs in one pipeline (result_ttl=0: RQ keeps no result, as Resque)."""
    from rq import Queue

    from bench_jobs import noop

    queue = Queue(QUEUE, connection=raw)
    with raw.pipeline() as pipe:
        queue.enqueue_many([Queue.prepare_data(noop, result_ttl=0) for _ in range(n)], pipeline=pipe)
        pipe.execute()


def rq(url: str, kind: str, jobs: str, warm: str) -> dict[str, Any]:
    """Drain the queue with RQ's SimpleWorker or its forking Worker (burst mode).

    As the resque drains do, the worker first runs ``warm`` jobs untimed
    (one burst: imports, connections, registration); the timed burst on
    the same worker object then drains ``jobs``.
    """
    from rq import Queue, SimpleWorker
    from rq import Worker as RQWorker

    raw = redis.Redis.from_url(url)
    cls = SimpleWorker if kind == "simple" else RQWorker
    w = cls([Queue(QUEUE, connection=raw)], connection=raw)
    rq_fill(raw, int(warm))
    w.work(burst=True, logging_level="WARNING")
    rq_fill(raw, int(jobs))
    result = measure(raw, int(jobs), lambda: w.work(burst=True, logging_level="WARNING"))
    result["implementation"] = "rq"
    return result


def idle(url: str, interval: str) -> None:
    """Run a forking worker until QUIT; say when it is up."""
    w = _worker(url, fork=True, interval=float(interval))
    print(json.dumps({"pid": os.getpid(), "implementation": _accel.IMPLEMENTATION}), flush=True)
    w.work()


ROLES: dict[str, Callable[..., Any]] = {"ab": ab, "drain": drain, "floor": floor, "rq": rq,
                                        "idle": idle}

if __name__ == "__main__":
    result = ROLES[sys.argv[1]](*sys.argv[2:])
    if result is not None:
        print(json.dumps(result), flush=True)
