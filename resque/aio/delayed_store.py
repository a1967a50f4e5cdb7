"""The delayed queue's Redis commands on ``redis.asyncio``.

The asyncio twin of the delayed-queue part of ``resque/scheduler/store.py``:
multi-command sequences come from ``resque.scheduler.commands`` and keys
from ``SchedulerKeys``, so both put resque-scheduler 5's bytes on the wire.
"""
from __future__ import annotations

from typing import Any

from ..scheduler import commands
from ..scheduler.keys import SchedulerKeys
from ..replies import text
from .store import AsyncStore


class AsyncDelayedStore:
    """The asyncio client's reads and writes of the delayed queue, awaited."""

    def __init__(self, store: AsyncStore, keys: SchedulerKeys):
        self.store = store
        self.redis: Any = store.redis
        self.keys = keys

    async def delayed_push(self, ts: int, item: bytes) -> None:
        """RPUSH the item, SADD its timestamps set, ZADD the second: one MULTI, one write."""
        await self.store.atomic(commands.delayed_push(self.keys, ts, item))

    async def schedule_size(self) -> int:
        return int(await self.redis.zcard(self.keys.schedule))

    async def next_due(self, at: int) -> str | None:
        """ZRANGEBYSCORE -inf ``at`` LIMIT 0 1: the oldest due second, or None."""
        found = await self.redis.zrangebyscore(self.keys.schedule, "-inf", at, start=0, num=1)
        return text(found[0]) if found else None

    async def scheduled_at(self, item: bytes) -> list[str]:
        """Return the bucket names (``delayed:<ts>``) that hold ``item``."""
        return sorted(text(m) or "" for m in await self.redis.smembers(self.keys.timestamps(item)))

    async def remove_item(self, item: bytes) -> int:
        """SMEMBERS, then per bucket LREM and SREM (pipelined); return LREM's total."""
        members = await self.scheduled_at(item)
        if not members:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in commands.remove_item(self.keys, members, item):
                pipe.execute_command(*command)
            replies = await pipe.execute()
        return sum(int(n) for n in replies[::2])
