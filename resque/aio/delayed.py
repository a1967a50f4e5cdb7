"""Delayed jobs from asyncio: resque-scheduler's ``enqueue_at`` family, awaited.

The asyncio client's ``enqueue_at``, ``enqueue_in``, ``remove_delayed``
and friends call these; ``import resque.aio`` does not load this module
until one of them is called. Each decides as the sync scheduler API does
(``resque.scheduler.delayed.plan_schedule``: the same hooks, the same
past-time rule) and writes the same bytes.
"""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from ..client import job_spec
from ..scheduler.delayed import item_bytes, member_second, plan_schedule, second_of, seconds_of
from ..scheduler.keys import SchedulerKeys
from .delayed_store import AsyncDelayedStore

if TYPE_CHECKING:
    from .client import Resque

_STORE_ATTR = "_resque_delayed_store"


async def store_of(client: Resque) -> AsyncDelayedStore:
    """Connect the client; return its delayed store, made on first use."""
    await client.connect()
    found: AsyncDelayedStore | None = client.__dict__.get(_STORE_ATTR)
    if found is None:
        found = AsyncDelayedStore(client.store, SchedulerKeys(client.keyspace))
        client.__dict__[_STORE_ATTR] = found
    return found


async def enqueue_at(client: Resque, when: Any, job: Any, *args: Any) -> bool | None:
    """Run ``job`` on its own queue at ``when`` (now if that is not future)."""
    spec = job_spec(client.registry, job)
    return await enqueue_at_with_queue(client, client.registry.queue_for(spec), when, spec, *args)


async def enqueue_in(client: Resque, delay: Any, job: Any, *args: Any) -> bool | None:
    """Run ``job`` on its own queue ``delay`` seconds (or a timedelta) from now."""
    return await enqueue_at(client, time.time() + seconds_of(delay), job, *args)


async def enqueue_in_with_queue(client: Resque, queue: str | None, delay: Any, job: Any,
                                *args: Any) -> bool | None:
    """Run ``job`` on ``queue`` ``delay`` seconds from now."""
    return await enqueue_at_with_queue(client, queue, time.time() + seconds_of(delay), job, *args)


async def enqueue_at_with_queue(client: Resque, queue: str | None, when: Any, job: Any,
                                *args: Any) -> bool | None:
    """Run ``job`` on ``queue`` at ``when``; None if a ``before_schedule`` hook said no.

    A job's ``scheduled`` class method (which replaces the enqueue now) is
    sync code and runs in a worker thread.
    """
    plan = plan_schedule(job_spec(client.registry, job), queue, when, args, client.inline)
    if plan is None:
        return None
    if plan.ts is not None:
        await (await store_of(client)).delayed_push(plan.ts, plan.item)
    elif plan.custom is not None:
        await asyncio.to_thread(plan.custom)
    else:
        await client.enqueue_to(plan.queue or "", plan.spec, *plan.args)
    return plan.finish()


async def remove_delayed(client: Resque, job: Any, *args: Any) -> int:
    """Remove every delayed copy of this exact job (own queue); return how many."""
    spec = job_spec(client.registry, job)
    item = item_bytes(spec.name, args, client.registry.queue_for(spec))
    if client.inline:
        return 0
    return await (await store_of(client)).remove_item(item)


async def delayed_queue_schedule_size(client: Resque) -> int:
    """Return how many distinct seconds hold delayed items (not how many items)."""
    return await (await store_of(client)).schedule_size()


async def next_delayed_timestamp(client: Resque, at: Any = None) -> int | None:
    """Return the oldest second due at ``at`` (default now), or None."""
    store = await store_of(client)
    member = await store.next_due(int(time.time()) if at is None else second_of(at))
    return member_second(member)
