"""Worker settings, with Ruby's environment variables as defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ._flags import env_float, is_set
from .errors import ConfigurationError
from .keys import HEARTBEAT_INTERVAL, ORPHAN_LIMIT, PRUNE_INTERVAL


@dataclass
class WorkerOptions:
    """Tunables of a worker; ``from_env`` reads Ruby's environment variables."""

    interval: float = 5.0
    min_interval: float | None = None
    max_interval: float | None = None
    backoff_interval: float | None = None
    fork: bool = True
    term_child: bool = False
    graceful_term: bool = False
    pre_shutdown_timeout: float = 0.0
    term_timeout: float = 4.0
    run_at_exit_hooks: bool = False
    procline_prefix: str = ""
    requeue_orphans: bool = False
    orphan_limit: int = ORPHAN_LIMIT  # the death of a worker running a job that fails it
    heartbeat_interval: float = HEARTBEAT_INTERVAL
    prune_interval: float = PRUNE_INTERVAL
    record_nonzero_exit: bool = True
    job_timeout: float | None = None  # seconds a job may run unless it sets its own limit
    job_timing: bool = True  # record each job's run time per class (``timing.py``)
    jobs_per_fork: int = 1  # jobs a forked child runs before it exits (``multifork.py``)
    minutes_per_fork: float | None = None  # time budget of a forked child, in minutes

    @classmethod
    def from_env(cls, **overrides: Any) -> "WorkerOptions":
        """Build options from INTERVAL, FORK_PER_JOB, TERM_CHILD, ... then ``overrides``."""
        opts = cls(
            interval=env_float("INTERVAL", 5.0) or 0.0,
            min_interval=env_float("MIN_INTERVAL"),
            max_interval=env_float("MAX_INTERVAL"),
            backoff_interval=env_float("BACKOFF_INTERVAL"),
            fork=os.environ.get("FORK_PER_JOB") != "false",
            term_child=is_set("TERM_CHILD"),
            graceful_term=is_set("GRACEFUL_TERM"),
            pre_shutdown_timeout=env_float("RESQUE_PRE_SHUTDOWN_TIMEOUT", 0.0) or 0.0,
            term_timeout=env_float("RESQUE_TERM_TIMEOUT", 4.0) or 0.0,
            run_at_exit_hooks=is_set("RUN_AT_EXIT_HOOKS"),
            procline_prefix=os.environ.get("RESQUE_PROCLINE_PREFIX", ""),
            requeue_orphans=os.environ.get("RESQUE_REQUEUE_ORPHANS", "") not in ("", "0", "false"),
            orphan_limit=int(env_float("RESQUE_ORPHAN_LIMIT", ORPHAN_LIMIT) or 0),
            job_timeout=env_float("RESQUE_JOB_TIMEOUT") or None,
            job_timing=os.environ.get("RESQUE_JOB_TIMING", "").strip().lower()
            not in ("0", "false", "no", "off"),
            jobs_per_fork=_jobs_per_fork(),
            minutes_per_fork=env_float("MINUTES_PER_FORK") or None,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(opts, key, value)
        return opts

    @property
    def multi_job_forks(self) -> bool:
        """Say whether a forked child runs more than one job."""
        return self.fork and (self.jobs_per_fork > 1 or bool(self.minutes_per_fork))

    def intervals(self) -> tuple[float, float, float, float]:
        """Return (interval, min, max, backoff) clamped as Ruby's ``work`` does."""
        hi = self.max_interval if self.max_interval is not None else self.interval
        lo = min(self.min_interval if self.min_interval is not None else self.interval, hi)
        backoff = min(self.backoff_interval if self.backoff_interval is not None else 0.1, hi)
        return min(max(self.interval, lo), hi), lo, hi, backoff


def _jobs_per_fork() -> int:
    """Read JOBS_PER_FORK (resque-multi-job-forks' name); 1 when unset."""
    value = env_float("JOBS_PER_FORK")
    if value is None:
        return 1
    if value < 1 or value != int(value):
        raise ConfigurationError(f"JOBS_PER_FORK={value:g} is not a whole number >= 1")
    return int(value)
