"""The scheduler's public functions, on the default client and as methods.

The ``resque.api`` entry point names this module: the core imports it on
first use (``resque.enqueue_at``, ``client.enqueue_in``, the first
``@resque.job`` function), and importing it attaches the delayed-queue and
dynamic-schedule functions to ``Resque`` and to ``@resque.job`` functions,
as Ruby's ``Resque.extend``; its ``__all__`` become functions of
``resque``. It does no I/O and imports no YAML or cron parser.
"""
from __future__ import annotations

from typing import Any, Callable

from ..client import add_client_methods, add_job_methods, get_client
from . import delayed as d
from . import schedule as s

Selector = d.Selector

__all__ = [
    "count_all_scheduled_jobs", "delayed_queue_peek", "delayed_queue_schedule_size",
    "delayed_timestamp_peek", "delayed_timestamp_size", "enqueue_at", "enqueue_at_with_queue",
    "enqueue_delayed_selection", "enqueue_in", "enqueue_in_with_queue", "fetch_schedule",
    "find_delayed_selection", "next_delayed_timestamp", "remove_delayed", "remove_delayed_selection",
    "remove_schedule", "reset_delayed_queue", "set_schedule",
]

add_client_methods(
    enqueue_at=d.enqueue_at, enqueue_in=d.enqueue_in,
    enqueue_at_with_queue=d.enqueue_at_with_queue, enqueue_in_with_queue=d.enqueue_in_with_queue,
    delay_or_enqueue_at=d.delay_or_enqueue_at, delay_or_enqueue_in=d.delay_or_enqueue_in,
    remove_delayed=d.remove_delayed, remove_delayed_in_queue=d.remove_delayed_in_queue,
    remove_delayed_job_from_timestamp=d.remove_delayed_job_from_timestamp,
    remove_delayed_selection=d.remove_delayed_selection,
    enqueue_delayed=d.enqueue_delayed, enqueue_delayed_selection=d.enqueue_delayed_selection,
    find_delayed_selection=d.find_delayed_selection,
    delayed_queue_schedule_size=d.delayed_queue_schedule_size,
    delayed_queue_peek=d.delayed_queue_peek, delayed_timestamp_size=d.delayed_timestamp_size,
    delayed_timestamp_peek=d.delayed_timestamp_peek,
    count_all_scheduled_jobs=d.count_all_scheduled_jobs,
    next_delayed_timestamp=d.next_delayed_timestamp, scheduled_at=d.scheduled_at,
    is_delayed=d.is_delayed, reset_delayed_queue=d.reset_delayed_queue,
    set_schedule=s.set_schedule, remove_schedule=s.remove_schedule,
    fetch_schedule=s.fetch_schedule, get_schedules=s.get_schedules,
)


def _bound(fn: Callable[..., Any]) -> Callable[[Any], Callable[..., Any]]:
    """Make a job method: ``fn(default client, <first args>, target, *args)``."""
    def maker(target: Any) -> Callable[..., Any]:
        def method(first: Any, *args: Any) -> Any:
            return fn(get_client(), first, target, *args)
        method.__name__ = fn.__name__
        method.__doc__ = fn.__doc__
        return method
    return maker


add_job_methods(
    enqueue_at=_bound(d.enqueue_at), enqueue_in=_bound(d.enqueue_in),
    remove_delayed=lambda target: lambda *args: d.remove_delayed(get_client(), target, *args),
    scheduled_at=lambda target: lambda *args: d.scheduled_at(get_client(), target, *args),
)


def enqueue_at(when: Any, job: Any, *args: Any) -> bool | None:
    """Run ``job`` at ``when`` (datetime, naive = UTC, or epoch seconds)."""
    return d.enqueue_at(get_client(), when, job, *args)


def enqueue_in(delay: Any, job: Any, *args: Any) -> bool | None:
    """Run ``job`` after ``delay`` seconds (or a timedelta)."""
    return d.enqueue_in(get_client(), delay, job, *args)


def enqueue_at_with_queue(queue: str | None, when: Any, job: Any, *args: Any) -> bool | None:
    """Run ``job`` on ``queue`` at ``when``."""
    return d.enqueue_at_with_queue(get_client(), queue, when, job, *args)


def enqueue_in_with_queue(queue: str | None, delay: Any, job: Any, *args: Any) -> bool | None:
    """Run ``job`` on ``queue`` after ``delay`` seconds."""
    return d.enqueue_in_with_queue(get_client(), queue, delay, job, *args)


def remove_delayed(job: Any, *args: Any) -> int:
    """Remove every delayed copy of this exact job; return how many."""
    return d.remove_delayed(get_client(), job, *args)


def remove_delayed_selection(job: Any = None, selector: Selector | None = None) -> int:
    """Remove delayed items of ``job`` whose args ``selector`` accepts."""
    return d.remove_delayed_selection(get_client(), job, selector)


def enqueue_delayed_selection(job: Any = None, selector: Selector | None = None) -> int:
    """Enqueue now the delayed items of ``job`` whose args ``selector`` accepts."""
    return d.enqueue_delayed_selection(get_client(), job, selector)


def find_delayed_selection(job: Any = None, selector: Selector | None = None) -> list[bytes]:
    """Return raw delayed items of ``job`` whose args ``selector`` accepts."""
    return d.find_delayed_selection(get_client(), job, selector)


def delayed_queue_schedule_size() -> int:
    """Return how many distinct seconds hold delayed items."""
    return d.delayed_queue_schedule_size(get_client())


def delayed_queue_peek(start: int = 0, count: int = 20) -> list[int]:
    """Return ``count`` delayed seconds from ``start``, oldest first."""
    return d.delayed_queue_peek(get_client(), start, count)


def delayed_timestamp_peek(when: Any, start: int = 0, count: int = 1) -> list[Any]:
    """Return the decoded items of one second."""
    return d.delayed_timestamp_peek(get_client(), when, start, count)


def delayed_timestamp_size(when: Any) -> int:
    """Return how many items wait in one second."""
    return d.delayed_timestamp_size(get_client(), when)


def count_all_scheduled_jobs() -> int:
    """Return how many delayed items wait over all seconds."""
    return d.count_all_scheduled_jobs(get_client())


def next_delayed_timestamp(at: Any = None) -> int | None:
    """Return the oldest due second (at ``at``, default now), or None."""
    return d.next_delayed_timestamp(get_client(), at)


def reset_delayed_queue() -> int:
    """Delete every delayed item; return how many."""
    return d.reset_delayed_queue(get_client())


def set_schedule(name: str, config: dict[str, Any]) -> s.Entry:
    """Store a dynamic recurring entry in Redis."""
    return s.set_schedule(get_client(), name, config)


def remove_schedule(name: str) -> bool:
    """Delete a dynamic recurring entry."""
    return s.remove_schedule(get_client(), name)


def fetch_schedule(name: str) -> dict[str, Any] | None:
    """Return a dynamic entry's config, or None."""
    return s.fetch_schedule(get_client(), name)


PUBLIC = [
    "count_all_scheduled_jobs", "delayed_queue_peek", "delayed_queue_schedule_size",
    "delayed_timestamp_peek", "delayed_timestamp_size", "enqueue_at", "enqueue_at_with_queue",
    "enqueue_delayed_selection", "enqueue_in", "enqueue_in_with_queue", "fetch_schedule",
    "find_delayed_selection", "next_delayed_timestamp", "remove_delayed",
    "remove_delayed_selection", "remove_schedule", "reset_delayed_queue", "set_schedule",
]
