"""Delayed and recurring jobs, wire-compatible with Ruby's resque-scheduler 5.

``resque.enqueue_at``/``enqueue_in`` and friends come from ``api``; the
``resque scheduler`` process from ``runner``; the ``delayed`` and
``schedule`` commands from ``cli``; the web tabs from ``web``.
"""
from __future__ import annotations

from .delayed import push as push_delayed
from .mover import handle_delayed_items
from .runner import Scheduler, SchedulerOptions

__all__ = ["Scheduler", "SchedulerOptions", "handle_delayed_items", "push_delayed"]
