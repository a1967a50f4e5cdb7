"""Multi-job forks: a forked child runs up to N jobs before it exits.

As resque-multi-job-forks does for Ruby (``JOBS_PER_FORK``,
``MINUTES_PER_FORK``): the parent reserves the first job and forks as
usual (``before_fork`` runs once per fork, in the parent); the child runs
``after_fork`` once, performs that job, then reserves and performs more
with the hot loop's own ``work_one`` (one cycle-script round trip per job,
finishing the previous job and reserving the next), until it has run N
jobs, its time budget is spent, the queues are empty, the worker is
paused or stopping, or the parent is gone.

The child uses the parent's own held connection for its cycle calls (the
parent makes none while it waits), so a fork costs no connect; the parent
drops that connection unless the child left it clean. Parent and child
share one small anonymous ``mmap``: the child writes how
far it got (jobs started, processed count, what it owes, the running
job's start and time limit); the parent writes "stop taking jobs". No
system call per job. At every instant the job the child runs is the one
in the worker record ``<ns>:worker:<id>``, so a child that dies mid-job
fails exactly that job (``DirtyExit``); the jobs it finished stay
processed, and the rest stay queued.
"""
from __future__ import annotations

import atexit
import gc
import logging
import mmap
import os
import signal
import struct
import time
from typing import Any

from . import _accel
from ._compat import SIG_IGN
from .connection import driver_info
from .job import Job
from .keys import run_at
from .record import held_job
from .sleeper import Sleeper
from .timing import OTHER, Batch

logger = logging.getLogger(__name__)

# Where the child is: running a job, between jobs, in a cycle call, or gone for good.
JOB, BETWEEN, CYCLE, DONE = 1, 2, 3, 4
# stop, phase, finish owed, recover, jobs started, processed, job start (monotonic), limit
_LAYOUT = struct.Struct("=BBBBqqdd")


class State:
    """What the child last wrote about itself."""

    __slots__ = ("stop", "phase", "finish", "recover", "seq", "processed", "start", "limit")

    def __init__(self, raw: tuple[Any, ...]):
        (self.stop, self.phase, self.finish, self.recover, self.seq, self.processed,
         self.start, self.limit) = raw


class MultiFork:
    """The shared page and the child's loop for one worker."""

    def __init__(self, jobs: int, minutes: float | None):
        self.jobs = jobs if jobs > 1 or not minutes else 1 << 62
        self.seconds = minutes * 60.0 if minutes else None
        self._page = mmap.mmap(-1, mmap.PAGESIZE)  # MAP_SHARED: the child's writes reach us
        self._seen = 0
        self._parent = 0
        self._pinned = False

    # -- the shared page --------------------------------------------------------

    def read(self) -> State:
        return State(_LAYOUT.unpack_from(self._page, 0))

    def _write(self, phase: int, w: Any, seq: int, start: float, limit: float) -> None:
        _LAYOUT.pack_into(self._page, 0, self._page[0], phase, bool(w._finish), bool(w._recover),
                          seq, w.processed, start, limit)

    # -- parent side ------------------------------------------------------------

    def forking(self, w: Any) -> None:
        """Reset the page before a fork: the child holds the first job."""
        if not self._pinned:
            self._pinned = True
            for client in (w._hot, w.client.redis):
                pin_driver_info(client.connection_pool)
        _LAYOUT.pack_into(self._page, 0, 0, JOB, 1, 0, 1, w.processed, time.monotonic(),
                          w.job_limit or 0.0)
        self._seen = 1
        self._parent = os.getpid()

    def watch(self, w: Any) -> None:
        """While waiting: pass stop/pause on; plan the kill at the running job's limit."""
        if (w.stopping or w.paused) and not self._page[0]:
            self._page[0] = 1
        state = self.read()
        if state.seq != self._seen and state.phase == JOB:
            self._seen = state.seq
            w.job_limit = state.limit or None
            w._limit_started, w._killed_at_limit = state.start, False
            w._limit_signals = ([(state.start + state.limit + w.options.term_timeout,
                                  int(signal.SIGKILL))] if state.limit else [])

    def child_exited(self, w: Any, job: Job, pid: int, status: int) -> None:
        """Take over the child's bookkeeping; fail the job it died in, if any."""
        state = self.read()
        if status != 0 or state.phase != DONE or state.recover:
            w._cycle.reset()  # the child may have left a request unanswered on it
        w.processed = state.processed
        w._finish = bool(state.finish)
        if state.phase == CYCLE:  # killed inside a cycle call: it may or may not have run
            w._finish = True
            w._recover = True
        elif state.recover:
            w._recover = True
        if state.phase != JOB:
            w._limit_signals = []
            if status != 0:
                logger.warning("Child %d of %s exited between jobs (status %d); "
                               "every job it took is settled", pid, w.id, status)
            return
        if state.seq > 1:
            job = self._held(w) or job
        seconds = time.monotonic() - state.start
        if w.child_failed(job, pid, status, seconds) and w._timing is not None:
            w._timing.add(job.name or OTHER, seconds)

    def _held(self, w: Any) -> Job | None:
        raw = w._with_redis(lambda: w.store.worker_job(w.id))
        if raw is None:
            return None
        held = held_job(raw)
        return Job(held.queue, held.payload, held.raw)

    # -- child side -------------------------------------------------------------

    def started(self, w: Any) -> None:
        """Note in the page that the child starts a job (from ``Worker.perform``)."""
        state = _LAYOUT.unpack_from(self._page, 0)
        seq = state[4] + (state[1] != JOB or state[4] == 0)
        self._write(JOB, w, seq, time.monotonic(), w.job_limit or 0.0)

    def child_main(self, w: Any, job: Job) -> None:
        """Run the first job and then more, in the child; leave via ``os._exit``."""
        code = 0
        try:
            self._child_setup(w)
            try:
                w.hooks.run("after_fork", job)
            except BaseException as exc:  # noqa: BLE001 - as with one job per fork
                logger.error("%r failed: %s: %s", job, type(exc).__name__, exc)
                w._with_redis(lambda: w._record_failure(job, exc, count=True, hooks_done=True))
            else:
                self._run(w, job)
        except BaseException:  # noqa: BLE001 - the child records everything
            logger.exception("Child of %s stopped", w.id)
            code = 1
        finally:
            code = self._leave(w, code)
            os._exit(code)

    def _child_setup(self, w: Any) -> None:
        w._child_signals()
        w.fork = False  # the jobs after the first run in this process, under their own limits
        w._events.clear()
        w._sleeper = Sleeper()  # the parent's wake-up pipe stays the parent's
        gc.freeze()  # the collector leaves the parent's objects (and their pages) alone
        if w._timing is not None:
            w._timing = Batch()  # the parent's unsent times are the parent's to send

    def _run(self, w: Any, job: Job) -> None:
        deadline = time.monotonic() + self.seconds if self.seconds else None
        term_child = w.options.term_child
        work_one = _accel.work_one
        page = self._page
        done = 1
        w.perform(job)
        while done < self.jobs:
            if page[0] or os.getppid() != self._parent:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if term_child and signal.getsignal(signal.SIGTERM) == SIG_IGN:
                break  # a TermException ended the last job: the parent wants this child gone
            page[1] = CYCLE
            if not work_one(w):
                break
            done += 1
            page[1] = BETWEEN

    def _leave(self, w: Any, code: int) -> int:
        """Write the final state; send the child's unsent job times; return the exit code."""
        state = _LAYOUT.unpack_from(self._page, 0)
        batch = w._timing
        if batch is not None and batch.jobs and not w._recover:
            self._page[1] = CYCLE
            try:
                w._cycle(w._fixed_keys, ("0", run_at(), "", batch.take()))
            except Exception as exc:  # noqa: BLE001 - timing is a statistic, never a reason to fail
                logger.warning("Could not send job times of %s: %s", w.id, exc)
                w._recover = True  # the parent drops the connection
        self._write(DONE, w, state[4], state[6], state[7])
        if w.options.run_at_exit_hooks:
            atexit._run_exitfuncs()
        return code


def pin_driver_info(pool: Any) -> None:
    """Give a pool made outside ``connection.connect`` redis-py's driver info, resolved once.

    A child makes new connections on every fork; see ``connection.driver_info``.
    """
    kwargs = getattr(pool, "connection_kwargs", None)
    if not isinstance(kwargs, dict) or {"driver_info", "lib_name", "lib_version"} & kwargs.keys():
        return
    kwargs.update(driver_info())
