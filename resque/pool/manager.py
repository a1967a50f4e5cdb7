"""The pool master: fork workers per queue list, supervise, relay signals.

Signals follow resque-pool: HUP reloads the config and rolls every worker
(QUIT; replacements start as the old ones exit); QUIT stops the workers
gracefully and waits for them; INT sends them QUIT and exits at once; TERM
sends them TERM and exits at once (``term_behavior`` can make it wait);
WINCH (only with ``--background``) stops all workers but keeps the master;
USR1, USR2 and CONT are passed on to every worker. The handlers do nothing
but exist: ``signal.set_wakeup_fd`` writes each signal's number to a pipe
and the main loop reads and acts on it, so no handler takes a lock, logs
or runs a hook.
"""
from __future__ import annotations

import ctypes
import gc
import logging
import os
import select
import signal
import time
from dataclasses import dataclass, field
from typing import Callable

from .._compat import set_title
from ..errors import ConfigurationError
from . import memory
from .config import PoolConfig
from .notify import Notifier

logger = logging.getLogger(__name__)

_RELAYED = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT)
_HANDLED = (signal.SIGHUP, signal.SIGQUIT, signal.SIGINT, signal.SIGTERM, signal.SIGWINCH,
            signal.SIGCHLD, *_RELAYED)
_PR_SET_PDEATHSIG = 1
STABLE_AFTER = 10.0  # a worker that lived this long did not crash at start-up: no backoff
MAX_BACKOFF = 30.0
TERM_BEHAVIORS = ("immediate", "graceful", "graceful_wait")


@dataclass
class PoolOptions:
    """How the pool behaves; the command line fills it."""

    term_behavior: str = "immediate"  # TERM: like resque-pool's default, --term-graceful[-wait]
    stop_timeout: float | None = None  # graceful stop: TERM the workers still running after this
    max_memory: int | None = None  # bytes of RSS per worker before a graceful restart
    memory_interval: float = 5.0
    handle_winch: bool = False  # resque-pool handles WINCH only when daemonized
    spawn_delay: float = 0.0


@dataclass
class PooledWorker:
    """One forked worker: its pid, queue list, start time, and whether it is leaving."""

    pid: int
    queues: str
    started: float
    retiring: bool = False


@dataclass
class _Backoff:
    failures: int = 0
    not_before: float = 0.0


@dataclass
class Pool:
    """Keep the configured workers running; ``run`` returns when the pool stops."""

    load: Callable[[], PoolConfig]
    spawn: Callable[[str], None]
    options: PoolOptions = field(default_factory=PoolOptions)
    notifier: Notifier = field(default_factory=Notifier)
    workers: dict[int, PooledWorker] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.config: PoolConfig = {}
        self.state = "starting"
        self._pipe: tuple[int, int] | None = None
        self._backoff: dict[str, _Backoff] = {}
        self._stop_deadline: float | None = None
        self._termed = False
        self._next_memory_check = 0.0
        self._master = os.getpid()

    # -- the main loop --------------------------------------------------------

    def run(self) -> None:
        """Start the workers and supervise until a stop signal ends the pool."""
        self._title()
        self.config = self.load()
        self._install_signals()
        gc.freeze()  # the app's objects stay out of the workers' collections: fewer copied pages
        try:
            self.maintain()
            self.state = "managing"
            self._title()
            self.notifier.ready(self._status())
            logger.info("Pool started: %s", self._status())
            while self.state != "stopped":
                for sig in self._wait(self._timeout()):
                    self.handle(sig)
                self.step()
        finally:
            self._restore_signals()
        logger.info("Pool stopped")

    def step(self) -> None:
        """Reap, enforce deadlines and the memory ceiling, keep the count, retitle."""
        self._reap()
        self.notifier.beat()
        if self.state == "stopping":
            if not self.workers:
                self.state = "stopped"
            elif self._stop_deadline is not None and time.monotonic() >= self._stop_deadline \
                    and not self._termed:
                logger.warning("Stop timeout: sending TERM to %d workers", len(self.workers))
                self._signal_all(signal.SIGTERM)
                self._termed = True
        elif self.state == "managing":
            self._check_memory()
            self.maintain()
        self._title()

    def handle(self, sig: int) -> None:
        """Act on one signal read from the wake-up pipe."""
        if sig == signal.SIGCHLD:
            return
        if sig in _RELAYED:
            logger.info("%s: passing it on to %d workers", signal.Signals(sig).name, len(self.workers))
            self._signal_all(sig)
        elif sig == signal.SIGHUP and self.state == "managing":
            self.reload()
        elif sig == signal.SIGWINCH and self.options.handle_winch and self.state == "managing":
            logger.info("WINCH: stopping every worker; HUP starts them again")
            self.config = {}
            self.maintain()
        elif sig == signal.SIGQUIT:
            self.stop(graceful=True, wait=True)
        elif sig == signal.SIGINT:
            self.stop(graceful=True, wait=False)
        elif sig == signal.SIGTERM:
            behavior = self.options.term_behavior
            self.stop(graceful=behavior != "immediate", wait=behavior == "graceful_wait")

    def reload(self) -> None:
        """Read the config again and roll every worker (HUP)."""
        self.notifier.reloading()
        self.state = "reloading"
        self._title()
        try:
            self.config = self.load()
        except ConfigurationError as exc:
            logger.error("HUP: keeping the old config: %s", exc)
        else:
            logger.info("HUP: config reloaded; restarting %d workers gracefully", len(self.workers))
            for worker in self.workers.values():
                self._retire(worker)
        self.state = "managing"
        self.notifier.ready(self._status())

    def stop(self, graceful: bool, wait: bool) -> None:
        """Stop the workers (QUIT if graceful, else TERM); wait for them or not."""
        if self.state == "stopping":  # a second stop signal while waiting: stop now
            if not graceful or not wait:
                self._signal_all(signal.SIGTERM if not graceful else signal.SIGQUIT)
                self.state = "stopped"
            return
        how = "gracefully" if graceful else "now"
        logger.info("Stopping %d workers %s%s", len(self.workers), how,
                    ", waiting for them" if wait else "")
        self.notifier.stopping(f"stopping {len(self.workers)} workers {how}")
        self._signal_all(signal.SIGQUIT if graceful else signal.SIGTERM)
        if wait:
            self.state = "stopping"
            if self.options.stop_timeout is not None:
                self._stop_deadline = time.monotonic() + self.options.stop_timeout
        else:
            self.state = "stopped"

    # -- worker count ---------------------------------------------------------

    def maintain(self) -> None:
        """Spawn missing workers and retire excess ones, per queue list."""
        for queues in sorted(set(self.config) | {w.queues for w in self.workers.values()}):
            want = self.config.get(queues, 0)
            mine = [w for w in self.workers.values() if w.queues == queues]
            staying = [w for w in mine if not w.retiring]
            for worker in staying[want:]:
                self._retire(worker)
            missing = want - len(mine)
            backoff = self._backoff.get(queues)
            if missing > 0 and (backoff is None or time.monotonic() >= backoff.not_before):
                for _ in range(missing):
                    self._fork(queues)
                    if self.options.spawn_delay:
                        time.sleep(self.options.spawn_delay)

    def _fork(self, queues: str) -> None:
        pid = os.fork()
        if pid == 0:
            self._child(queues)
        self.workers[pid] = PooledWorker(pid, queues, time.monotonic())
        logger.info("Started worker %d for %s", pid, queues)

    def _child(self, queues: str) -> None:
        """Become a worker: default signals, own process group, die with the master."""
        code = 1
        try:
            self._restore_signals()
            if self._pipe is not None:
                os.close(self._pipe[0])
                os.close(self._pipe[1])
            os.setpgrp()  # a terminal's Ctrl-C reaches the master only; it decides
            _quit_when_parent_dies()
            if os.getppid() != self._master:
                return  # the master died while we were being born
            self.spawn(queues)
            code = 0
        except BaseException:  # noqa: BLE001 - a worker's start-up error ends it, not the pool
            logger.exception("Worker for %s failed", queues)
        finally:
            os._exit(code)

    def _retire(self, worker: PooledWorker) -> None:
        if not worker.retiring:
            worker.retiring = True
            _kill(worker.pid, signal.SIGQUIT)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is not None:
                self._reaped(worker, status)

    def _reaped(self, worker: PooledWorker, status: int) -> None:
        lived = time.monotonic() - worker.started
        code = os.waitstatus_to_exitcode(status)
        if worker.retiring or self.state != "managing":
            logger.info("Worker %d (%s) exited (%d)", worker.pid, worker.queues, code)
            return
        backoff = self._backoff.setdefault(worker.queues, _Backoff())
        backoff.failures = 0 if lived >= STABLE_AFTER else backoff.failures + 1
        delay = min(0.5 * 2 ** (backoff.failures - 1), MAX_BACKOFF) if backoff.failures else 0.0
        backoff.not_before = time.monotonic() + delay
        logger.warning("Worker %d (%s) died (%d) after %.1fs; restarting in %.1fs",
                       worker.pid, worker.queues, code, lived, delay)

    def _check_memory(self) -> None:
        limit = self.options.max_memory
        if limit is None or time.monotonic() < self._next_memory_check:
            return
        self._next_memory_check = time.monotonic() + self.options.memory_interval
        for worker in list(self.workers.values()):
            used = memory.rss(worker.pid)
            if used is not None and used > limit and not worker.retiring:
                logger.warning("Worker %d (%s) uses %d MB RSS, over %d MB: restarting it gracefully",
                               worker.pid, worker.queues, used >> 20, limit >> 20)
                self._retire(worker)

    def _signal_all(self, sig: int) -> None:
        for pid in list(self.workers):
            _kill(pid, sig)

    # -- signals, sleeping, title ---------------------------------------------

    def _install_signals(self) -> None:
        rfd, wfd = os.pipe()
        for fd in (rfd, wfd):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)
        self._pipe = (rfd, wfd)
        signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        for sig in _HANDLED:
            signal.signal(sig, _noted)

    def _restore_signals(self) -> None:
        signal.set_wakeup_fd(-1)
        for sig in _HANDLED:
            signal.signal(sig, signal.SIG_DFL)

    def _wait(self, timeout: float) -> list[int]:
        """Sleep until a signal arrives or ``timeout`` passes; return the signals."""
        assert self._pipe is not None
        ready, _, _ = select.select([self._pipe[0]], [], [], timeout)
        if not ready:
            return []
        try:
            return list(os.read(self._pipe[0], 512))
        except BlockingIOError:
            return []

    def _timeout(self) -> float:
        waits = [1.0, self.options.memory_interval if self.options.max_memory else 1.0]
        if self.notifier.watchdog is not None:
            waits.append(self.notifier.watchdog / 2)
        pending = [b.not_before - time.monotonic() for b in self._backoff.values()]
        waits += [p for p in pending if p > 0]
        return max(0.01, min(waits))

    def _status(self) -> str:
        pids = sorted(self.workers)
        return f"managing {len(pids)} workers {pids}"

    def _title(self) -> None:
        if self.state == "managing":
            text = self._status()
        elif self.state == "stopping":
            text = f"(stopping: waiting for {len(self.workers)} workers)"
        else:
            text = f"({self.state})"
        set_title(f"resque-pool-master: {text}")


def _noted(signum: int, frame: object) -> None:
    """Do nothing: the wake-up fd already carries the signal to the main loop."""


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _quit_when_parent_dies() -> None:
    """Ask Linux to send this process QUIT when the master dies (resque-pool's orphan watch)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGQUIT), 0, 0, 0)
    except (OSError, AttributeError):
        pass
