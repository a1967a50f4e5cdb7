"""Jobs the benchmarks run: no-ops, a memory probe and a pickup-latency stamp."""
from __future__ import annotations

import os
import time

from resque import Registry


class Noop:
    """Do nothing: the cost measured is the queue's, not the job's."""

    queue = "bench"

    @staticmethod
    def perform() -> None:
        return None


class RssProbe:
    """Append this process's RSS and private (USS) kB to a file."""

    queue = "bench"

    @staticmethod
    def perform(path: str) -> None:
        rss, uss = memory_kb(os.getpid())
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {rss} {uss}\n")


class Stamp:
    """Append the seconds since ``enqueued_at`` to a file (pickup latency)."""

    queue = "bench"

    @staticmethod
    def perform(path: str, enqueued_at: float) -> None:
        latency = time.time() - enqueued_at
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{latency:.6f}\n")


def noop() -> None:
    """The RQ twin of ``Noop``."""


def registry() -> Registry:
    """Return a registry holding the benchmark jobs under short wire names."""
    reg = Registry()
    for job in (Noop, RssProbe, Stamp):
        reg.register(job, name=job.__name__)
    return reg


def memory_kb(pid: int) -> tuple[int, int]:
    """Return (RSS, USS) of a process in kB from /proc; (0, 0) elsewhere."""
    rss = uss = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    uss += int(line.split()[1])
    except OSError:
        pass
    return rss, uss
