"""Time the web pages on big data: 50 MB jobs, a million failures, a long queue.

Run: ``python bench/web_pages.py [--failures 1000000] [--queue 10000000]``.
It starts a private redis-server, fills it, and prints for each page the
median time, the page size, the bytes Redis sent, and the process RSS at
the end. Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from falcon import testing  # noqa: E402

from resque import Registry, Resque  # noqa: E402
from resque.web import create_app  # noqa: E402
from tests.helpers import RedisServer  # noqa: E402

MB = 1024 * 1024
RECORD = (b'{"failed_at":"2024/05/01 12:34:56 UTC","payload":{"class":"Archive","args":[44]},'
          b'"exception":"NameError","error":"uninitialized constant Archive",'
          b'"backtrace":["/app/x.rb:1"],"worker":"h:1:q","queue":"critical"}')


def fill(r, failures: int, queue: int, big: int) -> None:  # type: ignore[no-untyped-def]
    job = b'{"class":"Huge::Import","args":["' + b"x" * (big * MB) + b'"]}'
    r.sadd("resque:queues", "big", "long")
    for _ in range(4):
        r.rpush("resque:queue:big", job)
    for i in range(4):
        wid = f"box:{i}:big"
        r.sadd("resque:workers", wid)
        r.set(f"resque:worker:{wid}", b'{"queue":"big","run_at":"2024-05-01T12:35:00Z","payload":' + job + b"}")
    del job
    short = b'{"class":"Tiny","args":[1]}'
    with r.pipeline(transaction=False) as pipe:
        for i in range(0, queue, 10_000):
            pipe.rpush("resque:queue:long", *([short] * min(10_000, queue - i)))
            if i % 1_000_000 == 0:
                pipe.execute()
        for i in range(0, failures, 10_000):
            pipe.rpush("resque:failed", *([RECORD] * min(10_000, failures - i)))
        pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--failures", type=int, default=1_000_000)
    parser.add_argument("--queue", type=int, default=10_000_000)
    parser.add_argument("--big-mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = RedisServer(aof=False).start()
    try:
        r = server.raw()
        fill(r, args.failures, args.queue, args.big_mb)
        web = testing.TestClient(create_app(Resque(server.url, registry=Registry()), user="", password=""))
        pages = ["/overview", "/overview?partial=1", "/working", "/queues", "/queues/big",
                 "/queues/long?start=5000000", "/workers", "/failed", "/failed?start=500000",
                 "/failed?class=Nope", "/failed?queue=critical", "/api/failed", "/api/queues/big",
                 "/stats/resque", "/stats/keys", "/stats/keys/queue:big", "/metrics", "/stats.txt"]
        print(f"{'page':34} {'median ms':>10} {'page bytes':>11} {'redis bytes':>12}")
        for page in pages:
            path, _, qs = page.partition("?")
            times, sent = [], 0
            for _ in range(args.runs):
                before = int(r.info("stats")["total_net_output_bytes"])
                t0 = time.perf_counter()
                res = web.simulate_get(path, query_string=qs)
                times.append((time.perf_counter() - t0) * 1000)
                sent = int(r.info("stats")["total_net_output_bytes"]) - before
            print(f"{page:34} {statistics.median(times):10.1f} {len(res.content):11d} {sent:12d}"
                  f"  {res.status_code}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {rss:.0f} MB (the {args.big_mb} MB jobs were built here once)")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
