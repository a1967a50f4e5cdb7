"""The delayed queue: schedule jobs for later, inspect and remove them.

Every function takes a ``Resque`` client first, so each is also a client
method (``client.enqueue_at(...)``, attached by ``resque.scheduler.api``)
as Ruby's ``Resque.extend DelayingExtensions`` does. Items are written
byte for byte as resque-scheduler 5 writes them (reference section 2).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from .._compat import dumps, loads
from ..client import Resque
from ..errors import JobNotAllowed, NoClassError
from ..job import run_hooks
from ..registry import JobSpec
from .keys import SchedulerKeys
from .store import SchedulerStore

Selector = Callable[[list[Any]], Any]
_STORE_ATTR = "_resque_scheduler_store"


def store_of(client: Resque) -> SchedulerStore:
    """Return the client's scheduler store, made on first use."""
    found = client.__dict__.get(_STORE_ATTR)
    if found is None:
        found = SchedulerStore(client.redis, SchedulerKeys(client.keyspace))
        client.__dict__[_STORE_ATTR] = found
    return found


def spec_of(client: Resque, job: Any) -> JobSpec:
    """Return a job's spec; a name this process does not define gets a bare one."""
    if isinstance(job, str):
        if not job:
            raise NoClassError("Jobs must be given a class.")
        try:
            return client.registry.resolve(job)
        except JobNotAllowed:
            return JobSpec(job, None)
    return client.registry.spec_for(job)


def hooks(spec: JobSpec, prefix: str) -> tuple[Callable[..., Any], ...]:
    """Return a job's hooks of one kind (none for a job defined elsewhere)."""
    return spec.hooks(prefix) if spec.target is not None else ()


def item_bytes(class_name: str, args: Any, queue: str | None) -> bytes:
    """Encode a delayed item: ``{"class":C,"args":A,"queue":Q}``, Ruby's bytes."""
    return dumps({"class": class_name, "args": list(args), "queue": queue})


def epoch_of(when: Any) -> float:
    """Return epoch seconds of a datetime (naive means UTC) or a number."""
    if isinstance(when, datetime):
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        return float(when)
    raise TypeError(f"a time must be a datetime or epoch seconds, not {type(when).__name__}")


def second_of(when: Any) -> int:
    """Return the bucket second of a time: truncated, as Ruby's ``to_i``."""
    return int(epoch_of(when))


def seconds_of(delay: Any) -> float:
    """Return a delay in seconds (a number or a timedelta)."""
    if isinstance(delay, timedelta):
        return delay.total_seconds()
    if isinstance(delay, (int, float)) and not isinstance(delay, bool):
        return float(delay)
    raise TypeError("Please supply a numeric number of seconds (or a timedelta)")


# -- scheduling ----------------------------------------------------------------

def push(client: Resque, when: Any, queue: str | None, class_name: str, args: Any) -> int:
    """Push one raw item to the delayed queue at ``when``; return its second.

    No hooks, no immediate enqueue for past times: the building block for
    other plugins (retries). Safe in a forked child: the client's pool
    reconnects after a fork.
    """
    ts = second_of(when)
    store_of(client).delayed_push(ts, item_bytes(class_name, args, queue))
    return ts


def enqueue_at(client: Resque, when: Any, job: Any, *args: Any) -> bool | None:
    """Run ``job`` on its own queue at ``when`` (now if that is not future)."""
    spec = spec_of(client, job)
    return enqueue_at_with_queue(client, client.registry.queue_for(spec), when, spec, *args)


def enqueue_in(client: Resque, delay: Any, job: Any, *args: Any) -> bool | None:
    """Run ``job`` on its own queue ``delay`` seconds (or a timedelta) from now."""
    return enqueue_at(client, time.time() + seconds_of(delay), job, *args)


def enqueue_in_with_queue(client: Resque, queue: str | None, delay: Any, job: Any,
                          *args: Any) -> bool | None:
    """Run ``job`` on ``queue`` ``delay`` seconds from now."""
    return enqueue_at_with_queue(client, queue, time.time() + seconds_of(delay), job, *args)


def enqueue_at_with_queue(client: Resque, queue: str | None, when: Any, job: Any,
                          *args: Any) -> bool | None:
    """Run ``job`` on ``queue`` at ``when``; None if a ``before_schedule`` hook said no."""
    plan = plan_schedule(spec_of(client, job), queue, when, args, client.inline)
    if plan is None:
        return None
    if plan.ts is not None:
        store_of(client).delayed_push(plan.ts, plan.item)
    elif plan.custom is not None:
        plan.custom()
    else:
        client.enqueue_to(plan.queue or "", plan.spec, *plan.args)
    return plan.finish()


@dataclass(frozen=True)
class Scheduling:
    """What scheduling one job does, decided before any I/O (sync or asyncio).

    ``ts`` is the second to push ``item`` at, or None to enqueue now:
    through ``custom`` (the job's ``scheduled`` class method, bound to the
    queue, name and args) if it has one, else on ``queue``.
    """

    spec: JobSpec
    queue: str | None
    args: tuple[Any, ...]
    ts: int | None
    item: bytes = b""
    custom: Callable[[], Any] | None = None

    def finish(self) -> bool:
        """Run the ``after_schedule*`` hooks; return True."""
        run_hooks(hooks(self.spec, "after_schedule"), *self.args)
        return True


def plan_schedule(spec: JobSpec, queue: str | None, when: Any, args: tuple[Any, ...],
                  inline: bool) -> Scheduling | None:
    """Run the ``before_schedule*`` hooks and decide: now, or a delayed push.

    As Ruby: a hook returning False stops (None); inline, or a second not
    after the current second, means an enqueue now, else the delayed push.
    """
    ts = second_of(when)
    if any(r is False for r in run_hooks(hooks(spec, "before_schedule"), *args)):
        return None
    if not inline and ts > int(time.time()):
        return Scheduling(spec, queue, args, ts, item_bytes(spec.name, args, queue))
    custom = getattr(spec.target, "scheduled", None)
    if callable(custom):
        return Scheduling(spec, queue, args, None, custom=functools.partial(custom, queue, spec.name, *args))
    return Scheduling(spec, queue, args, None)


def delay_or_enqueue_at(client: Resque, when: Any, job: Any, *args: Any) -> None:
    """Move matching delayed copies to ``when``; schedule one if there were none."""
    for _ in range(max(remove_delayed(client, job, *args), 1)):
        enqueue_at(client, when, job, *args)


def delay_or_enqueue_in(client: Resque, delay: Any, job: Any, *args: Any) -> None:
    """``delay_or_enqueue_at`` ``delay`` seconds from now."""
    delay_or_enqueue_at(client, time.time() + seconds_of(delay), job, *args)


# -- inspecting ------------------------------------------------------------------

def delayed_queue_schedule_size(client: Resque) -> int:
    """Return how many distinct seconds hold delayed items (not how many items)."""
    return store_of(client).schedule_size()


def delayed_queue_peek(client: Resque, start: int = 0, count: int = 20) -> list[int]:
    """Return ``count`` seconds from ``start``, oldest first."""
    return [int(score) for _, score in store_of(client).seconds(start, count)]


def delayed_timestamp_size(client: Resque, when: Any) -> int:
    """Return how many items wait in one second."""
    return store_of(client).bucket_size(second_of(when))


def delayed_timestamp_peek(client: Resque, when: Any, start: int = 0, count: int = 1) -> list[Any]:
    """Return decoded items of one second (``count`` 0: all of them)."""
    raws = store_of(client).bucket_range(second_of(when), start, count)
    return [_decoded(r) for r in raws]


def count_all_scheduled_jobs(client: Resque) -> int:
    """Return the number of delayed items over all seconds."""
    store = store_of(client)
    return sum(sum(store.bucket_sizes(page)) for page in store.iter_seconds())


def next_delayed_timestamp(client: Resque, at: Any = None) -> int | None:
    """Return the oldest second due at ``at`` (default now), or None."""
    member = store_of(client).next_due(int(time.time()) if at is None else second_of(at))
    return member_second(member)


def scheduled_at(client: Resque, job: Any, *args: Any) -> list[int]:
    """Return the seconds at which this exact job (own queue) is delayed."""
    spec = spec_of(client, job)
    names = store_of(client).scheduled_at(item_bytes(spec.name, args, client.registry.queue_for(spec)))
    return [s for s in (member_second(n[len("delayed:"):]) for n in names) if s is not None]


def is_delayed(client: Resque, job: Any, *args: Any) -> bool:
    """Return True if this exact job (own queue) waits in the delayed queue."""
    return bool(scheduled_at(client, job, *args))


def iter_delayed(client: Resque) -> Iterator[tuple[str, bytes]]:
    """Yield (second, raw item) over the whole delayed queue, a page at a time."""
    store = store_of(client)
    for page in store.iter_seconds():
        for member, raws in zip(page, store.bucket_ranges(page)):
            for raw in raws:
                yield member, raw


def find_delayed_selection(client: Resque, job: Any = None,
                           selector: Selector | None = None) -> list[bytes]:
    """Return raw items of ``job`` (any if None) whose args ``selector`` accepts."""
    name = None if job is None else spec_of(client, job).name
    found = []
    for _, raw in iter_delayed(client):
        item = _decoded(raw)
        if not isinstance(item, dict) or (name is not None and item.get("class") != name):
            continue
        if selector is None or selector(splat_args(item.get("args"))):
            found.append(raw)
    return found


# -- removing and enqueueing now ----------------------------------------------------

def remove_delayed(client: Resque, job: Any, *args: Any) -> int:
    """Remove every delayed copy of this exact job (own queue); return how many."""
    spec = spec_of(client, job)
    return remove_delayed_in_queue(client, spec, client.registry.queue_for(spec), *args)


def remove_delayed_in_queue(client: Resque, job: Any, queue: str | None, *args: Any) -> int:
    """Remove every delayed copy of this exact job stored under ``queue``."""
    if client.inline:
        return 0
    spec = job if isinstance(job, JobSpec) else spec_of(client, job)
    return store_of(client).remove_item(item_bytes(spec.name, args, queue))


def remove_delayed_job_from_timestamp(client: Resque, when: Any, job: Any, *args: Any) -> int:
    """Remove this exact job (own queue) from one second only."""
    if client.inline:
        return 0
    spec = spec_of(client, job)
    item = item_bytes(spec.name, args, client.registry.queue_for(spec))
    return store_of(client).remove_from_bucket(second_of(when), item)


def remove_delayed_raw(client: Resque, raw: bytes) -> int:
    """Remove every copy of one item given by its exact bytes."""
    return 0 if client.inline else store_of(client).remove_item(raw)


def remove_delayed_selection(client: Resque, job: Any = None,
                             selector: Selector | None = None) -> int:
    """Remove the items ``find_delayed_selection`` returns; return how many."""
    return sum(remove_delayed_raw(client, raw) for raw in set(find_delayed_selection(client, job, selector)))


def enqueue_delayed(client: Resque, job: Any, *args: Any) -> int:
    """Enqueue every delayed copy of this exact job now; return how many."""
    spec = spec_of(client, job)
    queue = client.registry.queue_for(spec)
    n = remove_delayed_in_queue(client, spec, queue, *args)
    for _ in range(n):
        client.enqueue_to(queue, spec.target or spec.name, *args)
    return n


def enqueue_delayed_selection(client: Resque, job: Any = None,
                              selector: Selector | None = None) -> int:
    """Enqueue now the items ``find_delayed_selection`` returns; return how many."""
    moved = 0
    for raw in set(find_delayed_selection(client, job, selector)):
        item = _decoded(raw)
        spec = spec_of(client, item["class"])
        queue = item.get("queue") if isinstance(item.get("queue"), str) else None
        queue = client.registry.queue_for(spec, queue)
        n = remove_delayed_raw(client, raw)
        for _ in range(n):
            client.enqueue_to(queue, spec.target or spec.name, *splat_args(item.get("args")))
        moved += n
    return moved


def reset_delayed_queue(client: Resque) -> int:
    """Delete every delayed item, its timestamps set and the schedule; return how many."""
    store = store_of(client)
    removed = 0
    while True:
        page = [m for m, _ in store.seconds(0, 100)]
        if not page:
            break
        removed += store.clear_page(page)
    store.clear_schedule()
    return removed


def _decoded(raw: bytes) -> Any:
    try:
        return loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def splat_args(args: Any) -> list[Any]:
    """Return an item's args splatted as Ruby does: Hash one, Array many, nil none."""
    if args is None:
        return []
    return list(args) if isinstance(args, list) else [args]


def member_second(member: str | None) -> int | None:
    """Return a schedule member's second, or None (none, or not a number)."""
    if member is None:
        return None
    try:
        return int(float(member))
    except ValueError:
        return None


__all__ = [
    "Scheduling", "count_all_scheduled_jobs", "delay_or_enqueue_at", "delay_or_enqueue_in",
    "delayed_queue_peek", "delayed_queue_schedule_size", "delayed_timestamp_peek",
    "delayed_timestamp_size", "enqueue_at", "enqueue_at_with_queue",
    "enqueue_delayed", "enqueue_delayed_selection", "enqueue_in", "enqueue_in_with_queue",
    "find_delayed_selection", "is_delayed", "member_second", "next_delayed_timestamp",
    "plan_schedule", "push", "remove_delayed", "remove_delayed_in_queue",
    "remove_delayed_job_from_timestamp", "remove_delayed_selection", "reset_delayed_queue",
    "scheduled_at",
]
