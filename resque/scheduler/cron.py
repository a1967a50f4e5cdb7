"""fugit's cron and duration grammar, evaluated with croniter.

resque-scheduler parses with fugit (reference section 3.4): 5 fields, or 6
with **seconds first**, an optional trailing time-zone name, ``@hourly``
and friends, ``L``, ``#n`` and ``#-1``, the two day fields OR-ed. croniter
evaluates (it puts seconds last and spells "last Monday" ``L1``, so the
text is translated first). croniter is imported on first use, never by
``import resque``.
"""
from __future__ import annotations

import math
import os
import re
from datetime import datetime, timezone, tzinfo
from typing import Any

from .errors import ScheduleError

SPECIALS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@noon": "0 12 * * *", "@hourly": "0 * * * *",
}
_UNITS = {"y": 365 * 86400, "M": 30 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([yMwdhms])")
_ISO = re.compile(r"P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
                  r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?")
_ISO_UNITS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)
MIN_INTERVAL = 0.3  # rufus-scheduler's tick: shorter intervals are refused


def parse_duration(value: Any) -> float:
    """Return seconds of a fugit duration: ``30s``, ``1h30m``, ``1M``, ``P1D``, ``90``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        seconds = _duration_text(value.strip())
    else:
        raise ScheduleError(f"invalid duration {value!r}")
    if seconds < MIN_INTERVAL:
        raise ScheduleError(f"interval {value!r} is below {MIN_INTERVAL}s")
    return seconds


def _duration_text(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    if text.startswith("P"):
        m = _ISO.fullmatch(text)
        if m and any(m.groups()):
            return sum(float(g) * u for g, u in zip(m.groups(), _ISO_UNITS) if g)
    parts = _DURATION.findall(text)
    if parts and "".join(n + u for n, u in parts) == text.replace(" ", ""):
        return sum(float(n) * _UNITS[u] for n, u in parts)
    raise ScheduleError(f"invalid duration {text!r}")


def local_zone() -> tzinfo:
    """Return the zone crons without one use: ``TZ``, else the system's."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError):
        return datetime.now().astimezone().tzinfo or timezone.utc


def _zone(name: str) -> tzinfo | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    if name.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    if "/" not in name and not name.isalpha():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _field(text: str, dow: bool) -> str:
    if "%" in text:
        raise ScheduleError(f"cron field {text!r}: the '%' modulo extension is not supported")
    if dow and "#-1" in text:
        return ",".join(f"L{p[:-3]}" if p.endswith("#-1") else p for p in text.split(","))
    if dow and re.search(r"#-\d", text):
        raise ScheduleError(f"cron field {text!r}: only #-1 (last) is supported among negative #n")
    return text


class Cron:
    """A fugit cron string: ``next_after(t)`` gives the next occurrence."""

    def __init__(self, text: str, zone: tzinfo | None = None):
        self.text = text
        words = text.split()
        if words and words[0].lower() in SPECIALS:
            words = SPECIALS[words[0].lower()].split() + words[1:]
        found = _zone(words[-1]) if len(words) in (6, 7) else None
        if found is not None and len(words) in (6, 7):
            words = words[:-1]
        self.zone = found or zone or local_zone()
        if len(words) == 6:  # fugit: seconds first; croniter: seconds last
            words = words[1:] + words[:1]
        if len(words) not in (5, 6):
            raise ScheduleError(f"invalid cron string {text!r}")
        words[4] = _field(words[4], True)
        self.expr = " ".join(words)
        self.fixed_hour = words[1] != "*"
        try:
            from croniter import croniter
            croniter(self.expr, datetime.now(self.zone))
        except ScheduleError:
            raise
        except (ValueError, KeyError) as exc:  # croniter's errors are ValueErrors
            raise ScheduleError(f"invalid cron string {text!r}: {exc}") from None

    def next_after(self, t: float) -> float:
        """Return the first occurrence strictly after epoch ``t``.

        As classic cron: when a DST fall-back repeats an hour, an entry
        with a fixed hour fires on the first pass only; entries whose hour
        is ``*`` keep firing by elapsed time.
        """
        from croniter import croniter
        it = croniter(self.expr, datetime.fromtimestamp(t, self.zone))
        for _ in range(100):
            ts = float(it.get_next(datetime).timestamp())
            local = datetime.fromtimestamp(ts, self.zone)
            if self.fixed_hour and local.fold == 1 and _ambiguous(local):
                continue
            if ts > t:
                return ts
        raise ScheduleError(f"cron {self.text!r} found no next time after {t}")

    def latest_until(self, first: float, now: float) -> tuple[float, float]:
        """Return (last occurrence ≤ ``now`` from ``first`` on, the one after it)."""
        nxt = self.next_after(first)
        if nxt > now:
            return first, nxt
        from croniter import croniter  # several were missed: jump to the latest
        start = datetime.fromtimestamp(math.floor(now) + 1, self.zone)
        slot = max(first, float(croniter(self.expr, start).get_prev(float)))
        return slot, self.next_after(slot)


def _ambiguous(local: datetime) -> bool:
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


class Every:
    """An ``every`` interval counted from a start time (Ruby: load time)."""

    def __init__(self, value: Any):
        self.text = str(value)
        self.seconds = parse_duration(value)

    def next_after(self, anchor: float, t: float) -> float:
        """Return the first ``anchor + k*interval`` strictly after ``t``."""
        k = math.floor((t - anchor) / self.seconds) + 1
        return anchor + max(k, 1) * self.seconds


__all__ = ["Cron", "Every", "MIN_INTERVAL", "SPECIALS", "local_zone", "parse_duration"]
