"""What chart sampling costs Redis: one minute's winner, and every other process.

    python bench/history_cost.py [--samples N] [--queues Q]

Starts a private redis-server, fills ``Q`` queues and a failure list, then
runs ``N`` winning samples (the claim is reset between them, as when the
next minute starts) and ``N`` losing ticks (the minute is already taken),
and prints commands and Redis CPU microseconds per sample from the
server's own counters (INFO commandstats). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from throughput import Server  # noqa: E402

from resque import Registry, Resque  # noqa: E402
from resque.history import History  # noqa: E402


def commandstats(raw: Any, n: int, win: bool) -> tuple[float, float]:
    """Return (calls, usec) per sample over every command but INFO and the set-up's."""
    stats = raw.info("commandstats")
    setup = n if win else 0  # one HDEL and one RPUSH a sample stand in for a new minute
    kept = {k: v for k, v in stats.items() if k != "cmdstat_info"}
    calls = sum(v["calls"] for v in kept.values()) - 2 * setup
    usec = sum(v["usec"] for v in kept.values())
    if win:
        usec -= kept["cmdstat_hdel"]["usec"] + kept["cmdstat_rpush"]["usec"]
    return calls / n, usec / n


def run(history: History, raw: Any, n: int, win: bool, failure: bytes) -> dict[str, float]:
    raw.config_resetstat()
    elapsed = 0.0
    for i in range(n):
        if win:  # a new minute, in which ten jobs failed
            raw.hdel(history.keys.history_claims, "minute")
            raw.rpush("resque:failed", *[failure] * 10)
        history._tried.clear()
        t0 = time.perf_counter()
        history.tick(time.time() + 60 * i)
        elapsed += time.perf_counter() - t0
    calls, usec = commandstats(raw, n, win)
    return {"commands_per_sample": calls, "redis_usec_per_sample": usec,
            "client_ms_per_sample": elapsed / n * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--queues", type=int, default=20)
    args = parser.parse_args()
    server = Server()
    try:
        raw = server.raw
        for i in range(args.queues):
            raw.sadd("resque:queues", f"q{i}")
            raw.rpush(f"resque:queue:q{i}", *[b'{"class":"Noop","args":[]}'] * (i + 1))
        raw.set("resque:stat:processed", 123456)
        history = History(Resque(server.url, registry=Registry()).store)
        history.tick()
        failure = json.dumps({"failed_at": "2024/05/01 12:34:56 UTC", "payload": {
            "class": "Archive", "args": [1]}, "exception": "E", "error": "e", "backtrace": [],
            "worker": "h:1:q", "queue": "q"}).encode()
        winner = run(history, raw, args.samples, True, failure)
        loser = run(history, raw, args.samples, False, failure)
        print(f"chart sampling, {args.queues} queues, 10 new failures a minute")
        for name, r in (("winner (one process a minute)", winner), ("any other process", loser)):
            print(f"  {name:32} {r['commands_per_sample']:6.1f} commands "
                  f"{r['redis_usec_per_sample']:8.1f} Redis us "
                  f"{r['client_ms_per_sample']:6.2f} ms client")
        sizes = {k: raw.memory_usage(f"resque:history:{k}") for k in ("minute", "queues", "failures")}
        print(f"  memory after {args.samples} samples (bytes): {sizes}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
