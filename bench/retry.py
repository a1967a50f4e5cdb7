"""What retries, locks and time limits cost a worker whose jobs succeed.

    python bench/retry.py [--jobs N] [--fork-jobs N] [--repeat R]

Starts a private redis-server on a unix socket and drains N no-op jobs
with a worker in this process, for each kind of job: plain, with
``Retry`` (resque-retry counters), with ``Lock`` (a running lock), and
with a time limit (never reached); without and with forking. Prints jobs/s (wall clock),
Redis round trips per job (the server's socket reads) and commands per
job, each kind next to plain, and a PASS/MISS line for the goal: a
retry-enabled job that succeeds costs at most one more round trip than
a plain one. Runs are interleaved and the best of ``--repeat`` is kept.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import resque  # noqa: E402
from resque import Registry, Resque, _accel  # noqa: E402
from resque.plugins import Lock, Retry  # noqa: E402
from resque.worker import Worker, WorkerOptions  # noqa: E402
from roles import server_counters  # noqa: E402
from tests.helpers import RedisServer  # noqa: E402

QUEUE = "bench"
KINDS = ("plain", "retry", "lock", "limit")


def registry() -> tuple[Registry, dict[str, Callable[..., Any]]]:
    """Register one no-op job per kind."""
    reg = Registry()
    made = {
        "plain": resque.job(queue=QUEUE, name="Bench::Plain", registry=reg)(lambda i: None),
        "retry": resque.job(queue=QUEUE, name="Bench::Retry", registry=reg,
                            retry=Retry(limit=3))(lambda i: None),
        "lock": resque.job(queue=QUEUE, name="Bench::Lock", registry=reg, lock=Lock())(lambda i: None),
        "limit": resque.job(queue=QUEUE, name="Bench::Limit", registry=reg, timeout=60)(lambda i: None),
    }
    return reg, made


def drain(client: Resque, job: Any, n: int, fork: bool) -> dict[str, float]:
    """Queue ``n`` jobs, drain them with one worker; return rate and costs per job."""
    client.redis.flushall()
    client.enqueue_many(job, [[i] for i in range(n)])
    w = Worker([QUEUE], client, WorkerOptions(interval=0, fork=fork))
    w.startup()
    try:
        _accel.work_one(w)  # warm up: the first job pays for imports and scripts
        conns0 = connections(client)
        reads0, cmds0 = server_counters(client.redis)
        t0 = time.perf_counter()
        done = _accel.run_loop(w)
        elapsed = time.perf_counter() - t0
        reads1, cmds1 = server_counters(client.redis)
        opened = connections(client) - conns0
    finally:
        w.shutdown_cleanup()
    assert done == n - 1, (done, n)
    return {"rate": done / elapsed, "trips": (reads1 - reads0 - 1 - opened) / done,
            "connections": opened / done, "commands": (cmds1 - cmds0) / done}


def connections(client: Resque) -> int:
    """Return how many connections the server has accepted (one INFO, not counted as a trip)."""
    return int(client.redis.info("stats")["total_connections_received"])


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    return {"rate": max(r["rate"] for r in runs), "trips": min(r["trips"] for r in runs),
            "connections": min(r["connections"] for r in runs),
            "commands": min(r["commands"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=5000, help="jobs per no-fork drain")
    parser.add_argument("--fork-jobs", type=int, default=500, help="jobs per fork drain")
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    server = RedisServer(aof=False).start()
    try:
        reg, made = registry()
        client = Resque(server.url, registry=reg)
        resque.set_client(client)
        print(f"{_accel.IMPLEMENTATION} hot loop; best of {opts.repeat} interleaved runs")
        print(f"{'':18}{'jobs/s':>10}{'vs plain':>10}{'trips/job':>11}{'conns/job':>11}"
              f"{'cmds/job':>10}")
        extra: dict[bool, float] = {}
        for fork in (False, True):
            n = opts.fork_jobs if fork else opts.jobs
            runs: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
            for _ in range(opts.repeat):
                for kind in KINDS:
                    runs[kind].append(drain(client, made[kind], n, fork))
            results = {k: best(v) for k, v in runs.items()}
            base = results["plain"]
            for kind in KINDS:
                r = results[kind]
                label = f"{kind}, {'fork' if fork else 'no-fork'}"
                print(f"{label:18}{r['rate']:>10,.0f}{r['rate'] / base['rate']:>9.2f}x"
                      f"{r['trips']:>11.2f}{r['connections']:>11.2f}{r['commands']:>10.2f}")
            extra[fork] = results["retry"]["trips"] - base["trips"]
        for fork, more in extra.items():
            mode = "fork" if fork else "no-fork"
            print(f"{'PASS' if more <= 1.05 else 'MISS'}: a retry-enabled job that succeeds costs "
                  f"{more:.2f} more round trips than a plain one, {mode} (goal <= 1)")
    finally:
        resque.set_client(None)
        server.cleanup()


if __name__ == "__main__":
    main()
