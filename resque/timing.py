"""Job run times per class: a count, a sum and a histogram with fixed buckets.

Workers measure each job (fork to exit, or the in-process perform) and
batch the figures; the batch rides on the worker's existing cycle call
(``lua/cycle.lua``), which folds it into one hash, so timing adds no
round trip: a batch goes every ``FLUSH_JOBS`` jobs or ``FLUSH_SECONDS``
(and when the worker stops), a few hash increments per class in it.

Where it lives (``Keys.timing``): one hash with, per class, the fields
``count|<class>``, ``sum|<class>`` (seconds) and ``<i>|<class>`` (jobs
that took at most ``BUCKETS[i]`` seconds and more than the bound before;
the last index counts the rest); ``Keys.timing_classes`` is the set of
classes seen. At most ``CLASS_CAP`` classes are kept; jobs of further
classes are counted under ``OTHER``.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from .keys import TIMING_BUCKETS, TIMING_CLASS_CAP, TIMING_OTHER
from .store import Store
from .replies import text

BUCKETS = TIMING_BUCKETS
CLASS_CAP = TIMING_CLASS_CAP
OTHER = TIMING_OTHER
FLUSH_JOBS = 64  # a worker sends its batch after this many jobs ...
FLUSH_SECONDS = 1.0  # ... or this long after the first job in it
_UNSAFE = re.compile(r"[\t\n\r]")  # the batch's separators, never in a class name it sends


def bucket_of(seconds: float) -> int:
    """Return the index of the bucket ``seconds`` falls in (``len(BUCKETS)``: above all)."""
    return bisect_left(BUCKETS, seconds)


class Batch:
    """Run times a worker has measured and not yet sent.

    ``add`` costs a dict lookup and a bisect; ``due`` reads no clock (the
    worker passes the time it already has).
    """

    def __init__(self) -> None:
        self.classes: dict[str, list[Any]] = {}
        self.jobs = 0
        self.since: float | None = None

    def add(self, name: str, seconds: float) -> None:
        """Count one job of class ``name`` that ran ``seconds``."""
        entry = self.classes.get(name)
        if entry is None:
            entry = self.classes[name] = [0, 0.0, [0] * (len(BUCKETS) + 1)]
        entry[0] += 1
        entry[1] += seconds
        entry[2][bisect_left(BUCKETS, seconds)] += 1
        self.jobs += 1

    def due(self, now: float) -> bool:
        """Say whether the batch should go with the cycle call made at ``now``."""
        if not self.jobs:
            return False
        if self.since is None:
            self.since = now
        return self.jobs >= FLUSH_JOBS or now - self.since >= FLUSH_SECONDS

    def take(self) -> bytes:
        """Return the batch as the cycle script's ARGV (lines of tab-separated fields); empty it."""
        lines = [f"{CLASS_CAP}\t{OTHER}"]
        for name, (count, seconds, buckets) in self.classes.items():
            spread = " ".join(f"{i}:{n}" for i, n in enumerate(buckets) if n)
            lines.append(f"{_UNSAFE.sub('?', name) or OTHER}\t{count}\t{seconds:.6f}\t{spread}")
        self.classes, self.jobs, self.since = {}, 0, None
        return "\n".join(lines).encode("utf-8")


@dataclass
class ClassTiming:
    """What workers measured for one job class."""

    name: str
    count: int = 0
    sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))

    def cumulative(self) -> list[int]:
        """Return Prometheus-style counts: jobs at or under each bound, then all."""
        out, total = [], 0
        for n in self.buckets:
            total += n
            out.append(total)
        return out

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """Estimate a quantile by linear interpolation inside its bucket."""
        if not self.count:
            return 0.0
        rank, seen, lower = q * self.count, 0, 0.0
        for i, n in enumerate(self.buckets):
            upper = BUCKETS[i] if i < len(BUCKETS) else BUCKETS[-1]
            if n and seen + n >= rank:
                return lower + (upper - lower) * (rank - seen) / n
            seen += n
            lower = upper
        return BUCKETS[-1]


def parse(fields: dict[Any, Any]) -> list[ClassTiming]:
    """Read the timing hash into one ``ClassTiming`` per class, by name."""
    by_name: dict[str, ClassTiming] = {}
    for raw_field, raw_value in fields.items():
        kind, _, name = (text(raw_field) or "").partition("|")
        t = by_name.setdefault(name, ClassTiming(name))
        try:
            value = float(text(raw_value) or 0)
        except ValueError:
            continue
        if kind == "count":
            t.count = int(value)
        elif kind == "sum":
            t.sum = value
        elif kind.isdigit() and int(kind) <= len(BUCKETS):
            t.buckets[int(kind)] = int(value)
    return [by_name[n] for n in sorted(by_name) if by_name[n].count]


class Timing:
    """Read and clear the run-time figures of one namespace."""

    def __init__(self, store: Store):
        self.store = store

    def classes(self) -> list[ClassTiming]:
        return parse(self.store.redis.hgetall(self.store.keys.timing))

    def clear(self) -> None:
        """Forget every figure (as ``Stat.clear`` does for counters)."""
        k = self.store.keys
        self.store.redis.delete(k.timing, k.timing_classes)
