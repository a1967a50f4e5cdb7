"""Delayed and recurring jobs, wire-compatible with Ruby's resque-scheduler 5.

``resque.enqueue_at``/``enqueue_in`` and friends come from ``api``; the
``resque scheduler`` process from ``runner``; the ``delayed`` and
``schedule`` commands from ``cli``; the web tabs from ``web``. The
process's modules load on first use, so ``import resque`` stays light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .delayed import push as push_delayed

if TYPE_CHECKING:
    from .mover import handle_delayed_items
    from .runner import Scheduler, SchedulerOptions

__all__ = ["Scheduler", "SchedulerOptions", "handle_delayed_items", "push_delayed"]


def __getattr__(name: str) -> Any:
    if name == "handle_delayed_items":
        from . import mover
        return mover.handle_delayed_items
    if name in ("Scheduler", "SchedulerOptions"):
        from . import runner
        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
