"""Signal storms against real ``resque work`` processes: no handler may hang the worker.

A signal handler runs between two bytecodes of the main thread, possibly
while that thread holds a lock (an ``Event``'s, a logging handler's); a
handler that takes the same lock deadlocks the worker. The storms below
send QUIT, TERM, USR2 and CONT by the thousand to idle and busy workers,
forking and not, with logging on, and require that each worker still
takes jobs afterwards and exits promptly when told.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resque import Registry, Resque
from tests.hardening_jobs import LOG
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def start(env, tmp_path, *args):
    out = open(tmp_path / "worker.log", "wb")  # a file: a full pipe would block the worker
    cmd = [sys.executable, "-m", "resque", "work", "-A", "tests.hardening_jobs", "-q", "storm",
           "--interval", "0.001", "-vv", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


class LogTail:
    """Look for a line in a growing log file, reading each byte once."""

    def __init__(self, path):
        self.path, self.offset, self.seen = path, 0, b""

    def has(self, text):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            new = f.read()
        self.offset += len(new)
        self.seen = self.seen[-200:] + new
        return text.encode() in self.seen


def ticks(r, tag):
    return r.lrange(LOG, 0, -1).count(f"tick|{tag}".encode())


def resumed(proc, r):
    """Send CONT (at most every 0.2 s); tell whether the job tagged ``after`` has run."""
    now = time.monotonic()
    if now - getattr(proc, "_last_cont", 0.0) >= 0.2:
        os.kill(proc.pid, signal.SIGCONT)
        proc._last_cont = now
    return ticks(r, "after") == 1


def storm(proc, seconds, signals):
    """Send ``signals`` in random order, back to back, for ``seconds``."""
    rng = random.Random(7)
    deadline = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < deadline and proc.poll() is None:
        os.kill(proc.pid, rng.choice(signals))
        sent += 1
        if sent % 50 == 0:
            time.sleep(0.001)
    return sent


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
@pytest.mark.parametrize("fork", [True, False], ids=["fork", "no-fork"])
@pytest.mark.parametrize("stop", [signal.SIGQUIT, signal.SIGTERM], ids=["quit", "term"])
def test_signal_storm_never_hangs_the_worker(env, r, tmp_path, fork, busy, stop):
    client = Resque(r, registry=Registry())
    proc = start(env, tmp_path, "--fork" if fork else "--no-fork")
    try:
        wait_for(lambda: r.scard("resque:workers") == 1, 20)
        if busy:
            client.store.push_many("storm", [b'{"class":"Hardening::Tick","args":["busy",0.002]}'] * 3000)
        assert storm(proc, 3.0, [signal.SIGUSR2, signal.SIGCONT]) > 500
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        # Still working: a job enqueued now (at the head) runs once the worker is resumed.
        # Signals carry no order: a USR2 still pending from the storm may be handled after
        # a CONT sent now (Python runs pending handlers by signal number, 12 before 18), so
        # the CONT is repeated until the job has run; a hung worker never runs it.
        r.lpush(client.store.keys.queue("storm"), b'{"class":"Hardening::Tick","args":["after"]}')
        wait_for(lambda: resumed(proc, r), 20)
        # Stopping amid more noise: the worker exits promptly. The noise stops once the worker
        # has taken the shutdown in hand: at interpreter exit Python puts back the default
        # dispositions, so a USR2 arriving then would end the process with that signal.
        deadline = time.monotonic() + 15
        rng = random.Random(11)
        log = LogTail(tmp_path / "worker.log")
        while not log.has("Shutdown requested") and time.monotonic() < deadline:
            os.kill(proc.pid, rng.choice([stop, signal.SIGUSR2, signal.SIGCONT, stop]))
            time.sleep(0.0005)
        assert proc.wait(10) == 0, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert r.scard("resque:workers") == 0
