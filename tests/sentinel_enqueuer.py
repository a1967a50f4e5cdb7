"""Enqueue ``SentinelMark`` jobs ``0..N-1`` through a sentinel URL, noting each ack.

Run as ``python -m tests.sentinel_enqueuer N ACKLOG PAUSE``. An enqueue that
raises (no master reachable within the client's retries, or, with
``RESQUE_WAIT_REPLICAS`` set, ``NotReplicated``) is tried again; each
acknowledged id is written to ACKLOG with the wall-clock time of the ack and
the number of tries, so the test can tell which enqueues fell inside a
failover window and which were sent more than once. The last line is
``done RAISED NOT_REPLICATED``.
"""
from __future__ import annotations

import sys
import time

from resque import Registry, Resque
from resque.errors import NotReplicated


def main() -> None:
    count, acklog, pause = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    client = Resque(registry=Registry())  # RESQUE_REDIS_URL names the sentinels
    raised = not_replicated = 0
    with open(acklog, "a", buffering=1) as out:
        for i in range(count):
            tries = 1
            while True:
                try:
                    client.enqueue_to("sentinel", "SentinelMark", str(i))
                    break
                except NotReplicated:  # maybe kept, maybe not: send it again
                    not_replicated += 1
                except Exception:  # noqa: BLE001 - any failure: try the same id again
                    raised += 1
                    time.sleep(0.05)
                tries += 1
            out.write(f"{i} {time.time():.3f} {tries}\n")
            if pause:
                time.sleep(pause)
        out.write(f"done {raised} {not_replicated}\n")


if __name__ == "__main__":
    main()
