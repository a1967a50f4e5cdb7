"""The ``resque scheduler`` process: elect a master, move due items, fire entries.

One loop, as resque-scheduler's ``run``: every iteration takes or keeps
the master lock; the master moves due delayed items, applies dynamic
schedule changes and fires the recurring entries whose time has come;
every process writes a heartbeat. Signals (Ruby's): INT/TERM/QUIT stop
after the current batch, USR1 logs the schedule, USR2 reloads it.
Handlers only record the signal; the wake-up byte comes from
``signal.set_wakeup_fd``, so no handler takes a lock or logs.
"""
from __future__ import annotations

import logging
import os
import select
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from .._compat import dumps, loads, set_title
from ..client import Resque
from ..errors import ResqueError
from ..keys import __version__
from .delayed import store_of
from .fire import Firer
from .lock import DEFAULT_TIMEOUT, MasterLock
from .mover import DEFAULT_BATCH, Mover
from .schedule import Entry, get_schedules, load_file, parse_schedule
from .timers import Timer

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
STALE_BEAT = 600.0


@dataclass
class SchedulerOptions:
    """How one scheduler process runs (Ruby's names in ``cli.py``)."""

    schedule_file: str | None = None
    static: dict[str, Entry] = field(default_factory=dict)
    dynamic: bool = False
    env: str | None = None
    interval: float = 5.0
    lock_timeout: int = DEFAULT_TIMEOUT
    batch_size: int = DEFAULT_BATCH
    lock_prefix: str = ""
    app_name: str | None = None


class Scheduler:
    """One scheduler process on one client; ``step()`` is one loop iteration."""

    def __init__(self, client: Resque, options: SchedulerOptions | None = None):
        self.client = client
        self.options = options or SchedulerOptions()
        self.store = store_of(client)
        self.lock = MasterLock(self.store, self.options.lock_prefix, self.options.lock_timeout)
        self.id = self.lock.value
        self.master: bool | None = None
        self.stopping = False
        self.signals: list[int] = []
        self.timers: dict[str, Timer] = {}
        self.static = dict(self.options.static)
        self.firer = Firer(client, self.lock)
        self.mover = Mover(client, self.options.batch_size, f"{self.id}:scheduler", self._stop_moving)
        self.started = time.time()
        self.status = "Starting"
        self.moved = 0
        self._held_at = 0.0
        self._beat_at = 0.0
        self._pruned_at = 0.0
        self._wake: tuple[int, int] | None = None

    # -- one iteration -----------------------------------------------------------

    def step(self, now: float | None = None) -> float:
        """Run one iteration; return how long to sleep before the next."""
        now = time.time() if now is None else now
        try:
            self._elect(now)
            if self.master:
                self._work(now)
            self._beat(now)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                redis.exceptions.BusyLoadingError) as exc:
            self._lost_redis(exc)
            return self.options.interval
        except redis.exceptions.RedisError as exc:  # e.g. out of memory: retry next loop
            logger.error("Redis refused a command (%s: %s); retrying in %ss",
                         type(exc).__name__, exc, self.options.interval)
            return self.options.interval
        return self._sleep_for(now)

    def _elect(self, now: float) -> None:
        held = self.lock.hold()
        self._held_at = time.monotonic()
        if held != self.master:
            self.master = held
            self.set_status("Master scheduler" if held else "Child scheduler")
            logger.info("%s is now the %s scheduler", self.id, "master" if held else "child")
            self.load_schedule(now)

    def _work(self, now: float) -> None:
        self.set_status("Processing Delayed Items")
        moved = self.mover.handle_delayed_items()
        if moved:
            self.moved += moved
            logger.info("moved %d due delayed items to their queues", moved)
        if self.options.dynamic:
            self.update_schedule(now)
        for timer in self.timers.values():
            if not self.stopping and timer.due(now):
                self.firer.fire(timer.entry, timer.take(now), timer.gap)
        self.set_status("Master scheduler")

    def _stop_moving(self) -> bool:
        """Between batches: stop on a signal or once the lock is lost."""
        if self.stopping:
            return True
        if time.monotonic() - self._held_at >= self.options.interval:
            self._held_at = time.monotonic()
            if not self.lock.hold():
                logger.warning("%s lost the master lock while moving items", self.id)
                self.master = None
                return True
        return False

    def _sleep_for(self, now: float) -> float:
        wait = self.options.interval
        if self.master:
            for timer in self.timers.values():
                wait = min(wait, timer.next_at - now)
        return max(0.01, wait)

    def _lost_redis(self, exc: Exception) -> None:
        logger.warning("Redis error (%s: %s); giving up the master lock and retrying",
                       type(exc).__name__, exc)
        try:
            self.lock.release()
        except redis.exceptions.RedisError:
            pass
        self.master = None

    # -- the schedule ------------------------------------------------------------

    def table(self) -> dict[str, Entry]:
        """Return the entries this process fires: static, then dynamic ones over them."""
        table = {n: e for n, e in self.static.items()}
        if self.options.dynamic:
            for name, config in get_schedules(self.client).items():
                entry = self._parse(name, config)
                if entry is not None:
                    table[name] = entry
        return table

    def _parse(self, name: str, config: dict[str, Any]) -> Entry | None:
        try:
            return Entry.parse(name, config)
        except ResqueError as exc:
            logger.error("skipping schedule entry %r: %s", name, exc)
            return None

    def load_schedule(self, now: float) -> None:
        """Rebuild every timer from the schedule (on start and master changes)."""
        self.set_status("Loading Schedule")
        self.timers = {}
        for name, entry in sorted(self.table().items()):
            self._schedule(entry, now)
        if self.master and self.options.dynamic:
            self.store.forget_changes()
        if not self.timers:
            logger.info("schedule empty: no recurring entries to fire")
        self.set_status(self.role())

    def role(self) -> str:
        """Return the title's role: master, child, or not yet known."""
        if self.master is None:
            return "Schedules Loaded"
        return "Master scheduler" if self.master else "Child scheduler"

    def _schedule(self, entry: Entry, now: float) -> None:
        if not entry.enabled(self.options.env):
            logger.info("schedule %r is not for env %r; skipped", entry.name, self.options.env)
            return
        try:
            timer = Timer.start(entry, now)
        except ResqueError as exc:
            logger.error("cannot schedule %r: %s", entry.name, exc)
            return
        if timer is not None:
            self.timers[entry.name] = timer
            logger.info("scheduled %r: %s", entry.name, entry.interval_text())

    def update_schedule(self, now: float) -> None:
        """Apply ``schedules_changed``: SPOP each name, reschedule or unschedule it."""
        if self.store.changed_count() == 0:
            return
        self.set_status("Updating schedule")
        while (name := self.store.pop_changed()) is not None:
            self.timers.pop(name, None)
            entry = self.table().get(name)
            if entry is not None:
                self._schedule(entry, now)
            else:
                logger.info("unscheduled %r", name)
        self.set_status(self.role())

    def reload(self) -> None:
        """Re-read the schedule file (if any) and rebuild every timer (USR2)."""
        self.set_status("Reloading Schedule")
        if self.options.schedule_file:
            try:
                self.static = load_file(self.options.schedule_file)
            except ResqueError as exc:
                logger.error("keeping the old schedule: %s", exc)
        self.load_schedule(time.time())

    def schedule_info(self) -> str:
        """Describe every timer (USR1)."""
        lines = ["Scheduling Info\tLast Run"]
        for name, t in sorted(self.timers.items()):
            last = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t.last)) if t.last else "never"
            lines.append(f"{name}\t{t.entry.interval_text()}\tnext "
                         f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t.next_at))}\t{last}")
        return "\n".join(lines)

    # -- status ------------------------------------------------------------------

    def set_status(self, status: str) -> None:
        """Show what the process does in its title, as Ruby's procline."""
        self.status = status
        o = self.options
        tags = "".join(f"[{t}]" for t in (o.app_name, o.env) if t)
        detail = f" ({len(self.timers)} entries, {self.moved} moved)" if self.master else ""
        set_title(f"resque-scheduler-{__version__}{tags}: {status}{detail}")

    def _beat(self, now: float) -> None:
        if now - self._beat_at < self.options.interval and self.master is not None:
            return
        self._beat_at = now
        self.store.beat(self.id, dumps({
            "id": self.id, "pid": os.getpid(), "master": bool(self.master), "status": self.status,
            "at": now, "started": self.started, "interval": self.options.interval,
            "entries": len(self.timers), "moved": self.moved, "version": __version__,
            "env": self.options.env, "dynamic": self.options.dynamic}))
        if now - self._pruned_at >= 60:
            self._pruned_at = now
            stale = [k for k, v in self.store.beats().items() if _beat_age(v, now) > STALE_BEAT]
            self.store.unbeat(*stale)

    # -- the process -------------------------------------------------------------

    def install_signals(self) -> None:
        """Record signals in handlers; wake the sleeper through a pipe."""
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        self._wake = (r, w)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        for sig in (*STOP_SIGNALS, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signals.append(signum)
        if signum in STOP_SIGNALS:
            self.stopping = True

    def _sleep(self, seconds: float) -> None:
        if self.signals or self.stopping:
            return
        if self._wake is None:
            time.sleep(seconds)
            return
        select.select([self._wake[0]], [], [], seconds)
        try:
            while os.read(self._wake[0], 512):
                pass
        except BlockingIOError:
            pass

    def _handle_signals(self) -> None:
        while self.signals:
            sig = self.signals.pop(0)
            if sig == signal.SIGUSR1:
                logger.info("%s", self.schedule_info())
            elif sig == signal.SIGUSR2:
                self.reload()

    def run(self) -> None:
        """Loop until INT, TERM or QUIT; then release the lock and say goodbye."""
        self.set_status("Starting")
        logger.info("resque-scheduler %s starting as %s (interval %ss, lock TTL %ss)", __version__,
                    self.id, self.options.interval, self.lock.timeout)
        try:
            while not self.stopping:
                wait = self.step()
                self._handle_signals()
                self._sleep(wait)
                self._handle_signals()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Give up the lock if held and remove the heartbeat."""
        try:
            if self.master:
                self.lock.release()
            self.store.unbeat(self.id)
        except redis.exceptions.RedisError as exc:
            logger.warning("could not release the master lock: %s", exc)
        logger.info("resque-scheduler %s stopped", self.id)


def _beat_age(raw: bytes, now: float) -> float:
    try:
        return now - float(loads(raw).get("at", 0))
    except (ValueError, AttributeError, TypeError):
        return float("inf")


def static_schedule(path: str | None, table: Any = None) -> dict[str, Entry]:
    """Return the static entries of a file or an in-memory table."""
    return load_file(path) if path else parse_schedule(table)
