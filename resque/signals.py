"""Ruby's worker signals, handled without ever taking a lock.

A Python signal handler runs in the main thread between two bytecodes,
possibly while that thread holds a lock: an ``Event``'s inside ``wait()``,
a logging handler's, any lock a hook might take. So the handlers here only
set flags, queue an event, plan signals for the child and wake the
worker's ``Sleeper``. What a signal calls for beyond that (the log line,
the ``shutdown``/``before_pause``/``after_pause`` hooks) runs from the
main loop at its next step, ``run_events()``; the parent waits for a
child by polling woken by SIGCHLD, so no handler raises into ``waitpid``.
The one exception is Ruby's: TERM with TERM_CHILD and no fork raises
``TermException`` inside the running job.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from collections import deque
from types import FrameType
from typing import Any

from ._compat import SIG_DFL, SIG_IGN, raw_signal
from .errors import TermException
from .hooks import WorkerHooks
from .options import WorkerOptions
from .sleeper import Sleeper

logger = logging.getLogger(__name__)

_SIGTERM, _SIGCONT, _SIGCHLD = int(signal.SIGTERM), int(signal.SIGCONT), int(signal.SIGCHLD)
_CHILD_IGNORED = tuple(int(s) for s in (signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                                        signal.SIGCONT, signal.SIGTERM, signal.SIGINT))
_TERM_CHILD_DEFAULT = tuple(int(s) for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1,
                                             signal.SIGUSR2))
# What a signal-requested event runs in the main loop: a log line and a hook.
_EVENTS = {"shutdown": ("Shutdown requested for %s", "shutdown"),
           "pause": ("Pausing %s", "before_pause"),
           "unpause": ("Resuming %s", "after_pause")}
CHILD_POLL = 1.0  # seconds between waitpid checks, should a SIGCHLD go missing


class SignalHandling:
    """The worker's side of QUIT, TERM, INT, USR1, USR2, CONT and CHLD."""

    id: str
    options: WorkerOptions
    hooks: WorkerHooks
    fork: bool
    stopping: bool
    paused: bool
    child_pid: int
    _in_job: bool

    def __init__(self) -> None:
        self._events: deque[str] = deque()  # asked for by handlers, run by run_events()
        self._sleeper = Sleeper()
        self._kill_plan: list[tuple[float, int]] = []  # (when, signal) for the child
        self._chld_before: Any = None  # the SIGCHLD handler to put back after work()

    def shutdown(self) -> None:
        """Stop after the current job (QUIT); the shutdown hooks run from the loop."""
        if not self.stopping:
            self.stopping = True
            self._events.append("shutdown")
        self._sleeper.wake()

    def shutdown_now(self) -> None:
        """Stop now: kill or TERM the running child first (TERM/INT)."""
        self.shutdown()
        self.kill_child()

    def pause(self) -> None:
        """Stop reserving jobs until ``unpause`` (USR2); before_pause runs from the loop."""
        self.paused = True
        self._events.append("pause")
        self._sleeper.wake()

    def unpause(self) -> None:
        """Resume reserving jobs (CONT); after_pause runs from the loop."""
        self.paused = False
        self._events.append("unpause")
        self._sleeper.wake()

    def run_events(self) -> None:
        """Run what signal handlers asked for: log lines and hooks, in order."""
        while self._events:
            message, hook = _EVENTS[self._events.popleft()]
            logger.info(message, self.id)
            if hook == "shutdown":
                self.hooks.run(hook)
            else:
                self.hooks.run(hook, self)

    def register_signal_handlers(self) -> None:
        """Install QUIT, TERM, INT, USR1, USR2, CONT and CHLD handlers (main thread only)."""
        term = self._on_quit if self.options.graceful_term else self._on_term
        for sig, handler in ((signal.SIGQUIT, self._on_quit), (signal.SIGTERM, term),
                             (signal.SIGINT, self._on_term), (signal.SIGUSR1, self._on_usr1),
                             (signal.SIGUSR2, self._on_usr2), (signal.SIGCONT, self._on_cont)):
            signal.signal(sig, handler)
        if signal.getsignal(signal.SIGCHLD) != self._on_chld:  # restored by shutdown_cleanup
            self._chld_before = signal.signal(signal.SIGCHLD, self._on_chld)
            signal.siginterrupt(signal.SIGCHLD, False)  # a job's own system calls just go on

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

    def _on_chld(self, signum: int, frame: FrameType | None) -> None:
        self._sleeper.wake()

    def _restore_sigchld(self) -> None:
        if self._chld_before is not None and signal.getsignal(signal.SIGCHLD) == self._on_chld:
            signal.signal(signal.SIGCHLD, self._chld_before)
            self._chld_before = None

    def kill_child(self) -> None:
        """Kill the running child: SIGKILL, or with TERM_CHILD a TERM then KILL later.

        Safe in a signal handler: it plans the signals, ``wait_child`` sends them.
        """
        if not self.child_pid or self._kill_plan:
            return
        now = time.monotonic()
        if self.options.term_child:
            start = now + self.options.pre_shutdown_timeout
            self._kill_plan = [(start, signal.SIGTERM),
                               (start + self.options.term_timeout, signal.SIGKILL)]
        else:
            self._kill_plan = [(now, signal.SIGKILL)]
        self._sleeper.wake()

    def _child_signals(self) -> None:
        raw_signal(_SIGCHLD, SIG_DFL)  # the job's own children are none of the parent's business
        if self.options.term_child:
            for sig in _TERM_CHILD_DEFAULT:
                raw_signal(sig, SIG_DFL)
            raw_signal(_SIGTERM, _raise_term_once)
            raw_signal(_SIGCONT, SIG_IGN)
        else:
            for sig in _CHILD_IGNORED:
                raw_signal(sig, SIG_IGN)

    def send_due(self, pid: int) -> float:
        """Send the child its planned signals now due; return seconds until the next."""
        plan = self._kill_plan
        now = time.monotonic()
        while plan and plan[0][0] <= now:
            try:
                os.kill(pid, plan.pop(0)[1])
            except ProcessLookupError:
                pass
        return min(CHILD_POLL, plan[0][0] - now) if plan else CHILD_POLL


def _raise_term_once(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise TermException("SIGTERM")
