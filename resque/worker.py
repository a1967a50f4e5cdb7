"""The worker: lifecycle, signals, heartbeat and the hot loop's small interface.

``Worker.work()`` follows Ruby's ``worker.rb``: start-up (title, signals,
heartbeat, pruning, ``before_first_fork``, registration), the loop
(``_accel.run_loop``), then unregistration and ``worker_exit``. The loop
calls back into the methods grouped under "hot loop interface" below.
"""
from __future__ import annotations

import atexit
import logging
import os
import random
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any, Iterable

import redis

from . import _accel
from ._compat import SIG_DFL, SIG_IGN, dumps, loads, raw_signal, set_title
from .client import Resque, get_client
from .errors import DirtyExit, PayloadError, RedisUnavailable, TermException
from .hooks import WorkerHooks
from .connection import clone_client
from .job import Job
from .keys import (__version__, failed_stat, heartbeat_at, processed_stat, run_at, started_at,
                   worker_id)
from .options import WorkerOptions
from .payload import payload_bytes
from .prune import prune_dead_workers
from .queues import QueueList
from .store import Store
from .workers import unregister_worker

__all__ = ["Worker", "WorkerOptions", "prune_dead_workers"]

logger = logging.getLogger(__name__)
# Errors that pass when Redis comes back (or frees memory): wait and retry.
_REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                 redis.exceptions.BusyLoadingError, redis.exceptions.OutOfMemoryError)


_SIGTERM, _SIGCONT = int(signal.SIGTERM), int(signal.SIGCONT)
_CHILD_IGNORED = tuple(int(s) for s in (signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                                        signal.SIGCONT, signal.SIGTERM, signal.SIGINT))
_TERM_CHILD_DEFAULT = tuple(int(s) for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1,
                                             signal.SIGUSR2))


class _WakeUp(BaseException):
    """Raised by a signal handler to break the parent out of ``waitpid``."""


class Worker:
    """A Resque worker processing jobs from an ordered list of queues."""

    def __init__(self, queues: "str | Iterable[str] | QueueList", client: Resque | None = None,
                 options: WorkerOptions | None = None, hooks: WorkerHooks | None = None):
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
        self._kill_plan: list[tuple[float, int]] = []
        self._in_job = False
        self._waiting = False
        self._recover = False
        self._last: tuple[str, str, bytes] | None = None
        self._stop_event = threading.Event()
        self._wake = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._interval, self._min, self._max, self._backoff = self.options.intervals()
        self._fixed_keys = self.store.cycle_keys(self.id)
        self._hot = clone_client(self.store.redis, retries=0)  # a retried script could lose a job
        self._cycle = self.store.hot_cycle(self._hot)
        self._stamp_second = -1
        self._stamp = ""
        self._stats_in_cycle = getattr(self.client.stats, "counts_in_cycle", False)

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
        self._with_redis(lambda: self.store.remove_heartbeat(self.id))
        self._with_redis(self._beat)
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, name="resque-heartbeat",
                                           daemon=True)
        self._heartbeat.start()
        self.prune()
        self.hooks.run("before_first_fork")
        self._with_redis(lambda: self.store.register_worker(self.id, started_at()))
        self._with_redis(self._refresh_queues)

    def shutdown_cleanup(self) -> None:
        """Finish bookkeeping, unregister (failing a held job), run worker_exit."""
        self._stop_event.set()
        try:
            self._with_redis(self._finish_now)
            self._with_redis(lambda: unregister_worker(self.client, self.id))
        finally:
            logger.info("Exiting worker %s", self.id)
            self.hooks.run("worker_exit")

    def shutdown(self) -> None:
        """Stop after the current job (QUIT)."""
        if not self.stopping:
            logger.info("Shutdown requested for %s", self.id)
        self.stopping = True
        self._wake.set()
        self.hooks.run("shutdown")

    def shutdown_now(self) -> None:
        """Stop now: kill or TERM the running child first (TERM/INT)."""
        self.shutdown()
        self.kill_child()

    def pause(self) -> None:
        """Stop reserving jobs until ``unpause`` (USR2)."""
        self.hooks.run("before_pause", self)
        self.paused = True

    def unpause(self) -> None:
        """Resume reserving jobs (CONT)."""
        self.paused = False
        self._wake.set()
        self.hooks.run("after_pause", self)

    def prune(self) -> list[str]:
        """Prune dead workers if this worker wins the cluster-wide lock."""
        try:
            return prune_dead_workers(self.client, self, requeue=self.options.requeue_orphans,
                                      prune_interval=self.options.prune_interval,
                                      lock_seconds=max(1, int(self.options.heartbeat_interval)))
        except _REDIS_ERRORS as exc:
            logger.warning("Could not prune dead workers: %s", exc)
            return []

    # -- signals --------------------------------------------------------------

    def register_signal_handlers(self) -> None:
        """Install QUIT, TERM, INT, USR1, USR2 and CONT handlers (main thread only)."""
        term = self._on_quit if self.options.graceful_term else self._on_term
        for sig, handler in ((signal.SIGQUIT, self._on_quit), (signal.SIGTERM, term),
                             (signal.SIGINT, self._on_term), (signal.SIGUSR1, self._on_usr1),
                             (signal.SIGUSR2, self._on_usr2), (signal.SIGCONT, self._on_cont)):
            signal.signal(sig, handler)

    def _on_quit(self, signum: int, frame: FrameType | None) -> None:
        self.shutdown()

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        self.shutdown_now()
        if not self.fork and self.options.term_child and self._in_job:
            raise TermException("SIGTERM")

    def _on_usr1(self, signum: int, frame: FrameType | None) -> None:
        self.kill_child()

    def _on_usr2(self, signum: int, frame: FrameType | None) -> None:
        self.pause()

    def _on_cont(self, signum: int, frame: FrameType | None) -> None:
        self.unpause()

    def kill_child(self) -> None:
        """Kill the running child: SIGKILL, or with TERM_CHILD a TERM then KILL later."""
        if not self.child_pid:
            return
        now = time.monotonic()
        if self.options.term_child:
            start = now + self.options.pre_shutdown_timeout
            self._kill_plan = [(start, signal.SIGTERM),
                               (start + self.options.term_timeout, signal.SIGKILL)]
        else:
            self._kill_plan = [(now, signal.SIGKILL)]
        if self._waiting:
            raise _WakeUp()

    def _child_signals(self) -> None:
        if self.options.term_child:
            for sig in _TERM_CHILD_DEFAULT:
                raw_signal(sig, SIG_DFL)
            raw_signal(_SIGTERM, _raise_term_once)
            raw_signal(_SIGCONT, SIG_IGN)
        else:
            for sig in _CHILD_IGNORED:
                raw_signal(sig, SIG_IGN)

    # -- hot loop interface (called by _accel.run_loop / work_one) -------------

    def reserve(self) -> Any:
        """Finish the previous job and reserve the next: one round trip."""
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
            reply = self._cycle(self._keys, (finish, stamp, self._expected, *self._queue_json))
        except _REDIS_ERRORS as exc:
            self._recover = True
            self._redis_down(exc)
            return None
        if self._finish:
            self._finished()
        if reply is None or type(reply) is list:
            self._global_pause = False
            if reply is not None:
                self._last = (self.polled[reply[0] - 1], stamp, reply[1])
            return reply
        if reply == b"stale" or reply == "stale":
            self._refresh_queues()
            return self.reserve()
        self._global_pause = True
        return None

    def make_job(self, queue: str, payload: dict[str, Any]) -> Job:
        """Wrap a reserved payload; mark its bookkeeping as owed."""
        self._took_job()
        return Job(queue, payload)

    def title(self, text: str) -> None:
        """Set the process title with Ruby's prefix and version."""
        title = f"{self.options.procline_prefix}resque-{__version__}: {text}"
        set_title(title.replace("\0", "\\0") if "\0" in title else title)  # a NUL from a payload

    def reject(self, queue: str, raw: bytes, exc: PayloadError) -> None:
        """Record an undecodable payload as a failure; keep working."""
        self._took_job()
        logger.error("Bad payload on %s: %s", queue, exc)
        job = Job(queue, raw.decode("utf-8", "replace"))
        self._with_redis(lambda: self._record_failure(job, exc, count=True))

    def perform(self, job: Job) -> None:
        """Run a job in this process, recording any failure."""
        self._in_job = True
        try:
            job.perform(self.client.registry)
        except BaseException as exc:  # noqa: BLE001 - every job error is recorded
            self._in_job = False
            logger.error("%r failed: %s", job, exc)
            self._with_redis(lambda: self._record_failure(job, exc, count=True, hooks_done=True))
        finally:
            self._in_job = False

    def before_fork(self, job: Job) -> None:
        self.hooks.run("before_fork", job)

    def child_main(self, job: Job) -> None:
        """Run in the forked child: perform, record a failure, leave via os._exit."""
        code = 0
        try:
            self._child_signals()
            self.hooks.run("after_fork", job)
            job.perform(self.client.registry)
        except BaseException as exc:  # noqa: BLE001 - the child records everything
            logger.error("%r failed: %s: %s", job, type(exc).__name__, exc)
            try:
                self._with_redis(lambda: self._record_failure(job, exc, count=True, hooks_done=True))
            except BaseException:  # noqa: BLE001
                logger.exception("Could not record the failure of %r", job)
                code = 1
        finally:
            if self.options.run_at_exit_hooks:
                atexit._run_exitfuncs()
            os._exit(code)

    def wait_child(self, pid: int) -> int:
        """Wait for the child; carry out a TERM/KILL plan set by a signal."""
        while True:
            try:
                self._waiting = True
                if not self._kill_plan:
                    return os.waitpid(pid, 0)[1]
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    self._kill_plan = []
                    return status
                now = time.monotonic()
                while self._kill_plan and self._kill_plan[0][0] <= now:
                    _, sig = self._kill_plan.pop(0)
                    _signal_child(pid, sig)
                time.sleep(0.01)
            except _WakeUp:
                continue
            finally:
                self._waiting = False

    def child_exited(self, job: Job, pid: int, status: int) -> None:
        """Record a child that died by a signal (or exited non-zero) as DirtyExit."""
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            exc = DirtyExit(f"Child process received unhandled signal pid {pid} "
                            f"{signal.Signals(sig).name} (signal {sig})", status)
        elif self.options.record_nonzero_exit and os.WEXITSTATUS(status) != 0:
            exc = DirtyExit(f"Child process exited with status {os.WEXITSTATUS(status)} "
                            f"(pid {pid})", status)
        else:
            return
        logger.error("%r: %s", job, exc)
        self._with_redis(lambda: self._record_failure(job, exc, count=False))

    def idle(self) -> bool:
        """After an empty pass: fire queue_empty, sleep; False to leave the loop."""
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
        self._wake.clear()
        if not self.stopping:
            self._wake.wait(seconds)

    def _finished(self) -> None:
        self._finish = False
        self.processed += 1
        if not self._stats_in_cycle:
            self.client.stats.incr(processed_stat())
            self.client.stats.incr(processed_stat(self.id))

    def _finish_now(self) -> None:
        if self._finish:
            if self._stats_in_cycle:
                self.store.cycle(self.id, "1", run_at(), [], [])
            else:
                self.store.clear_worker_job(self.id)
            self._finished()

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
            if self._stats_in_cycle:
                self.store.count_failed(self.id)
            else:
                self.client.stats.incr(failed_stat())
                self.client.stats.incr(failed_stat(self.id))

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

    def _recover_reservation(self) -> None:
        """After a lost reply, settle what the last script call may have done.

        The call may have run: the previous job is then finished and a new
        job may be recorded under this worker without us knowing. Such a
        job goes back to the head of its queue; nothing is lost.
        """
        raw = self.store.worker_job(self.id)
        self._recover = False
        if raw is None:
            if self._finish:
                self._finished()  # the script ran: bookkeeping is done
            return
        if self._finish and not self._call_ran(raw):
            return  # nothing ran: finish the previous job on the next call
        record = _decode_record(raw)
        if record is None:  # not a record the script writes: fail it rather than lose it
            self._fail_record(raw)
        else:
            body = payload_bytes(record.get("payload"))
            if self.store.requeue_orphan(self.id, raw, str(record.get("queue")), body):
                logger.warning("Pushed back %s reserved while Redis was unreachable", body[:200])
        if self._finish:
            self._finished()

    def _call_ran(self, raw: bytes) -> bool:
        """Tell whether the lost call ran, given this worker's job record.

        With stats counted by the script, this worker's processed counter
        tells exactly (two identical jobs reserved in the same second leave
        identical records); otherwise the record is compared with the
        previous job's.
        """
        if self._stats_in_cycle:
            return self.store.stat(processed_stat(self.id)) > self.processed
        record = _decode_record(raw)
        return record is None or not self._same_reservation(record)

    def _same_reservation(self, record: dict[str, Any]) -> bool:
        """Tell whether ``record`` looks like the previous job's own record."""
        last = self._last
        if last is None or record.get("queue") != last[0] or record.get("run_at") != last[1]:
            return False
        try:
            previous: Any = loads(last[2])
        except ValueError:
            previous = last[2].decode("utf-8", "replace")
        return dumps(record.get("payload")) == dumps(previous)

    def _fail_record(self, raw: bytes) -> None:
        """Fail an undecodable job record of this worker and clear it."""
        exc = PayloadError(f"undecodable job record of worker {self.id}")
        job = Job("", raw.decode("utf-8", "replace"))
        logger.error("%s: %r", exc, raw[:200])
        self._record_failure(job, exc, count=True)
        self.store.clear_worker_job(self.id)

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

    def _beat(self) -> None:
        self.store.heartbeat(self.id, heartbeat_at(self.store.server_time()))

    def _heartbeat_loop(self) -> None:
        beat_store = Store(clone_client(self.store.redis), self.store.keys)
        # Jittered beats: the prune lock lives one interval, so fixed beats let
        # one worker re-take it forever (just after it expires) and starve
        # the only workers whose queue lists allow pruning some dead worker.
        interval = self.options.heartbeat_interval
        while not self._stop_event.wait(interval * random.uniform(0.75, 1.25)):
            try:
                beat_store.heartbeat(self.id, heartbeat_at(beat_store.server_time()))
                self.prune()
            except Exception:  # noqa: BLE001 - the heartbeat must outlive any error
                logger.warning("Heartbeat failed", exc_info=True)


def _decode_record(raw: bytes) -> dict[str, Any] | None:
    try:
        record = loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _signal_child(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _raise_term_once(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise TermException("SIGTERM")
