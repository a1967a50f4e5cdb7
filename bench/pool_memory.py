"""Memory each extra worker costs: forked from a pool master vs started separately.

    python bench/pool_memory.py [--workers N] [--jobs J]

Starts a private redis-server, then (1) ``resque pool`` with N workers on
queue ``bench`` and ``-A bench.pool_app`` (an app of ~100 MB of objects
made at import), (2) N separate ``resque work`` processes with the same
app. Each worker runs J jobs, then its memory is read from
``/proc/PID/smaps_rollup``: RSS, PSS (shared pages split between the
processes sharing them) and USS (private pages: what the process alone
costs). Prints one table and one JSON line; always exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resque import Registry, Resque  # noqa: E402
from resque.pool.memory import smaps_rollup  # noqa: E402
from tests.helpers import RedisServer, wait_for  # noqa: E402
from tests.test_soak import child_pids  # noqa: E402

MB = 1 << 20


def _settle(client: Resque, count: int, jobs: int) -> None:
    for i in range(jobs * count):
        client.enqueue_to("bench", "PoolBench::Touch", f"product-{i}")
    wait_for(lambda: client.size("bench") == 0 and not client.working(), timeout=300, step=0.2)
    time.sleep(1.0)


def _figures(pids: list[int]) -> dict[str, float]:
    rows = [smaps_rollup(p) for p in pids]
    return {k: round(sum(r[k] for r in rows) / len(rows) / MB, 1) for k in ("Rss", "Pss", "Uss")}


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGQUIT)
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=50, help="jobs per worker before measuring")
    args = parser.parse_args()
    server = RedisServer(aof=False).start()
    env = {**os.environ, "RESQUE_REDIS_URL": server.url, "PYTHONPATH": str(ROOT)}
    client = Resque(server.url, registry=Registry())
    out: dict[str, object] = {"workers": args.workers}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "resque-pool.yml"
            config.write_text(f"bench: {args.workers}\n")
            pool = subprocess.Popen([sys.executable, "-m", "resque", "pool", "-c", str(config),
                                     "-A", "bench.pool_app", "--interval", "0.1", "--quiet"],
                                    cwd=ROOT, env=env)
            workers = wait_for(lambda: len(child_pids(pool.pid)) == args.workers and child_pids(pool.pid),
                               timeout=120)
            wait_for(lambda: len(client.workers()) == args.workers, timeout=120)
            _settle(client, args.workers, args.jobs)
            out["pooled"] = _figures(workers)
            out["pool_master"] = _figures([pool.pid])
            _stop([pool])
        separate = [subprocess.Popen([sys.executable, "-m", "resque", "work", "-q", "bench",
                                      "-A", "bench.pool_app", "--interval", "0.1", "--quiet"],
                                     cwd=ROOT, env=env) for _ in range(args.workers)]
        wait_for(lambda: len(client.workers()) == args.workers, timeout=180)
        _settle(client, args.workers, args.jobs)
        out["separate"] = _figures([p.pid for p in separate])
        _stop(separate)
    finally:
        server.cleanup()
    pooled, alone = out["pooled"], out["separate"]
    assert isinstance(pooled, dict) and isinstance(alone, dict)
    print(f"{'per worker (MB)':<22}{'RSS':>8}{'PSS':>8}{'USS':>8}")
    for name in ("pooled", "separate", "pool_master"):
        row = out[name]
        assert isinstance(row, dict)
        print(f"{name:<22}{row['Rss']:>8}{row['Pss']:>8}{row['Uss']:>8}")
    print(f"USS ratio pooled/separate: {pooled['Uss'] / alone['Uss']:.2f}; "
          f"PSS ratio: {pooled['Pss'] / alone['Pss']:.2f}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
