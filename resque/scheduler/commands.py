"""Delayed-queue command sequences sent by both scheduler stores.

Each function returns ``(NAME, *args)`` tuples built from ``SchedulerKeys``,
as ``resque.commands`` does for the core, so ``store.py`` and the asyncio
client's delayed store put resque-scheduler 5's bytes on the wire. Only
the stores send them.
"""
from __future__ import annotations

from typing import Sequence

from ..commands import Command
from .keys import SchedulerKeys


def delayed_push(keys: SchedulerKeys, ts: int, item: bytes) -> tuple[Command, Command, Command]:
    """RPUSH the item, SADD its second to its timestamps set, ZADD the second (a transaction)."""
    return (("RPUSH", keys.bucket(ts), item),
            ("SADD", keys.timestamps(item), keys.bucket_name(ts)),
            ("ZADD", keys.schedule, ts, str(ts)))


def remove_item(keys: SchedulerKeys, members: Sequence[str], item: bytes) -> list[Command]:
    """LREM ``item`` from each bucket named in ``members``, SREM each name (pipelined).

    The replies alternate: LREM's count, then SREM's; Ruby sums the first
    of each pair.
    """
    return [command for name in members
            for command in (("LREM", keys.base.key(name), 0, item),
                            ("SREM", keys.timestamps(item), name))]
