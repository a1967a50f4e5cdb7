"""A worker's jobs/s with job timing on and off, in one run.

    python bench/timing.py [--jobs N] [--fork-jobs M] [--rounds R]

Starts a private redis-server and drives one worker in this process with
its run-time recording switched on and off between interleaved chunks of
no-op jobs, so machine noise falls on both alike; without forking and
with forking. Prints jobs/s, CPU per job and socket
reads (round trips) per job for each, and the ratio on/off against the
0.95 target. Prints figures; asserts nothing; always exits 0.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_jobs import Noop, registry  # noqa: E402
from roles import QUEUE, cpu_seconds, server_counters  # noqa: E402
from throughput import Server  # noqa: E402

from resque import Resque, _accel  # noqa: E402
from resque.worker import Worker, WorkerOptions  # noqa: E402

TARGET = 0.95


def chunk(w: Worker, raw: Any, n: int) -> tuple[float, float, int]:
    """Run ``n`` jobs on ``w``; return (wall seconds, CPU seconds, socket reads)."""
    reads0, _ = server_counters(raw)
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    for _ in range(n):
        _accel.work_one(w)
    elapsed = time.perf_counter() - t0
    cpu1 = cpu_seconds()
    reads1, _ = server_counters(raw)
    return elapsed, (cpu1[0] - cpu0[0]) + (cpu1[1] - cpu0[1]), reads1 - reads0 - 1


def compare(server: Server, fork: bool, jobs: int, rounds: int) -> dict[bool, list[float]]:
    """Alternate timing on and off on one worker, in chunks, ``jobs`` each."""
    client = Resque(server.url, registry=registry())
    raw = server.raw
    raw.flushall()
    per_round = jobs // rounds
    client.enqueue_many(Noop, [()] * (2 * per_round * rounds + 400))
    w = Worker([QUEUE], client, WorkerOptions(interval=0, fork=fork))
    batch = w._timing  # the worker's own switch: a Batch when on, None when off
    totals = {on: [0.0, 0.0, 0.0] for on in (True, False)}
    w.startup()
    try:
        chunk(w, raw, 200)  # warm up
        for i in range(rounds):
            for on in ((True, False) if i % 2 == 0 else (False, True)):
                w._timing = batch if on else None
                wall, cpu, reads = chunk(w, raw, per_round)
                totals[on][0] += wall
                totals[on][1] += cpu
                totals[on][2] += reads
    finally:
        w._timing = batch
        w.shutdown_cleanup()
    n = per_round * rounds
    return {on: [n / t[0], t[1] / n * 1e6, t[2] / n] for on, t in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20000, help="no-fork jobs per worker")
    parser.add_argument("--fork-jobs", type=int, default=1000, help="forking jobs per worker")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    server = Server()
    try:
        print(f"job timing on vs off, one run, interleaved ({_accel.IMPLEMENTATION} hot loop)")
        print(f"{'mode':8} {'timing':7} {'jobs/s':>10} {'CPU us/job':>11} {'reads/job':>10}")
        for fork, n in ((False, args.jobs), (True, args.fork_jobs)):
            got = compare(server, fork, n, args.rounds)
            mode = "fork" if fork else "nofork"
            for on in (True, False):
                rate, cpu, reads = got[on]
                print(f"{mode:8} {'on' if on else 'off':7} {rate:10,.0f} {cpu:11.1f} {reads:10.2f}")
            ratio = got[True][0] / got[False][0]
            verdict = "PASS" if ratio >= TARGET else "MISS"
            print(f"{mode:8} on/off  {ratio:10.3f}x  target >= {TARGET}: {verdict}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
