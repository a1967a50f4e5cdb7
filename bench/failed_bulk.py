"""Time bulk failure changes through the web UI on a million failures.

Run: ``python bench/failed_bulk.py [--failures 1000000] [--retried-every 10]``.
It starts a private redis-server, fills ``failed`` with distinct records
(every Nth marked retried), then POSTs ``clear_retried``, ``retry_all`` for
one queue (``remove_queue`` path too) and ``retry_all`` through the web app,
and prints for each: the wall time, the longest single Redis command (from
SLOWLOG, every command is logged: median, p99, max, how many over 5 ms), and
this process's RSS growth. It also times the one-record removal the old
per-record ``clear_retried`` did, for comparison. Figures only.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from resque import Registry, Resque  # noqa: E402
from resque.failure.base import Failure  # noqa: E402
from resque.web import create_app  # noqa: E402
from tests.helpers import RedisServer  # noqa: E402
from tests.web_helpers import Web  # noqa: E402


def record(i: int, retried: bool) -> bytes:
    data = {"failed_at": "2024/05/01 12:34:56 UTC", "payload": {"class": "Archive", "args": [i]},
            "exception": "NameError", "error": "uninitialized constant Archive",
            "backtrace": ["/app/x.rb:1"], "worker": "h:1:q", "queue": "critical" if i % 2 else "low"}
    if retried:
        data["retried_at"] = "2024/05/01 13:00:00 UTC"
    return json.dumps(data, separators=(",", ":")).encode()


def fill(r, n: int, every: int) -> None:  # type: ignore[no-untyped-def]
    r.delete("resque:failed")
    for lo in range(0, n, 10_000):
        r.rpush("resque:failed", *[record(i, i % every == 0) for i in range(lo, min(n, lo + 10_000))])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(r, label: str, action) -> None:  # type: ignore[no-untyped-def]
    r.slowlog_reset()
    before = rss_mb()
    t0 = time.perf_counter()
    result = action()
    wall = time.perf_counter() - t0
    grew = rss_mb() - before
    log = r.slowlog_get(100_000)
    # Redis 7 also logs each command a script runs; the script's own entry includes them
    scripts = sorted(e["duration"] / 1000 for e in log if e["command"].startswith(b"EVALSHA")) or [0.0]
    p99 = scripts[min(len(scripts) - 1, int(len(scripts) * 0.99))]
    top = max(log, key=lambda e: e["duration"])
    print(f"{label:36} {wall:6.2f} s  {len(scripts):4d} script calls: median "
          f"{statistics.median(scripts):5.2f} ms, p99 {p99:5.2f} ms, max {scripts[-1]:6.2f} ms; "
          f"longest command {top['duration'] / 1000:.2f} ms "
          f"({bytes(top['command']).split(b' ')[0].decode()}); peak RSS +{grew:.0f} MB -> {result}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--failures", type=int, default=1_000_000)
    parser.add_argument("--retried-every", type=int, default=10)
    args = parser.parse_args()
    server = RedisServer(aof=False).start()
    try:
        r = server.raw()
        r.config_set("slowlog-log-slower-than", 0)
        r.config_set("slowlog-max-len", 100_000)
        client = Resque(server.url, registry=Registry())
        web = Web(create_app(client, user="", password=""))
        n, every = args.failures, args.retried_every
        fill(r, n, every)
        print(f"{n} failures, every {every}th retried; peak RSS so far {rss_mb():.0f} MB")
        size = r.memory_usage("resque:failed") or 0
        print(f"failed list: {size / 2**20:.0f} MB in Redis")

        def post(fields):  # type: ignore[no-untyped-def]
            res = web.post("/failed", fields)
            return f"HTTP {res.status_code}, {r.llen('resque:failed')} left"

        old = client.failure
        probe = Failure("failed", n // 2, r.lindex("resque:failed", n // 2) or b"")
        measure(r, "old way: remove one record mid-list", lambda: old.remove(probe))
        fill(r, n, every)
        measure(r, "POST clear_retried", lambda: post({"action": "clear_retried"}))
        measure(r, "POST retry_all queue=low", lambda: post({"action": "retry_all", "queue": "low"}))
        fill(r, n, every)
        measure(r, "remove_queue('low')", lambda: client.failure.remove_queue("low"))
        fill(r, n, every)
        measure(r, "POST retry_all", lambda: post({"action": "retry_all"}))
        print(f"final peak RSS of this process: {rss_mb():.0f} MB")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
