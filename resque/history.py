"""Throughput, queue-size and failure history for the charts, sampled per period.

Every job is counted, Ruby workers' too: samples are snapshots of
``stat:processed`` and ``stat:failed``, which every worker increments.
Sampling costs the fleet a few commands per minute, not per job: each
process (a worker's heartbeat thread, a web process serving a page) tries
at most once per period, and a Lua script lets only the first process of
the period (cluster-wide) take the snapshot. The winner of a minute also
records the queue sizes and counts the failure records added since the
last sample, by class.

Where samples live (``Keys.history``), all sorted sets scored by the
Redis server's time, trimmed on every write:

============================  =========================  ===========
key                           holds                      kept
============================  =========================  ===========
``history:second``            counter snapshots          10 minutes
``history:minute``            counter snapshots          25 hours
``history:day``               first snapshot of a day    32 days
``history:queues``            sizes of the 10 largest    25 hours
                              queues (+ ``(other)``)
``history:failures``          new failures per class     25 hours
                              (10 classes + ``(other)``)
============================  =========================  ===========

Rates come from the difference of two snapshots over their time apart,
so a stretch with no sampling process (no web, no worker) shows as a gap
whose jobs are averaged over it, never lost. A counter that went down
(``stat:processed`` cleared, a Redis restart without persistence) restarted
from zero: its new value is what happened since.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterable

import redis

from ._compat import dumps, loads
from .keys import Keys, failed_stat, processed_stat
from .payload import job_class
from .preview import decode_cut
from .store import Store
from .replies import text

logger = logging.getLogger(__name__)

SECOND_KEEP = 600
MINUTE_KEEP = 25 * 3600
DAY_KEEP = 32 * 86400
TOP_SERIES = 10  # queues or classes kept per sample; the rest add up to OTHER
OTHER = "(other)"
NEW_FAILURES_READ = 500  # records read per list per sample, newest first
CLASS_BYTES = 512  # of a failure record read to find its class


@dataclass(frozen=True)
class Snapshot:
    """Both counters as they were at ``t`` (seconds, Redis server time)."""

    t: float
    processed: int
    failed: int


@dataclass(frozen=True)
class Rate:
    """Jobs per ``per`` seconds between two snapshots, ending at ``t``.

    ``gap`` is the time since the previous snapshot when it is longer than
    expected (no process sampled in between): the rate is then the average
    over that time.
    """

    t: float
    processed: float
    failed: float
    gap: float = 0.0


def parse_snapshot(member: bytes | str) -> Snapshot | None:
    """Read a ``<time>:<processed>:<failed>`` member (None if malformed)."""
    parts = (text(member) or "").split(":")
    try:
        return Snapshot(float(parts[0]), int(parts[1]), int(parts[2]))
    except (IndexError, ValueError):
        return None


def _delta(now: int, before: int) -> int:
    return now - before if now >= before else now  # a counter reset restarts from 0


def rates(snapshots: Iterable[Snapshot], per: float, period: float) -> list[Rate]:
    """Turn successive snapshots into rates per ``per`` seconds.

    ``period`` is the sampling period; a step longer than 1.5 periods is
    marked as a gap (its rate averaged over the step).
    """
    out: list[Rate] = []
    prev: Snapshot | None = None
    for snap in sorted(snapshots, key=lambda s: s.t):
        if prev is not None and snap.t > prev.t:
            dt = snap.t - prev.t
            out.append(Rate(snap.t, _delta(snap.processed, prev.processed) * per / dt,
                            _delta(snap.failed, prev.failed) * per / dt,
                            dt if dt > 1.5 * period else 0.0))
        prev = snap
    return out


def daily_counts(snapshots: list[Snapshot], current: Snapshot) -> list[tuple[float, int, int]]:
    """Return (day start, processed, failed) per day from each day's first snapshot.

    A day's jobs are those between its first snapshot and the next day's
    (today's: up to ``current``).
    """
    out: list[tuple[float, int, int]] = []
    ordered = sorted(snapshots, key=lambda s: s.t)
    for snap, nxt in zip(ordered, [*ordered[1:], current]):
        if nxt.t >= snap.t:
            day = snap.t - snap.t % 86400
            out.append((day, _delta(nxt.processed, snap.processed),
                        _delta(nxt.failed, snap.failed)))
    return out


def top(counts: dict[str, int], n: int = TOP_SERIES) -> dict[str, int]:
    """Keep the ``n`` largest entries; add up the rest under ``OTHER``."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[:n])
    rest = sum(v for _, v in ranked[n:])
    if rest:
        kept[OTHER] = kept.get(OTHER, 0) + rest
    return kept


class History:
    """Take and read the chart samples of one namespace (all their Redis I/O)."""

    def __init__(self, store: Store):
        self.store = store
        self.redis: Any = store.redis
        self.keys: Keys = store.keys
        source = resources.files("resque").joinpath("lua", "history_sample.lua").read_text("utf-8")
        self._sample = self.redis.register_script(source)
        self._tried: dict[str, int] = {}

    # -- sampling -------------------------------------------------------------

    def _due(self, series: str, period: int, now: float) -> bool:
        slot = int(now // period)
        if self._tried.get(series) == slot:
            return False
        self._tried[series] = slot
        return True

    def _claim(self, series: str, period: int, keep: int, day: bool) -> bool:
        k = self.keys
        reply = self._sample(
            keys=[k.history_claims, k.history(series), k.stat(processed_stat()),
                  k.stat(failed_stat()), k.history("day")],
            args=[period, series, keep, "1" if day else "0", DAY_KEEP])
        if reply == -1:
            logger.warning("Not sampling %s: stat:processed or stat:failed is not an integer",
                           series)
        return isinstance(reply, (bytes, str))

    def tick(self, now: float | None = None) -> bool:
        """Sample this minute if no process has yet; True if this one did.

        Sends nothing when this process already tried this minute. Never
        raises for Redis errors (a chart must not break a page or a worker).
        """
        now = time.time() if now is None else now
        if not self._due("minute", 60, now):
            return False
        try:
            if not self._claim("minute", 60, MINUTE_KEEP, day=True):
                return False
            self._sample_queues()
            self._sample_failures()
            return True
        except redis.RedisError as exc:
            logger.debug("History sample skipped: %s", exc)
            return False

    def tick_live(self, now: float | None = None) -> bool:
        """Sample this second for the live chart (a page in live mode calls this)."""
        now = time.time() if now is None else now
        if not self._due("second", 1, now):
            return False
        try:
            return self._claim("second", 1, SECOND_KEEP, day=False)
        except redis.RedisError as exc:
            logger.debug("Live sample skipped: %s", exc)
            return False

    def _add(self, series: str, data: dict[str, Any], keep: int) -> None:
        now = self.store.server_time()
        with self.redis.pipeline() as pipe:
            pipe.zadd(self.keys.history(series), {dumps({"t": round(now, 3), **data}): now})
            pipe.zremrangebyscore(self.keys.history(series), "-inf", f"({now - keep}")
            pipe.execute()

    def _sample_queues(self) -> None:
        self._add("queues", {"q": top(self.store.queue_sizes())}, MINUTE_KEEP)

    def _failure_lists(self) -> list[str]:
        names = set(self.store.failed_queue_names())
        names.add("failed")
        return sorted(names)

    def _sample_failures(self) -> None:
        """Count the records added to each failure list since the last sample, by class.

        Records are appended at a list's tail, so the new ones are the
        tail beyond the length seen last time. A list that shrank (records
        retried or removed) is re-based without counting; at most
        ``NEW_FAILURES_READ`` records per list are read, newest first.
        """
        lists = self._failure_lists()
        k = self.keys
        with self.redis.pipeline(transaction=False) as pipe:
            for name in lists:
                pipe.llen(k.failed_list(name))
            pipe.hgetall(k.history_failure_cursor)
            *lengths, cursor = pipe.execute(raise_on_error=False)
        seen = {text(a): b for a, b in cursor.items()} if isinstance(cursor, dict) else {}
        counts: dict[str, int] = {}
        marks: dict[str, int] = {}
        for name, length in zip(lists, lengths):
            if not isinstance(length, int):
                continue
            marks[name] = length
            before = seen.get(name)
            if before is None or not text(before) or not (text(before) or "").isdigit():
                continue  # first sight of this list: old records are not new
            start = max(int(text(before) or 0), length - NEW_FAILURES_READ)
            for cut in self.store.list_cuts(k.failed_list(name), start, length - start, CLASS_BYTES):
                value, _ = decode_cut(cut)
                name_of = job_class(value.get("payload")) if isinstance(value, dict) else None
                counts[name_of or "(unknown)"] = counts.get(name_of or "(unknown)", 0) + 1
        if marks:
            self.redis.hset(k.history_failure_cursor, mapping=marks)
        self._add("failures", {"c": top(counts)}, MINUTE_KEEP)

    # -- reading --------------------------------------------------------------

    def snapshots(self, series: str, since: float) -> list[Snapshot]:
        """Return the counter snapshots of a series taken at or after ``since``."""
        raw = self.redis.zrangebyscore(self.keys.history(series), since, "+inf")
        return [s for s in (parse_snapshot(m) for m in raw) if s is not None]

    def latest(self, series: str) -> float | None:
        """Return the time of a series' newest sample (None if it has none)."""
        newest = self.redis.zrevrange(self.keys.history(series), 0, 0, withscores=True)
        return float(newest[0][1]) if newest else None

    def records(self, series: str, since: float) -> list[dict[str, Any]]:
        """Return the JSON samples (``queues``, ``failures``) taken at or after ``since``."""
        out = []
        for member in self.redis.zrangebyscore(self.keys.history(series), since, "+inf"):
            try:
                value = loads(member)
            except ValueError:
                continue
            if isinstance(value, dict) and isinstance(value.get("t"), (int, float)):
                out.append(value)
        return out

    def current(self) -> Snapshot:
        """Return both counters now, at the server's time (0 for a corrupt one)."""
        now = self.store.server_time()
        values = [self.store.stat_value(processed_stat()), self.store.stat_value(failed_stat())]
        p, f = (v if isinstance(v, int) else 0 for v in values)
        return Snapshot(now, p, f)
