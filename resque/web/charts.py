"""Lay out charts as plain data for an inline SVG template (no script, no CDN).

A chart is drawn server-side: ``line_chart`` and ``bar_chart`` turn time
series into SVG path strings, axis ticks, a text summary and a table of
the same numbers, which ``_macros.html`` renders. Times are shown in UTC.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 10, 26
MAX_SERIES = 8
X_TICKS = 5


@dataclass(frozen=True)
class Point:
    """One value at time ``t``; ``gap`` seconds without samples before it."""

    t: float
    value: float
    gap: float = 0.0


@dataclass
class Series:
    """A named line (or bar set) of points in time order."""

    name: str
    points: list[Point] = field(default_factory=list)


def nice_ceiling(value: float) -> float:
    """Round up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def number(value: float) -> str:
    """Write a chart value briefly: ``3``, ``2.5``, ``0.07``, ``12k``."""
    if value >= 10000:
        return f"{value / 1000:.0f}k"
    if value >= 10:
        return f"{value:.0f}"
    text = f"{value:.2g}" if value < 1 else f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def utc(t: float, fmt: str) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime(fmt)


class _Frame:
    """Map time and value to SVG coordinates."""

    def __init__(self, start: float, end: float, top: float):
        self.start, self.end, self.top = start, max(end, start + 1), top

    def x(self, t: float) -> float:
        span = self.end - self.start
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (t - self.start) / span, 1)

    def y(self, v: float) -> float:
        return round(HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * min(v, self.top) / self.top, 1)


def _axes(frame: _Frame, fmt: str) -> dict[str, Any]:
    yticks = [{"y": frame.y(v), "label": number(v)} for v in (0, frame.top / 2, frame.top)]
    step = (frame.end - frame.start) / (X_TICKS - 1)
    xticks = [{"x": frame.x(frame.start + i * step), "label": utc(frame.start + i * step, fmt)}
              for i in range(X_TICKS)]
    return {"yticks": yticks, "xticks": xticks, "left": LEFT, "right": WIDTH - RIGHT,
            "base": HEIGHT - BOTTOM, "top": TOP, "width": WIDTH, "height": HEIGHT}


def thin(points: Sequence[Point], start: float, end: float,
         slots: int = WIDTH - LEFT - RIGHT) -> list[Point]:
    """Average points that fall in the same horizontal slot (one per SVG unit).

    A day by minute is 1,440 points for about 420 units of width; the mean
    keeps the volume, a gap keeps its longest length.
    """
    span = max(end - start, 1.0)
    out: list[Point] = []
    group: list[Point] = []
    slot = None
    for p in points:
        here = int((p.t - start) / span * slots)
        if group and here != slot:
            out.append(_merge(group))
            group = []
        group.append(p)
        slot = here
    if group:
        out.append(_merge(group))
    return out


def _merge(group: list[Point]) -> Point:
    if len(group) == 1:
        return group[0]
    return Point(group[-1].t, sum(p.value for p in group) / len(group), max(p.gap for p in group))


def _paths(frame: _Frame, points: Sequence[Point], period: float) -> tuple[str, str]:
    """Return (solid path, dashed path): gaps are dashed at their average value."""
    solid: list[str] = []
    dashed: list[str] = []
    prev: Point | None = None
    for p in points:
        if p.t < frame.start:
            prev = p
            continue
        y = frame.y(p.value)
        if p.gap:
            dashed.append(f"M{frame.x(max(p.t - p.gap, frame.start))} {y}H{frame.x(p.t)}")
            solid.append(f"M{frame.x(p.t)} {y}")
        elif prev is None or prev.t < frame.start or p.t - prev.t > 3 * period:
            solid.append(f"M{frame.x(p.t)} {y}")
        else:
            solid.append(f"L{frame.x(p.t)} {y}")
        prev = p
    return "".join(solid), "".join(dashed)


def _table(series: Sequence[Series], start: float, end: float, bucket: float,
           fmt: str, reduce: Callable[[list[float]], float]) -> list[list[str]]:
    """Return one row per bucket: its start time, then each series' value."""
    first = start - start % bucket
    slots = max(0, math.ceil((end - first) / bucket))
    grouped: list[list[list[float]]] = [[[] for _ in range(slots)] for _ in series]
    for column, s in zip(grouped, series):
        for p in s.points:
            i = int((p.t - first) // bucket)
            if 0 <= i < slots:
                column[i].append(p.value)
    return [[utc(first + i * bucket, fmt),
             *(number(reduce(column[i])) if column[i] else "–" for column in grouped)]
            for i in range(slots)]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _last(values: list[float]) -> float:
    return values[-1]


def line_chart(cid: str, title: str, unit: str, series: Sequence[Series], start: float,
               end: float, *, period: float, fmt: str = "%H:%M", bucket: float = 3600,
               table_fmt: str = "%Y-%m-%d %H:%M", gauge: bool = False) -> dict[str, Any]:
    """Lay out a line chart of up to ``MAX_SERIES`` series over [start, end].

    ``period`` is the expected time between points (longer steps break the
    line). The table has one row per ``bucket`` seconds: the mean (or, for
    a ``gauge``, the last value) in it.
    """
    shown = list(series)[:MAX_SERIES]
    visible = [p.value for s in shown for p in s.points if p.t >= start]
    frame = _Frame(start, end, nice_ceiling(max(visible, default=0.0)))
    lines = []
    slot = (end - start) / (WIDTH - LEFT - RIGHT)  # thinned points are at least this far apart
    for i, s in enumerate(shown):
        solid, dashed = _paths(frame, thin(s.points, start, end), max(period, slot))
        values = [p.value for p in s.points if p.t >= start]
        lines.append({"name": s.name, "css": f"s{i}", "d": solid, "gap_d": dashed,
                      "latest": number(values[-1]) if values else "–",
                      "peak": number(max(values)) if values else "–"})
    summary = "; ".join(f"{ln['name']}: latest {ln['latest']}, peak {ln['peak']} {unit}"
                        for ln in lines) or "no samples yet"
    table = _table(shown, start, end, bucket, table_fmt, _last if gauge else _mean)
    return {"id": cid, "title": title, "unit": unit, "kind": "line", "lines": lines,
            "summary": f"{title}. {summary}.", "empty": not visible,
            "head": ["Time (UTC)", *(s.name for s in shown)], "rows": table,
            **_axes(frame, fmt)}


def bar_chart(cid: str, title: str, unit: str, days: Sequence[tuple[float, int, int]],
              start: float, end: float, step: float = 86400, fmt: str = "%m-%d",
              names: tuple[str, str] = ("processed", "failed")) -> dict[str, Any]:
    """Lay out bars of two counts per step (the second drawn over the first)."""
    frame = _Frame(start, end, nice_ceiling(max((d[1] for d in days), default=0)))
    width = max(1.0, frame.x(start + step) - frame.x(start) - 2)
    bars: list[dict[str, Any]] = []
    for t, first, second in days:
        if t < start:
            continue
        x = frame.x(t) + 1
        bars.append({"x": x, "w": width, "label": utc(t, "%Y-%m-%d"),
                     "y0": frame.y(first), "h0": round(frame.y(0) - frame.y(first), 1),
                     "y1": frame.y(second), "h1": round(frame.y(0) - frame.y(second), 1),
                     "v0": first, "v1": second})
    total = (sum(b["v0"] for b in bars), sum(b["v1"] for b in bars))
    summary = (f"{title}. {total[0]} {names[0]} and {total[1]} {names[1]} {unit} "
               f"over {len(bars)} days") if bars else f"{title}. No samples yet"
    return {"id": cid, "title": title, "unit": unit, "kind": "bar", "bars": bars,
            "names": names, "summary": summary + ".", "empty": not bars,
            "head": ["Day (UTC)", *names],
            "rows": [[b["label"], str(b["v0"]), str(b["v1"])] for b in reversed(bars)],
            **_axes(frame, fmt)}
