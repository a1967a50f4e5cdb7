"""The worker: lifecycle, signals, heartbeat and the hot loop's small interface.

``Worker.work()`` follows Ruby's ``worker.rb``: start-up (title, signals,
heartbeat, pruning, ``before_first_fork``, registration), the loop
(``_accel.run_loop``), then unregistration and ``worker_exit``. The loop
calls back into the methods grouped under "hot loop interface" below.

Signals are handled by ``SignalHandling`` (``signals.py``): handlers take
no lock; what they ask for runs from the loop (``run_events``).
"""
from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import time
from time import perf_counter
from typing import Any, Iterable

import redis

from . import _accel
from ._compat import dumps, set_title
from .client import Resque, get_client
from .errors import DirtyExit, PayloadError, RedisUnavailable
from .heartbeat import Heartbeat
from .hooks import WorkerHooks
from .connection import clone_client
from .job import Job
from .keys import __version__, failed_stat, processed_stat, run_at, started_at, worker_id
from .limits import JobLimits
from .multifork import MultiFork
from .options import WorkerOptions
from .payload import stand_in
from .prune import prune_dead_workers
from .queues import QueueList
from .recovery import ReservationRecovery
from .signals import SignalHandling
from .store import Store
from .timing import OTHER, Batch
from .workers import unregister_worker

__all__ = ["Worker", "WorkerOptions", "prune_dead_workers"]

logger = logging.getLogger(__name__)
job_logger = logging.getLogger("resque.jobs")  # one line per job (``logs.py``)
# Errors that pass when Redis comes back (or frees memory): wait and retry.
_REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                 redis.exceptions.BusyLoadingError, redis.exceptions.OutOfMemoryError)


class Worker(SignalHandling, JobLimits, ReservationRecovery):
    """A Resque worker processing jobs from an ordered list of queues."""

    def __init__(self, queues: "str | Iterable[str] | QueueList", client: Resque | None = None,
                 options: WorkerOptions | None = None, hooks: WorkerHooks | None = None):
        super().__init__()
        self.client = client or get_client()
        self.store: Store = self.client.store
        self.queue_list = queues if isinstance(queues, QueueList) else QueueList.parse(queues)
        self.options = options or WorkerOptions()
        self.hooks = hooks or WorkerHooks()
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.id = worker_id(self.hostname, self.pid, self.queue_list.label)
        self.fork = self.options.fork and hasattr(os, "fork")
        self.stopping = False
        self.paused = False
        self.child_pid = 0
        self.polled: list[str] = []
        self.processed = 0
        self._keys: list[str] = []
        self._queue_json: list[bytes] = []
        self._expected = ""
        self._finish = False
        self._worked_since_idle = False
        self._global_pause = False
        self._in_job = False
        self._recover = False
        self._last: tuple[str, str, bytes] | None = None
        self._heartbeat: Heartbeat | None = None
        self.started = ""
        self._interval, self._min, self._max, self._backoff = self.options.intervals()
        self._fixed_keys = self.store.cycle_keys(self.id)
        self._hot = clone_client(self.store.redis, retries=0)  # a retried script could lose a job
        self._hot_store = Store(self._hot, self.store.keys)
        self._cycle = self.store.hot_cycle(self._hot)
        self._stamp_second = -1
        self._stamp = ""
        self._stats_in_cycle = getattr(self.client.stats, "counts_in_cycle", False)
        self._init_limits()
        self._timing = Batch() if self.options.job_timing else None
        self._job_t0 = 0.0
        self._warned_stat = False
        opts = self.options
        self._multi = (MultiFork(opts.jobs_per_fork, opts.minutes_per_fork)
                       if self.fork and opts.multi_job_forks else None)

    def __repr__(self) -> str:
        return f"Worker({self.id})"

    # -- lifecycle ------------------------------------------------------------

    def work(self) -> int:
        """Start up, process jobs until shut down, clean up; return jobs done."""
        self.startup()
        done = 0
        try:
            done = _accel.run_loop(self)
        finally:
            self.shutdown_cleanup()
        return done

    def startup(self) -> None:
        """Title, signals, heartbeat, pruning, before_first_fork, registration."""
        set_title("resque: Starting")
        self.register_signal_handlers()
        logger.info("Starting worker %s (%s hot loop)", self.id, _accel.IMPLEMENTATION)
        self.started = started_at()
        self._with_redis(lambda: self.store.remove_heartbeat(self.id))
        self._heartbeat = Heartbeat(self.store, self.id, self.started,
                                    self.options.heartbeat_interval, self.prune)
        self._with_redis(self._heartbeat.beat)
        self._heartbeat.start()
        self.prune()
        self.hooks.run("before_first_fork")
        self._with_redis(lambda: self.store.register_worker(self.id, self.started))
        self._heartbeat.registered = True
        self._with_redis(self._refresh_queues)

    def shutdown_cleanup(self) -> None:
        """Finish bookkeeping, unregister (failing a held job), run worker_exit."""
        if self._heartbeat is not None:
            self._heartbeat.stop()  # before unregistering: it must not register us again
        try:
            self.run_events()
        finally:
            try:
                self._with_redis(self._finish_now)
                self._with_redis(lambda: unregister_worker(self.client, self.id))
            finally:
                logger.info("Exiting worker %s", self.id)
                self._restore_sigchld()
                self.hooks.run("worker_exit")

    def prune(self) -> list[str]:
        """Prune dead workers (taking the cluster-wide lock only if there are some)."""
        opts = self.options
        try:
            return prune_dead_workers(self.client, self, requeue=opts.requeue_orphans,
                                      prune_interval=opts.prune_interval,
                                      lock_seconds=max(1, int(opts.heartbeat_interval)),
                                      heartbeat_interval=opts.heartbeat_interval,
                                      orphan_limit=opts.orphan_limit)
        except _REDIS_ERRORS as exc:
            logger.warning("Could not prune dead workers: %s", exc)
        except Exception:  # noqa: BLE001 - pruning others must never stop this worker
            logger.exception("Could not prune dead workers")
        return []

    # -- hot loop interface (called by _accel.run_loop / work_one) -------------

    def reserve(self) -> Any:
        """Finish the previous job and reserve the next: one round trip.

        Return ``(position, payload bytes)`` or None. An element that is
        not shaped like a JSON object is left at its queue's head by the
        script and settled here (``_unshaped``) before trying again.
        """
        if self._events:
            self.run_events()
        while not self.stopping:
            try:
                if self._recover:
                    self._recover_reservation()
                if self.paused:
                    self._finish_now()
                    return None
                finish = ("1" if self._stats_in_cycle else "2") if self._finish else "0"
                second = int(time.time())
                if second != self._stamp_second:
                    self._stamp_second, self._stamp = second, run_at(second)
                stamp = self._stamp
                batch = self._timing
                timing = batch.take() if batch is not None and batch.due(second) else b""
                reply = self._cycle(self._keys,
                                    (finish, stamp, self._expected, timing, *self._queue_json))
                if self._finish:
                    self._finished()
                if type(reply) is list and (reply[0] <= 0 or len(reply) > 2):
                    if len(reply) > 2 or reply[0] == 0:
                        reply = self._uncounted(reply)
                    if reply is not None and reply[0] < 0:
                        reply = self._unshaped(-reply[0], reply[1], stamp)
                        if reply is None:
                            continue
            except _REDIS_ERRORS as exc:
                self._recover = True
                self._redis_down(exc)
                return None
            if reply is None or type(reply) is list:
                self._global_pause = False
                if reply is not None:
                    self._last = (self.polled[reply[0] - 1], stamp, reply[1])
                return reply
            if reply != b"stale" and reply != "stale":
                self._global_pause = True
                return None
            self._refresh_queues()
        return None

    def _uncounted(self, reply: list[Any]) -> list[Any] | None:
        """Log (once) a processed counter the script could not count; return the job reply."""
        if not self._warned_stat:
            self._warned_stat = True
            key = reply[-1].decode("utf-8", "replace") if isinstance(reply[-1], bytes) else reply[-1]
            logger.warning("%s is not an integer: %s does not count processed jobs there "
                           "until it is reset", key, self.id)
        return reply[:2] if reply[0] != 0 else None

    def _unshaped(self, position: int, element: bytes, stamp: str) -> list[Any] | None:
        """Settle an element left at a queue's head; return it if now reserved.

        JSON padded with whitespace is a job: take it (reserve and record it,
        iff it is still at the head). Anything else gets its failure record
        first and is dropped from the head after, so a crash in between
        leaves it queued (and recorded twice at worst), never lost.
        """
        queue = self.polled[position - 1]
        try:
            _accel.decode_payload(element)
        except PayloadError as exc:
            logger.error("Bad payload on %s: %s", queue, exc)
            job = Job(queue, stand_in(element))
            self._with_redis(lambda: self._record_failure(job, exc, count=True))
            self._hot_store.take_head(self.id, queue, element, "drop")
            self._took_job()
            return None
        qjson = self._queue_json[position - 1]
        if self._hot_store.take_head(self.id, queue, element, "take", qjson, stamp):
            return [position, element]
        return None

    def make_job(self, queue: str, payload: dict[str, Any], raw: bytes) -> Job:
        """Wrap a reserved payload (and its bytes); mark its bookkeeping as owed."""
        self._took_job()
        job = Job(queue, payload, raw)
        self.limit_for(job)
        return job

    def title(self, text: str) -> None:
        """Set the process title with Ruby's prefix and version."""
        title = f"{self.options.procline_prefix}resque-{__version__}: {text}"
        set_title(title.replace("\0", "\\0") if "\0" in title else title)  # a NUL from a payload

    def reject(self, queue: str, raw: bytes, exc: PayloadError) -> None:
        """Record an undecodable payload as a failure (its bytes kept); keep working."""
        self._took_job()
        logger.error("Bad payload on %s: %s", queue, exc)
        job = Job(queue, stand_in(raw))
        self._with_redis(lambda: self._record_failure(job, exc, count=True))

    def perform(self, job: Job) -> None:
        """Run a job in this process (under its time limit), recording any failure."""
        self._in_job = True
        start = perf_counter()
        outcome = "done"
        try:
            self.start_limit(job)
            if self._multi is not None:
                self._multi.started(self)  # a job after the first in a multi-job child
            self.arm_limit(job)
            try:
                job.perform(self.client.registry)
            finally:
                self.disarm_limit()
        except BaseException as exc:  # noqa: BLE001 - every job error is recorded
            self._in_job = False
            outcome = "failed"
            logger.error("%r failed: %s", job, exc)
            self._with_redis(lambda: self._record_failure(job, exc, count=True, hooks_done=True))
        finally:
            self._in_job = False
            seconds = perf_counter() - start
            if self._timing is not None:
                self._timing.add(job.name or OTHER, seconds)
            self._log_job(job, outcome, seconds)

    def before_fork(self, job: Job) -> None:
        self.start_limit(job)
        self.hooks.run("before_fork", job)
        self._job_t0 = perf_counter()
        if self._multi is not None:
            self._multi.forking(self)

    def child_main(self, job: Job) -> None:
        """Run in the forked child: perform, record a failure, leave via os._exit."""
        if self._multi is not None:
            self._multi.child_main(self, job)  # never returns
        code = 0
        start = perf_counter()
        outcome = "done"
        try:
            self._child_signals()
            self.hooks.run("after_fork", job)
            self.arm_limit(job)
            try:
                job.perform(self.client.registry)
            finally:
                self.disarm_limit()
        except BaseException as exc:  # noqa: BLE001 - the child records everything
            outcome = "failed"
            logger.error("%r failed: %s: %s", job, type(exc).__name__, exc)
            try:
                self._with_redis(lambda: self._record_failure(job, exc, count=True, hooks_done=True))
            except BaseException:  # noqa: BLE001
                logger.exception("Could not record the failure of %r", job)
                code = 1
        finally:
            self._log_job(job, outcome, perf_counter() - start)
            if self.options.run_at_exit_hooks:
                atexit._run_exitfuncs()
            os._exit(code)

    def wait_child(self, pid: int) -> int:
        """Wait for the child; run signal events, carry out a TERM/KILL plan.

        SIGCHLD and every signal handler wake the sleeper; the wait is a
        ``waitpid`` poll between sleeps, so no handler raises into it.
        """
        while True:
            if self._events:
                self.run_events()
            if self._multi is not None:
                self._multi.watch(self)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self._kill_plan = []
                return status
            self._sleeper.sleep(min(self.send_due(pid), self.enforce_limit(pid)))

    def child_exited(self, job: Job, pid: int, status: int) -> None:
        """Time the job; record a child killed at its limit (JobTimeout) or that died (DirtyExit)."""
        if self._multi is not None:
            self._multi.child_exited(self, job, pid, status)
            return
        seconds = perf_counter() - self._job_t0
        if self._timing is not None:
            self._timing.add(job.name or OTHER, seconds)
        self.child_failed(job, pid, status, seconds)

    def child_failed(self, job: Job, pid: int, status: int, seconds: float) -> bool:
        """Record the job of a child that died or was killed at its limit; False if it did not."""
        exc: BaseException
        timeout = self.limit_failure(job, status)
        if timeout is not None:
            exc = timeout
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            exc = DirtyExit(f"Child process received unhandled signal pid {pid} "
                            f"{signal.Signals(sig).name} (signal {sig})", status)
        elif self.options.record_nonzero_exit and os.WEXITSTATUS(status) != 0:
            exc = DirtyExit(f"Child process exited with status {os.WEXITSTATUS(status)} "
                            f"(pid {pid})", status)
        else:
            return False
        logger.error("%r: %s", job, exc)
        self._log_job(job, "dirty_exit" if timeout is None else "timeout", seconds)
        self._with_redis(lambda: self._record_failure(job, exc, count=False))
        return True

    def idle(self) -> bool:
        """After an empty pass: fire queue_empty, sleep; False to leave the loop."""
        if self._events:
            self.run_events()
        if self.stopping:
            return False
        if self._worked_since_idle:
            self._worked_since_idle = False
            self.hooks.run("queue_empty")
        if self._interval == 0:
            return False
        self._interval = min(self._interval + self._backoff, self._max)
        if self.paused or self._global_pause:
            self.title("Paused")
        else:
            if self.queue_list.dynamic:
                try:
                    self._refresh_queues()
                except _REDIS_ERRORS as exc:
                    logger.warning("Could not list queues: %s", exc)
            self.title("Waiting for " + (",".join(self.polled) or self.queue_list.label))
        self._sleep(self._interval)
        return True

    # -- internals ------------------------------------------------------------

    def _took_job(self) -> None:
        self._finish = True
        self._worked_since_idle = True
        self._interval = self._min

    def _sleep(self, seconds: float) -> None:
        if not self.stopping and not self._events:
            self._sleeper.sleep(seconds)

    def _finished(self) -> None:
        self._finish = False
        self.processed += 1
        if not self._stats_in_cycle:
            self.client.stats.incr(processed_stat())
            self.client.stats.incr(processed_stat(self.id))

    def _finish_now(self) -> None:
        timing = self._timing.take() if self._timing is not None and self._timing.jobs else b""
        if self._finish or timing:
            if self._stats_in_cycle or timing:
                flag = ("1" if self._stats_in_cycle else "2") if self._finish else "0"
                self.store.cycle(self.id, flag, run_at(), [], [], timing=timing)
            else:
                self.store.clear_worker_job(self.id)
            if self._finish:
                self._finished()

    def _log_job(self, job: Job, outcome: str, seconds: float) -> None:
        """Log one line per job on ``resque.jobs`` at INFO, with fields for JSON logs."""
        if job_logger.isEnabledFor(logging.INFO):
            job_logger.info("%s: %r in %.3fs", outcome, job, seconds, extra={"resque": {
                "worker": self.id, "queue": job.queue, "class": job.name,
                "duration": round(seconds, 6), "outcome": outcome}})

    def _record_failure(self, job: Job, exc: BaseException, count: bool,
                        hooks_done: bool = False) -> None:
        if hooks_done:
            job._failed = True
        try:
            job.fail(exc, self.client.registry, self.client.failure, self.id)
        except _REDIS_ERRORS:
            raise  # retried by _with_redis
        except Exception:  # noqa: BLE001 - a broken backend must not stop the worker
            logger.exception("Failure backend could not record %r (%s: %s)",
                             job, type(exc).__name__, exc)
        if count:
            try:
                if self._stats_in_cycle:
                    self.store.count_failed(self.id)
                else:
                    self.client.stats.incr(failed_stat())
                    self.client.stats.incr(failed_stat(self.id))
            except redis.exceptions.ResponseError as err:  # a counter that is not an integer
                logger.warning("Could not count the failure of %r: %s", job, err)

    def _refresh_queues(self) -> None:
        """Resolve the queue list (wildcards against the queues set)."""
        if self.queue_list.dynamic:
            members = self.store.queue_names()
            self.polled = self.queue_list.expand(members)
            self._expected = str(len(members))
        else:
            self.polled = list(self.queue_list.includes)
        self._keys = [*self._fixed_keys, *(self.store.keys.queue(q) for q in self.polled)]
        self._queue_json = [dumps(q) for q in self.polled]

    def _redis_down(self, exc: BaseException) -> None:
        logger.warning("Redis unavailable (%s); retrying in %.1fs", exc, self._backoff_delay())
        self._sleep(self._backoff_delay())

    def _backoff_delay(self) -> float:
        return min(max(self._max, 0.5), 5.0)

    def _with_redis(self, fn: Any, attempts: int = 30) -> Any:
        """Run a bookkeeping call, retrying with backoff while Redis is down.

        A running worker retries for as long as it takes; once shutting
        down (or in a child) it gives up after ``attempts`` tries.
        """
        delay = 0.1
        attempt = 0
        while True:
            try:
                return fn()
            except _REDIS_ERRORS as exc:
                attempt += 1
                if attempt >= attempts and (self.stopping or os.getpid() != self.pid):
                    raise RedisUnavailable(f"Redis unavailable for worker {self.id}: {exc}") from exc
                logger.warning("Redis unavailable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
