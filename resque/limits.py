"""Job time limits: the job option, the limit a job runs under, and the timer.

A job's limit is its ``timeout`` option (``@resque.job(timeout=30)``), else
its class attribute ``job_timeout``, else the worker's default
(``resque work --job-timeout``); 0 means none. At the limit ``JobTimer``
raises ``JobTimeout`` inside the job from SIGALRM: in the job's forked
process, or in the worker itself without forking. While a limited job
runs, ``<ns>:timeout:<worker id>`` holds the limit and the job's
``run_at`` (the worker record's format stays Ruby's); it expires by
itself, and a reader takes it only when its ``run_at`` matches the
worker's job.
"""
from __future__ import annotations

import inspect
import logging
import os
import signal
import time
from types import FrameType
from typing import Any, Callable

from ._compat import dumps, loads
from .errors import JobTimeout, ResqueError
from .registry import JobSpec

logger = logging.getLogger(__name__)
_SIGALRM = signal.SIGALRM
_NEVER = 3600.0


class Timeout:
    """A job's time limit in seconds (job option ``timeout=``; 0: none)."""

    def __init__(self, seconds: float):
        if seconds < 0:
            raise ValueError(f"a time limit cannot be negative ({seconds})")
        self.seconds = float(seconds)

    def __repr__(self) -> str:
        return f"Timeout({self.seconds:g})"

    def attach(self, spec: JobSpec) -> None:
        """Nothing to hook: the worker reads ``spec.options["timeout"]``."""


def limit_of(spec: JobSpec | None, default: float | None) -> float | None:
    """Return the limit a job runs under: its option, its class's, or ``default``."""
    if spec is not None:
        option = spec.options.get("timeout")
        if isinstance(option, Timeout):
            return option.seconds or None
        attr = getattr(spec.target, "job_timeout", None) if inspect.isclass(spec.target) else None
        if isinstance(attr, (int, float)) and not isinstance(attr, bool):
            return float(attr) or None
    return default or None


def limit_record(run_at: str, limit: float) -> bytes:
    """Encode what ``<ns>:timeout:<worker id>`` holds."""
    return dumps({"run_at": run_at, "limit": limit})


def read_limit(raw: bytes | None, run_at: Any) -> float | None:
    """Return the limit in a record if it belongs to the job started at ``run_at``."""
    if not raw:
        return None
    try:
        value = loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("run_at") != run_at:
        return None
    limit = value.get("limit")
    return float(limit) if isinstance(limit, (int, float)) and limit > 0 else None


def timeout_message(name: str | None, limit: float, elapsed: float, killed: bool) -> str:
    """Say that a job timed out, its limit and after how long."""
    how = "killed" if killed else "stopped"
    return f"{name or 'job'} ran past its time limit of {limit:g}s: {how} after {elapsed:.1f}s"


class JobTimer:
    """Raise ``JobTimeout`` in the main thread once, ``limit`` seconds from ``start``.

    SIGALRM interrupts Python code and waits in system calls (sleep,
    sockets); it cannot interrupt C code that holds the GIL, and a job's
    ``except BaseException`` can swallow it. Main thread only. A timer
    that was set before (another SIGALRM user) is put back afterwards,
    less the time the job took.
    """

    def __init__(self) -> None:
        self.name: str | None = None
        self.limit = 0.0
        self.started = 0.0
        self.armed = False
        self._before: Callable[..., Any] | int | None = None
        self._installed = False
        self._other: tuple[float, float] = (0.0, 0.0)

    def arm(self, name: str | None, limit: float) -> None:
        """Start the timer for the job ``name``."""
        self.name, self.limit, self.started, self.armed = name, limit, time.monotonic(), True
        self._before = signal.signal(_SIGALRM, self._fire)
        self._installed = True
        self._other = signal.setitimer(signal.ITIMER_REAL, limit)

    def disarm(self) -> None:
        """Stop the timer, put SIGALRM's handler and any earlier timer back."""
        self.armed = False
        if self._installed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._installed = False
            signal.signal(_SIGALRM, self._before if self._before is not None else signal.SIG_DFL)
            left, interval = self._other
            if left > 0:
                spent = time.monotonic() - self.started
                signal.setitimer(signal.ITIMER_REAL, max(left - spent, 0.001), interval)

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        if not self.armed:
            return
        self.armed = False
        signal.signal(_SIGALRM, signal.SIG_IGN)  # once: a second alarm cannot interrupt the cleanup
        elapsed = time.monotonic() - self.started
        raise JobTimeout(timeout_message(self.name, self.limit, elapsed, killed=False))


class JobLimits:
    """The worker's side of time limits (mixed into ``Worker``).

    A job without a limit costs a dictionary lookup here and nothing else:
    no timer, no Redis write, no planned signal.
    """

    options: Any
    store: Any
    client: Any
    id: str
    fork: bool
    _last: tuple[str, str, bytes] | None

    def _init_limits(self) -> None:
        self.job_limit: float | None = None
        self._limits: dict[Any, float | None] = {}
        self._timer = JobTimer()
        self._limit_started = 0.0
        self._limit_signals: list[tuple[float, int]] = []
        self._killed_at_limit = False

    def limit_for(self, job: Any) -> float | None:
        """Return (and remember) the time limit the job about to run has."""
        try:
            spec = job.spec(self.client.registry)
        except ResqueError:  # an unknown job: it fails at once, under the worker's default
            spec = None
        if spec in self._limits:
            self.job_limit = self._limits[spec]
        else:
            self.job_limit = self._limits[spec] = limit_of(spec, self.options.job_timeout)
        return self.job_limit

    def start_limit(self, job: Any) -> None:
        """Note the limit in Redis for display; with a child, plan its SIGKILL.

        The child stops itself at the limit (its own timer raises
        ``JobTimeout``, which also holds when the worker is gone); one
        still running ``term_timeout`` seconds later is killed.
        """
        limit = self.job_limit
        if not limit:
            return
        now = time.monotonic()
        self._limit_started, self._killed_at_limit = now, False
        if self.fork:
            self._limit_signals = [(now + limit + self.options.term_timeout, int(signal.SIGKILL))]
        stamp = self._last[1] if self._last else ""
        ttl = int(limit + self.options.term_timeout) + 60
        try:
            self.store.set_job_limit(self.id, limit_record(stamp, limit), ttl)
        except Exception as exc:  # noqa: BLE001 - display only: never in the job's way
            logger.warning("Could not note the time limit of %r: %s", job, exc)

    def arm_limit(self, job: Any) -> None:
        """Start the job's own timer (in the process that runs it)."""
        if self.job_limit:
            self._timer.arm(job.name, self.job_limit)

    def disarm_limit(self) -> None:
        if self.job_limit:
            self._timer.disarm()

    def enforce_limit(self, pid: int) -> float:
        """Kill a child past its limit and grace; return seconds until that is due."""
        plan = self._limit_signals
        if not plan:
            return _NEVER
        now = time.monotonic()
        while plan and plan[0][0] <= now:
            sig = plan.pop(0)[1]
            self._killed_at_limit = sig == signal.SIGKILL
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return plan[0][0] - now if plan else _NEVER

    def limit_failure(self, job: Any, status: int) -> JobTimeout | None:
        """Return the failure of a child killed at its limit (else None); end the plan."""
        self._limit_signals = []
        if not self._killed_at_limit or not os.WIFSIGNALED(status):
            return None
        self._killed_at_limit = False
        elapsed = time.monotonic() - self._limit_started
        return JobTimeout(timeout_message(job.name, self.job_limit or 0, elapsed, killed=True))
