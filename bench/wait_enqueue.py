"""What ``WAIT 1`` costs an enqueue: jobs/s with and without, master and replica on loopback.

    python bench/wait_enqueue.py [--jobs N] [--rounds R]

Starts a master and one replica (``redis-server`` on loopback TCP, no
persistence) and times, one job at a time over TCP: the sync client's
``enqueue`` without the option, with ``wait_replicas=1`` (WAIT pipelined
after EXEC: one round trip, answered once the replica acknowledged), and the
same for ``enqueue_many`` in batches of 100 and for the asyncio client. The
variants alternate in R slices so a busy machine slows them alike; each
figure is the best slice. Prints jobs/s and ratios; always exits 0.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import resque.aio  # noqa: E402
from resque import Registry, Resque  # noqa: E402
from tests.helpers import RedisServer, wait_for  # noqa: E402


def _rate(n: int, step: Callable[[], Any], per_call: int = 1) -> float:
    started = time.perf_counter()
    for _ in range(n // per_call):
        step()
    return n / (time.perf_counter() - started)


async def _arate(n: int, client: Any) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await client.enqueue_to("bench", "Noop")
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    master = RedisServer("--repl-diskless-sync-delay", "0", aof=False, tcp=True).start()
    replica = RedisServer("--replicaof", "127.0.0.1", str(master.port), aof=False).start()
    try:
        wait_for(lambda: replica.raw().info("replication")["master_link_status"] == "up", timeout=20)
        url = f"redis://127.0.0.1:{master.port}/0"
        plain, waiting = Resque(url, registry=Registry()), Resque(url + "?wait=1", registry=Registry())
        batch = [[i] for i in range(100)]
        variants: dict[str, Callable[[int], float]] = {
            "enqueue": lambda n: _rate(n, lambda: plain.enqueue_to("bench", "Noop")),
            "enqueue wait=1": lambda n: _rate(n, lambda: waiting.enqueue_to("bench", "Noop")),
            "enqueue_many x100": lambda n: _rate(n, lambda: plain.enqueue_many("Noop", batch, "bench"), 100),
            "enqueue_many x100 wait=1": lambda n: _rate(
                n, lambda: waiting.enqueue_many("Noop", batch, "bench"), 100),
        }
        best = dict.fromkeys(variants, 0.0)
        best["aio enqueue"] = best["aio enqueue wait=1"] = 0.0

        async def aio_round(n: int) -> None:
            async with resque.aio.Resque(url, registry=Registry()) as a, \
                    resque.aio.Resque(url, registry=Registry(), wait_replicas=1) as w:
                await a.enqueue_to("bench", "Noop")
                await w.enqueue_to("bench", "Noop")
                best["aio enqueue"] = max(best["aio enqueue"], await _arate(n, a))
                best["aio enqueue wait=1"] = max(best["aio enqueue wait=1"], await _arate(n, w))

        per = opts.jobs // opts.rounds
        for _ in range(opts.rounds):
            for name, run in variants.items():
                best[name] = max(best[name], run(per * (20 if "many" in name else 1)))
            asyncio.run(aio_round(per))
            plain.redis.delete("resque:queue:bench")
        print(f"{opts.jobs} jobs per variant, best of {opts.rounds} slices, loopback TCP, 1 replica")
        for name, rate in best.items():
            print(f"  {name:28s} {rate:10,.0f} jobs/s")
        for name in ("enqueue", "enqueue_many x100", "aio enqueue"):
            print(f"  {name} wait=1 / without: {best[name + ' wait=1'] / best[name]:.2f}")
    finally:
        replica.cleanup()
        master.cleanup()


if __name__ == "__main__":
    main()
