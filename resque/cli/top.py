"""``resque top``: a live view of queues, rates and working workers."""
from __future__ import annotations

import os
import select
import sys
import termios
import time
import tty
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import click

from ..client import Resque
from ..worker_info import WorkerInfo
from ..keys import parse_time
from ..payload import job_class
from .admin import admin_client, printable, table
from .main import main

_QUIT_KEYS = ("q", "Q", "\x04")  # q, or Ctrl-D on a terminal in cbreak mode


@dataclass(frozen=True)
class Snapshot:
    """The counters and queue sizes at one instant."""

    at: float
    processed: int
    failed: int
    sizes: dict[str, int]


def take_snapshot(client: Resque, now: float) -> Snapshot:
    """Read the counters and queue sizes, stamped ``now``."""
    return Snapshot(now, client.stats.get("processed"), client.stats.get("failed"), client.queue_sizes())


def _rate(new: int, old: int, seconds: float) -> str:
    return f"{(new - old) / seconds:+.1f}/s" if seconds > 0 else "-"


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _running(worker: WorkerInfo, now: float, limit: float | None = None) -> str:
    started = parse_time(str((worker.job or {}).get("run_at", "")))
    shown = "?" if started is None else _duration(now - started)
    if limit is None:
        return shown
    over = started is not None and now - started > limit
    return f"{shown}/{_duration(limit)}" + (" OVER" if over else "")


def format_top(title: str, current: Snapshot, previous: Snapshot | None,
               workers: list[WorkerInfo], limits: dict[str, float] | None = None) -> str:
    """Lay out one screen from two snapshots and the registered workers.

    ``limits`` gives the time limits of running jobs by worker id; RUNNING
    then reads ``elapsed/limit`` (and OVER past it).
    """
    limits = limits or {}
    before = previous or current
    span = current.at - previous.at if previous else 0.0
    busy = sorted((w for w in workers if w.job), key=lambda w: str((w.job or {}).get("run_at", "")))
    clock = datetime.fromtimestamp(current.at).strftime("%Y-%m-%d %H:%M:%S")
    summary = (
        f"processed {current.processed} ({_rate(current.processed, before.processed, span)})"
        f"   failed {current.failed} ({_rate(current.failed, before.failed, span)})"
        f"   pending {sum(current.sizes.values())}   workers {len(workers)}, {len(busy)} working")
    queues = table(["QUEUE", "SIZE", "CHANGE"], [
        (q, n, _rate(n, before.sizes.get(q, 0), span)) for q, n in sorted(current.sizes.items())
    ]) or "No queues"
    working = table(["WORKER", "QUEUE", "CLASS", "RUNNING"], [
        (w.id, (w.job or {}).get("queue"), job_class((w.job or {}).get("payload")) or "?",
         _running(w, current.at, limits.get(w.id))) for w in busy]) or "No workers working"
    return "\n".join([f"resque top  {printable(title)}  {clock}  (q quits)", summary, "", queues, "", working])


def frame(client: Resque, previous: Snapshot | None, now: float) -> tuple[str, Snapshot]:
    """Read Redis once; return the screen and the snapshot for the next frame."""
    current = take_snapshot(client, now)
    workers = client.workers()
    return format_top(client.redis_id, current, previous, workers, client.job_limits(workers)), current


def render_top(client: Resque, previous_snapshot: Snapshot | None, now: float) -> str:
    """Return the screen ``resque top`` shows at ``now``."""
    return frame(client, previous_snapshot, now)[0]


class KeyInput:
    """Wait for keys: cbreak mode on a terminal; a pipe may also end (EOF)."""

    def __init__(self, stream: IO[Any]):
        self.stream = stream
        try:
            self.fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None  # an in-memory stream (tests): read it without blocking
        self.tty = self.fd is not None and os.isatty(self.fd)
        self.eof = False
        self._saved: list[Any] | None = None

    def __enter__(self) -> "KeyInput":
        if self.tty and self.fd is not None:
            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None and self.fd is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)

    def wait(self, timeout: float) -> str | None:
        """Wait up to ``timeout``; return "quit", "eof" or None."""
        if self.eof:
            time.sleep(timeout)
            return None
        if self.fd is None:
            data = self.stream.read(64)
        else:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            data = os.read(self.fd, 64).decode("utf-8", "replace") if ready else None
        if data == "":
            self.eof = True
            return "eof"
        if data and any(k in data for k in _QUIT_KEYS):
            return "quit"
        if self.fd is None:
            time.sleep(timeout)
        return None


def run_top(client: Resque, interval: float, iterations: int | None,
            keys: KeyInput, out: IO[str]) -> int:
    """Redraw every ``interval`` until q, EOF (without ``iterations``) or N frames."""
    ansi = out.isatty()
    previous: Snapshot | None = None
    frames = 0
    if ansi:
        out.write("\x1b[?1049h\x1b[?25l")  # alternate screen, hide cursor
    try:
        while True:
            text, previous = frame(client, previous, time.time())
            out.write(("\x1b[H\x1b[J" + text) if ansi else text + "\n\n")
            out.flush()
            frames += 1
            if iterations is not None and frames >= iterations:
                return frames
            event = keys.wait(interval)
            if event == "quit" or (event == "eof" and iterations is None):
                return frames
    finally:
        if ansi:
            out.write("\x1b[?25h\x1b[?1049l")
            out.flush()


@main.command()
@click.option("-i", "--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.01),
              help="Seconds between refreshes.")
@click.option("-n", "--iterations", type=click.IntRange(min=1),
              help="Stop after this many refreshes (otherwise q, Ctrl-C or end of input).")
@admin_client
def top(client: Resque, interval: float, iterations: int | None) -> None:
    """Watch queues, rates and working workers live; q or Ctrl-C quits."""
    try:
        with KeyInput(sys.stdin) as keys:
            run_top(client, interval, iterations, keys, sys.stdout)
    except KeyboardInterrupt:
        pass
