"""How fast the scheduler moves due delayed items, and what it costs when idle.

    python bench/scheduler.py [--items N] [--seconds S] [--idle SECONDS]

Starts a private redis-server on a unix socket, fills the delayed queue
with N items due over S seconds, and times one mover pass that moves them
all (items/s, Redis round trips per item from the server's read counter,
Redis CPU microseconds per item from its INFO),
next to ``enqueue_many`` of the same N jobs (one pipelined round trip), for
the default batch size and a larger one. Then runs ``resque scheduler``
at its default interval with nothing to do and reports its CPU use.
Rates are given by the wall clock and by CPU (this process plus the Redis
server, from its INFO), which stays meaningful on a busy machine; the
ratio uses the CPU rates. Prints figures and ratios with a PASS/MISS line
per target; exits 0.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from resque import Registry, Resque  # noqa: E402
from resque.scheduler.delayed import item_bytes, store_of  # noqa: E402
from resque.scheduler.mover import Mover  # noqa: E402
from roles import server_counters  # noqa: E402
from tests.helpers import RedisServer, wait_for  # noqa: E402


def fill(client: Resque, n: int, seconds: int) -> None:
    """Delay ``n`` items to the past ``seconds`` seconds (all due now)."""
    base = int(time.time()) - seconds - 1
    entries = [(base + i % seconds, item_bytes("Bench::Noop", [i], "bench")) for i in range(n)]
    for k in range(0, n, 5000):
        store_of(client).delayed_push_many(entries[k:k + 5000])


def redis_cpu(client: Resque) -> float:
    """Return CPU seconds used so far by the Redis server."""
    info = client.redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def timed(client: Resque, n: int, run: Callable[[], Any]) -> tuple[float, float, float, float]:
    """Return (items/s by the wall clock, items/s by CPU of client plus Redis, round trips/item,
    Redis CPU microseconds/item)."""
    reads0, _ = server_counters(client.redis)
    r0, p0, t0 = redis_cpu(client), time.process_time(), time.perf_counter()
    run()
    elapsed = time.perf_counter() - t0
    p1, r1 = time.process_time(), redis_cpu(client)
    reads1, _ = server_counters(client.redis)
    cpu = (p1 - p0) + (r1 - r0)
    return n / elapsed, n / cpu, (reads1 - reads0 - 2) / n, (r1 - r0) / n * 1e6  # minus the INFO reads


def move(client: Resque, n: int, seconds: int, batch: int) -> tuple[float, float, float, float]:
    """Time one pass moving ``n`` due items."""
    client.redis.flushall()
    fill(client, n, seconds)
    result = timed(client, n, lambda: Mover(client, batch).handle_delayed_items())
    assert client.size("bench") == n and not client.delayed_queue_schedule_size()
    return result


def enqueue_many(client: Resque, n: int) -> tuple[float, float, float, float]:
    """Time ``enqueue_many`` of ``n`` jobs."""
    client.redis.flushall()
    args = [[i] for i in range(n)]
    return timed(client, n, lambda: client.enqueue_many("Bench::Noop", args, queue="bench"))


def cpu_of(pid: int) -> float:
    """Return a process's user+system CPU seconds from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(url: str, seconds: float) -> float:
    """Return the percent of one core an idle ``resque scheduler`` uses at its default interval."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "resque", "--redis", url, "scheduler", "-q"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        raw = Resque(url).redis
        wait_for(lambda: raw.exists("resque:resque:resque_scheduler_master_lock"), 30)
        time.sleep(2)  # past start-up
        c0, t0 = cpu_of(proc.pid), time.monotonic()
        time.sleep(seconds)
        return 100 * (cpu_of(proc.pid) - c0) / (time.monotonic() - t0)
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=20, help="distinct due seconds")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds to watch the idle scheduler")
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    server = RedisServer(aof=False).start()
    try:
        client = Resque(server.url, registry=Registry())
        n = opts.items
        runs = [enqueue_many(client, n) for _ in range(opts.repeat)]
        wall, by_cpu, trips = (max(x) for x in list(zip(*runs))[:3])
        rus = min(r[3] for r in runs)
        print(f"{'enqueue_many':<22}{n:>7} items {wall:>10,.0f}/s wall {by_cpu:>10,.0f}/s cpu  "
              f"{trips:.4f} round trips/item  {rus:.2f} us Redis CPU/item")
        base = by_cpu
        results = {}
        for batch in (100, 1000):
            runs = [move(client, n, opts.seconds, batch) for _ in range(opts.repeat)]
            wall, rate, trips = (max(x) for x in list(zip(*runs))[:3])
            rus = min(r[3] for r in runs)
            results[batch] = rate
            print(f"{f'move, batch {batch}':<22}{n:>7} items {wall:>10,.0f}/s wall {rate:>10,.0f}/s cpu  "
                  f"{trips:.4f} round trips/item  {rus:.2f} us Redis CPU/item  "
                  f"{rate / base:.2f}x enqueue_many (cpu)")
        cpu = idle_cpu(server.url, opts.idle)
        print(f"idle scheduler (interval 5s): {cpu:.3f}% of one core over {opts.idle:.0f}s")
        ratio = results[100] / base
        print(f"{'PASS' if ratio >= 0.5 else 'MISS'}: moving at default batch is {ratio:.2f}x "
              "enqueue_many (target >= 0.5x)")
        print(f"{'PASS' if cpu < 1 else 'MISS'}: idle CPU {cpu:.3f}% (target < 1%)")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
