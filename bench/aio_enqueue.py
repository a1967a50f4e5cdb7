"""Enqueueing from asyncio: resque.aio against a bare redis.asyncio RPUSH loop.

    python bench/aio_enqueue.py [--jobs N] [--repeat R] [--concurrency 1,10,100]

Starts a private redis-server on a unix socket and measures, one job at a
time: a bare ``await r.rpush(...)`` loop (the floor: one command, one round
trip), ``await client.enqueue(...)`` (MULTI/SADD/RPUSH/EXEC in one write)
and the sync client for reference; then N concurrent enqueuers sharing one
client and its connection pool. Prints jobs/s and ratios (target: the
asyncio client one at a time at >= 0.8 of the bare loop); always exits 0.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import redis.asyncio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_jobs import Noop, registry  # noqa: E402
from throughput import Server  # noqa: E402
import resque.aio  # noqa: E402
from resque import Resque  # noqa: E402

PAYLOAD = b'{"class":"bench_jobs.Noop","args":[]}'


async def _rate(n: int, tasks: int, step: Callable[[], Awaitable[Any]]) -> float:
    """Return jobs/s of ``tasks`` coroutines running ``step`` n/tasks times each."""
    per = n // tasks

    async def worker() -> None:
        for _ in range(per):
            await step()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return per * tasks / (time.perf_counter() - started)


async def measure(url: str, n: int, tasks: int, rounds: int = 10) -> tuple[float, float]:
    """Return (bare RPUSH jobs/s, resque.aio enqueue jobs/s) at ``tasks`` concurrency.

    The two alternate in ``rounds`` slices of n/rounds jobs, so a busy
    machine slows both alike; each figure is the best slice.
    """
    raw = redis.asyncio.Redis.from_url(url)
    key = "resque:queue:bench"
    bare, ours = 0.0, 0.0
    async with resque.aio.Resque(url, registry=registry()) as client:
        await raw.rpush(key, PAYLOAD)  # connect both before timing
        await client.enqueue(Noop)
        for _ in range(rounds):
            bare = max(bare, await _rate(n // rounds, tasks, lambda: raw.rpush(key, PAYLOAD)))
            ours = max(ours, await _rate(n // rounds, tasks, lambda: client.enqueue(Noop)))
            await raw.delete(key)
    await raw.aclose()
    return bare, ours


def sync_rate(url: str, n: int) -> float:
    client = Resque(url, registry=registry())
    client.enqueue(Noop)
    started = time.perf_counter()
    for _ in range(n):
        client.enqueue(Noop)
    rate = n / (time.perf_counter() - started)
    client.redis.delete(client.keyspace.queue("bench"))
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--concurrency", default="1,10,100")
    opts = parser.parse_args()
    server = Server()
    try:
        levels = [int(c) for c in opts.concurrency.split(",")]
        print(f"{opts.jobs} jobs per run in 10 alternating slices, best slice of {opts.repeat} runs, "
              f"redis-server on a unix socket, {resque.implementation()} codec")
        print(f"{'enqueuers':>10} {'bare RPUSH/s':>14} {'resque.aio/s':>14} {'ratio':>7}")
        for tasks in levels:
            runs = [asyncio.run(measure(server.url, opts.jobs, tasks)) for _ in range(opts.repeat)]
            bare = max(b for b, _ in runs)
            ours = max(o for _, o in runs)
            verdict = ("PASS" if ours >= 0.8 * bare else "MISS") if tasks == 1 else ""
            print(f"{tasks:>10} {bare:>14,.0f} {ours:>14,.0f} {ours / bare:>7.2f} {verdict}")
        sync = max(sync_rate(server.url, opts.jobs) for _ in range(opts.repeat))
        print(f"sync resque.Resque.enqueue one at a time: {sync:,.0f}/s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
