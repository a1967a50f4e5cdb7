"""The charts' data: history samples read, turned into rates and laid out.

``HistoryViews`` serves the Overview (live throughput, last day by minute,
last month by day), the Queues page (queue sizes) and the Failed page
(failures per class). Each page view also offers the sampler its turn
(``History.tick``), so a web process alone keeps the history going.
Charts that change once a minute are built again only when their series
got a new sample (one ``ZREVRANGE`` tells), or ``CACHE_SECONDS`` later.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from ..history import OTHER, History, Snapshot, daily_counts, rates
from .charts import MAX_SERIES, Point, Series, bar_chart, line_chart

LIVE_WINDOW = 300
DAY_WINDOW = 86400
MONTH_DAYS = 31
CACHE_SECONDS = 15.0
SERIES = ("live", "minute", "day", "queues", "failures")


def _series_of(samples: list[dict[str, Any]], member: str, per_hour: bool) -> list[Series]:
    """Split JSON samples into up to ``MAX_SERIES`` named series, largest first."""
    names: dict[str, float] = {}
    for s in samples:
        for name, value in (s.get(member) or {}).items():
            if isinstance(value, (int, float)):
                names[name] = max(names.get(name, 0), value) if not per_hour \
                    else names.get(name, 0) + value
    ranked = sorted(names, key=lambda n: (n == OTHER, -names[n], n))[:MAX_SERIES]
    out = []
    for name in ranked:
        pts: dict[float, float] = {}
        for s in samples:
            t = float(s["t"])
            value = (s.get(member) or {}).get(name)
            if per_hour:  # a sample without the class counted none of it
                hour = t - t % 3600
                pts[hour] = pts.get(hour, 0) + (value if isinstance(value, (int, float)) else 0)
            elif isinstance(value, (int, float)):  # absent: not among the largest then
                pts[t] = value
        out.append(Series(name, [Point(t, v) for t, v in sorted(pts.items())]))
    return out


class HistoryViews:
    """Build chart layouts and JSON points from one client's ``History``."""

    def __init__(self, history: History, clock: Callable[[], float] = time.time):
        self.history = history
        self.clock = clock
        self._cache: dict[str, tuple[float, float | None, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def sample(self, live: bool = False) -> None:
        """Give this process its turn to sample (cheap when not due)."""
        self.history.tick()
        if live:
            self.history.tick_live()

    def _cached(self, name: str, series: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Build a chart again only when its series got a sample, or after a while."""
        now = self.clock()
        version = self.history.latest(series)
        with self._lock:
            hit = self._cache.get(name)
            if hit and hit[0] > now and hit[1] == version:
                return hit[2]
        value = build()
        with self._lock:
            self._cache[name] = (now + CACHE_SECONDS, version, value)
        return value

    # -- points (the JSON API) ----------------------------------------------

    def points(self, series: str) -> dict[str, Any]:
        """Return one series' points as plain data (``/api/history/<series>``)."""
        now = self.clock()
        if series == "live":
            got = rates(self.history.snapshots("second", now - LIVE_WINDOW - 5), 1, 5)
            return {"series": series, "unit": "jobs/s", "window": LIVE_WINDOW,
                    "points": [vars(r) for r in got if r.t >= now - LIVE_WINDOW]}
        if series == "minute":
            got = rates(self.history.snapshots("minute", now - DAY_WINDOW - 120), 60, 60)
            return {"series": series, "unit": "jobs/min", "window": DAY_WINDOW,
                    "points": [vars(r) for r in got if r.t >= now - DAY_WINDOW]}
        if series == "day":
            days = daily_counts(self.history.snapshots("day", now - MONTH_DAYS * 86400),
                                self.history.current())
            return {"series": series, "unit": "jobs/day", "window": MONTH_DAYS * 86400,
                    "points": [{"t": t, "processed": p, "failed": f} for t, p, f in days]}
        return {"series": series, "unit": "jobs" if series == "queues" else "failures/min",
                "window": DAY_WINDOW,
                "points": self.history.records(series, now - DAY_WINDOW)}

    # -- charts (the pages) ---------------------------------------------------

    def live(self) -> dict[str, Any]:
        now = self.clock()
        got = rates(self.history.snapshots("second", now - LIVE_WINDOW - 5), 1, 5)
        series = [Series("processed", [Point(r.t, r.processed, r.gap) for r in got]),
                  Series("failed", [Point(r.t, r.failed, r.gap) for r in got])]
        return line_chart("chart-live", "Jobs per second, last 5 minutes", "jobs/s", series,
                          now - LIVE_WINDOW, now, period=5, fmt="%H:%M:%S", bucket=30,
                          table_fmt="%H:%M:%S")

    def day(self) -> dict[str, Any]:
        def build() -> dict[str, Any]:
            now = self.clock()
            got = rates(self.history.snapshots("minute", now - DAY_WINDOW - 120), 60, 60)
            series = [Series("processed", [Point(r.t, r.processed, r.gap) for r in got]),
                      Series("failed", [Point(r.t, r.failed, r.gap) for r in got])]
            return line_chart("chart-day", "Jobs per minute, last 24 hours", "jobs/min",
                              series, now - DAY_WINDOW, now, period=60)
        return self._cached("day", "minute", build)

    def month(self) -> dict[str, Any]:
        def build() -> dict[str, Any]:
            now = self.clock()
            start = now - now % 86400 - (MONTH_DAYS - 1) * 86400
            snaps: list[Snapshot] = self.history.snapshots("day", start)
            days = daily_counts(snaps, self.history.current())
            return bar_chart("chart-month", "Jobs per day, last 31 days", "jobs", days,
                             start, start + MONTH_DAYS * 86400)
        return self._cached("month", "day", build)

    def queues(self) -> dict[str, Any]:
        def build() -> dict[str, Any]:
            now = self.clock()
            series = _series_of(self.history.records("queues", now - DAY_WINDOW), "q", False)
            return line_chart("chart-queues", "Queue sizes, last 24 hours", "jobs", series,
                              now - DAY_WINDOW, now, period=60, gauge=True)
        return self._cached("queues", "queues", build)

    def failures(self) -> dict[str, Any]:
        def build() -> dict[str, Any]:
            now = self.clock()
            series = _series_of(self.history.records("failures", now - DAY_WINDOW), "c", True)
            return line_chart("chart-failures", "New failures per hour by class, last 24 hours",
                              "failures/h", series, now - DAY_WINDOW, now, period=3600)
        return self._cached("failures", "failures", build)
