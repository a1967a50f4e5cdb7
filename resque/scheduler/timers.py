"""When each recurring entry fires next, and which occurrence a firing is."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .cron import Cron, Every, parse_duration
from .schedule import Entry, time_of

CRON_GAP = 0.5  # cron occurrences are whole seconds: a later one is at least 1 s on


@dataclass
class Timer:
    """One entry's next run; ``take`` names the occurrence being fired.

    Missed occurrences (a stall, a failover) collapse into one firing, as
    rufus-scheduler's ``discard_past``; they are never replayed.
    """

    entry: Entry
    trigger: Cron | Every
    next_at: float
    anchor: float
    last: float | None = None
    times: int | None = None
    until: float = math.inf

    @classmethod
    def start(cls, entry: Entry, now: float) -> "Timer | None":
        """Start an entry's timer at ``now`` (its load time); None if manual-only."""
        trigger = entry.trigger()
        if trigger is None:
            return None
        first = entry.first_at(now)
        if isinstance(trigger, Cron):
            nxt = first if first is not None else trigger.next_after(now)
            anchor = nxt
        else:
            nxt = first if first is not None else now + trigger.seconds
            anchor = nxt - trigger.seconds
        timer = cls(entry, trigger, nxt, anchor)
        opts = entry.options
        if "times" in opts:
            timer.times = int(opts["times"])
        if "last_in" in opts:
            timer.until = now + parse_duration(opts["last_in"])
        elif "last_at" in opts:
            timer.until = time_of(opts["last_at"])
        return timer

    @property
    def gap(self) -> float:
        """The least distance between two firings that counts as a new one."""
        if isinstance(self.trigger, Every):
            return self.trigger.seconds * 0.9
        return CRON_GAP

    def due(self, now: float) -> bool:
        return self.next_at <= now and self.next_at <= self.until and self.times != 0

    def take(self, now: float) -> float:
        """Return the occurrence to fire (the latest due) and move to the next."""
        if isinstance(self.trigger, Cron):
            slot, nxt = self.trigger.latest_until(self.next_at, now)
        else:
            every = self.trigger.seconds
            k = max(0, math.floor((now - self.next_at) / every))
            slot = self.next_at + k * every
            nxt = slot + every
        self.last, self.next_at = slot, nxt
        if self.times is not None:
            self.times -= 1
        if self.times == 0 or nxt > self.until:
            self.next_at = math.inf
        return slot
