"""Errors of the scheduler plugin, rooted in the core tree."""
from __future__ import annotations

from ..errors import ConfigurationError, PayloadError


class ScheduleError(ConfigurationError):
    """A schedule entry, cron string or duration cannot be used."""


class DelayedItemError(PayloadError):
    """A delayed item cannot be moved to a queue; it was set aside."""

    ruby_name = "Resque::Scheduler::DelayedItemError"
