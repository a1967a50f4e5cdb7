"""Enqueue ``SentinelMark`` jobs ``0..N-1`` through a sentinel URL, noting each ack.

Run as ``python -m tests.sentinel_enqueuer N ACKLOG PAUSE``. An enqueue that
raises (no master reachable within the client's retries) is tried again;
each acknowledged id is written to ACKLOG with the wall-clock time of the
ack, so the test can tell which enqueues fell inside a failover window.
"""
from __future__ import annotations

import sys
import time

from resque import Registry, Resque


def main() -> None:
    count, acklog, pause = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    client = Resque(registry=Registry())  # RESQUE_REDIS_URL names the sentinels
    raised = 0
    with open(acklog, "a", buffering=1) as out:
        for i in range(count):
            while True:
                try:
                    client.enqueue_to("sentinel", "SentinelMark", str(i))
                    break
                except Exception:  # noqa: BLE001 - any failure: try the same id again
                    raised += 1
                    time.sleep(0.05)
            out.write(f"{i} {time.time():.3f}\n")
            if pause:
                time.sleep(pause)
        out.write(f"done {raised}\n")


if __name__ == "__main__":
    main()
