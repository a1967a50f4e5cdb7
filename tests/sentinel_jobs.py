"""Jobs for the Sentinel tests: each run is noted in a local file, not in Redis.

A failover may lose Redis writes; the record of what ran must not depend
on the server being tested, so each perform appends one line to the file
named by ``SENTINEL_TEST_LOG`` (O_APPEND: concurrent children never mix lines).
"""
from __future__ import annotations

import os
import time

from resque.client import job


@job(queue="sentinel", name="SentinelMark")
class Mark:
    @staticmethod
    def perform(tag: str, seconds: float = 0.0) -> None:
        if seconds:
            time.sleep(seconds)
        fd = os.open(os.environ["SENTINEL_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{tag} {time.time():.3f}\n".encode())
        finally:
            os.close(fd)
