"""Every Redis command of the scheduler plugin, on the keys of ``keys.py``.

Command sequences follow resque-scheduler 5 where the reference gives
them; the batch move and the master lock are Lua scripts in ``lua/``, so each
is one atomic round trip (every key through KEYS but the ``timestamps:``
keys the move script names from the items it moves).
"""
from __future__ import annotations

import struct
from itertools import chain
from importlib import resources
from typing import Any, Iterator, Sequence

import redis
from redis.commands.core import Script

from .._compat import dumps
from ..replies import text
from . import commands
from .keys import SchedulerKeys


MAX_GROUPS = 32767  # queues one batch may push to: an op is 2 bytes (see lua/move_batch.lua)


def queue_suffix(queue: str) -> bytes:
    """Return the canonical item's tail naming ``queue``: ``,"queue":<JSON string>}``."""
    return b',"queue":' + dumps(queue) + b"}"


def _load(name: str) -> str:
    return resources.files("resque.scheduler").joinpath("lua", f"{name}.lua").read_text("utf-8")


class Move:
    """What one batch does with one delayed item (see ``lua/move_batch.lua``)."""

    __slots__ = ("raw", "action", "queue", "data")

    def __init__(self, raw: bytes, action: str, queue: str = "", data: bytes = b""):
        self.raw = raw
        self.action = action  # push | trim (push the item less its queue member) | fail | drop
        self.queue = queue
        self.data = data  # the core payload (push) or the failure record (fail)


class Batch:
    """One batch as the script takes it: items, a 2-byte op each, queues, data in order."""

    __slots__ = ("raws", "ops", "queues", "data")

    def __init__(self) -> None:
        self.raws: list[bytes] = []
        self.ops: list[int] = []
        self.queues: dict[str, int] = {}  # queue -> group number, from 1
        self.data: list[bytes] = []  # explicit payloads and failure records, in item order

    def __len__(self) -> int:
        return len(self.raws)

    def group(self, queue: str) -> int:
        j = self.queues.get(queue)
        if j is None:
            j = self.queues[queue] = len(self.queues) + 1
        return j

    def add(self, m: Move) -> None:
        self.raws.append(m.raw)
        if m.action == "trim":
            self.ops.append(2 * self.group(m.queue) + 1)
        elif m.action == "push":
            self.ops.append(2 * self.group(m.queue))
            self.data.append(m.data)
        elif m.action == "fail":
            self.ops.append(1)
            self.data.append(m.data)
        else:
            self.ops.append(0)


class SchedulerStore:
    """All reads and writes of resque-scheduler's keys on one connection."""

    def __init__(self, client: redis.Redis, keys: SchedulerKeys):
        self.redis: Any = client
        self.keys = keys
        self._move: Script = client.register_script(_load("move_batch"))
        self._fire: Script = client.register_script(_load("fire"))
        self._master: Script = client.register_script(_load("master"))
        self._release: Script = client.register_script(_load("release"))

    # -- delayed items: writing ----------------------------------------------

    def delayed_push(self, ts: int, item: bytes) -> None:
        """RPUSH the item, SADD its timestamps set, ZADD the second (one MULTI)."""
        self.delayed_push_many([(ts, item)])

    def delayed_push_many(self, entries: Sequence[tuple[int, bytes]]) -> None:
        """Push many (second, item) pairs in one MULTI: one round trip."""
        with self.redis.pipeline() as pipe:
            for ts, item in entries:
                for command in commands.delayed_push(self.keys, ts, item):
                    pipe.execute_command(*command)
            pipe.execute()

    # -- delayed items: reading ----------------------------------------------

    def schedule_size(self) -> int:
        return int(self.redis.zcard(self.keys.schedule))

    def seconds(self, start: int, count: int) -> list[tuple[str, float]]:
        """Return ``count`` (member, score) pairs of the schedule from ``start``."""
        if count <= 0:
            return []
        pairs = self.redis.zrange(self.keys.schedule, start, start + count - 1, withscores=True)
        return [(text(m) or "", float(s)) for m, s in pairs]

    def bucket_size(self, member: str | int) -> int:
        return int(self.redis.llen(self.keys.bucket(member)))

    def bucket_sizes(self, members: Sequence[str]) -> list[int]:
        """LLEN each bucket in one pipelined round trip (a non-list counts 0)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for m in members:
                pipe.llen(self.keys.bucket(m))
            replies = pipe.execute(raise_on_error=False)
        return [r if isinstance(r, int) else 0 for r in replies]

    def bucket_range(self, member: str | int, start: int, count: int) -> list[bytes]:
        """Return up to ``count`` items of a bucket from ``start`` (0: all)."""
        end = -1 if count <= 0 else start + count - 1
        return list(self.redis.lrange(self.keys.bucket(member), start, end))

    def bucket_ranges(self, members: Sequence[str]) -> list[list[bytes]]:
        """Return every item of each bucket, pipelined (a non-list gives [])."""
        with self.redis.pipeline(transaction=False) as pipe:
            for m in members:
                pipe.lrange(self.keys.bucket(m), 0, -1)
            replies = pipe.execute(raise_on_error=False)
        return [r if isinstance(r, list) else [] for r in replies]

    def iter_seconds(self, page: int = 100) -> Iterator[list[str]]:
        """Yield the schedule's members a page at a time, oldest first."""
        start = 0
        while True:
            members = [m for m, _ in self.seconds(start, page)]
            if not members:
                return
            yield members
            if len(members) < page:
                return
            start += page

    def next_due(self, at: int) -> str | None:
        """ZRANGEBYSCORE -inf ``at`` LIMIT 0 1: the oldest due second, or None."""
        found = self.redis.zrangebyscore(self.keys.schedule, "-inf", at, start=0, num=1)
        return text(found[0]) if found else None

    def scheduled_at(self, item: bytes) -> list[str]:
        """Return the bucket names (``delayed:<ts>``) that hold ``item``."""
        return sorted(text(m) or "" for m in self.redis.smembers(self.keys.timestamps(item)))

    # -- delayed items: removing ---------------------------------------------

    def remove_item(self, item: bytes) -> int:
        """SMEMBERS, then per bucket LREM and SREM (pipelined); return LREM's total."""
        members = self.scheduled_at(item)
        if not members:
            return 0
        with self.redis.pipeline(transaction=False) as pipe:
            for command in commands.remove_item(self.keys, members, item):
                pipe.execute_command(*command)
            replies = pipe.execute()
        return sum(int(n) for n in replies[::2])

    def remove_from_bucket(self, member: str | int, item: bytes) -> int:
        """SREM and LREM ``item`` from one second, then clean the second up."""
        k = self.keys
        self.redis.srem(k.timestamps(item), k.bucket_name(member))
        removed = int(self.redis.lrem(k.bucket(member), 0, item))
        self.clean_up(member)
        return removed

    def clean_up(self, member: str | int) -> None:
        """Drop an empty second: WATCH, LLEN, MULTI DEL ZREM EXEC (else UNWATCH)."""
        bucket = self.keys.bucket(member)
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(bucket)
                if int(pipe.llen(bucket)) != 0:
                    pipe.unwatch()
                    return
                pipe.multi()
                pipe.delete(bucket)
                pipe.zrem(self.keys.schedule, str(member))
                pipe.execute()
            except redis.exceptions.WatchError:
                pass  # a producer pushed meanwhile: the second stays

    def clear_page(self, members: Sequence[str]) -> int:
        """Delete these seconds, their items' timestamps sets and members."""
        k = self.keys
        items = self.bucket_ranges(members)
        with self.redis.pipeline() as pipe:
            for m, raws in zip(members, items):
                pipe.delete(k.bucket(m), *{k.timestamps(r) for r in raws})
            pipe.zrem(k.schedule, *members)
            pipe.execute()
        return sum(len(r) for r in items)

    def clear_schedule(self) -> None:
        self.redis.delete(self.keys.schedule)

    # -- the mover -----------------------------------------------------------

    def bucket_head(self, member: str, count: int) -> list[bytes]:
        """LRANGE 0 count-1 of a bucket (raises ResponseError if not a list)."""
        return list(self.redis.lrange(self.keys.bucket(member), 0, count - 1))

    def move_batch(self, member: str, moves: "Sequence[Move] | Batch") -> int:
        """Run ``lua/move_batch.lua``; return items left, or -1 if the bucket changed.

        The items go as one concatenation and, per item, its fate (2 bytes)
        and length (4 bytes), for the head check; a ``trim`` item's payload is
        cut from the item inside the script, so its bytes travel once.
        Pushes are grouped by queue (one SADD and one RPUSH per queue and
        thousand payloads), keeping bucket order within each queue.
        """
        if isinstance(moves, Batch):
            return self._commit(member, moves)
        batch = Batch()
        for m in moves:
            batch.add(m)
        return self._commit(member, batch)

    def _commit(self, member: str, batch: Batch) -> int:
        k = self.keys
        queues = batch.queues
        if len(queues) > MAX_GROUPS:
            raise ValueError(f"a batch may push to at most {MAX_GROUPS} queues")
        raws, ops = batch.raws, batch.ops
        keys: list[Any] = [k.bucket(member), k.schedule, k.queues, k.failed]
        keys += [k.queue(q) for q in queues]
        lengths = map(len, raws)
        args: list[Any] = [member, k.bucket_name(member), k.timestamps(b""), len(raws), len(queues),
                           b"".join(raws),
                           struct.pack(">" + "HI" * len(raws), *chain.from_iterable(zip(ops, lengths)))]
        args += queues
        args += [len(queue_suffix(q)) for q in queues]
        args += batch.data
        return int(self._move(keys=keys, args=args))

    def set_aside_member(self, member: str, record: bytes) -> None:
        """Remove a schedule member whose bucket is unusable; keep a failure record."""
        with self.redis.pipeline() as pipe:
            pipe.zrem(self.keys.schedule, member)
            pipe.rpush(self.keys.failed, record)
            pipe.execute()

    # -- the master lock -------------------------------------------------------

    def master(self, lock: str, value: str, ttl: int) -> bool:
        """Take the lock if free, or extend it if ours; True when ours."""
        return bool(self._master(keys=[lock], args=[value, ttl]))

    def release(self, lock: str, value: str) -> bool:
        """Delete the lock only if ``value`` holds it."""
        return bool(self._release(keys=[lock], args=[value]))

    def lock_holder(self, lock: str) -> str | None:
        return text(self.redis.get(lock))

    def lock_ttl(self, lock: str) -> int:
        return int(self.redis.ttl(lock))

    # -- recurring entries -----------------------------------------------------

    def fire(self, lock: str, value: str, name: str, slot: float, gap: float, queue: str,
             payload: bytes, stamp: str, push: bool) -> int:
        """Run ``lua/fire.lua``: -1 not master, 0 already fired, 1 fired."""
        k = self.keys
        keys = [lock, k.fired, k.queues, k.queue(queue), k.last_enqueued_at]
        args: list[Any] = [value, name, repr(slot), repr(gap), queue, payload, stamp, "1" if push else "0"]
        return int(self._fire(keys=keys, args=args))

    def set_last_enqueued(self, name: str, stamp: str) -> None:
        self.redis.hset(self.keys.last_enqueued_at, name, stamp)

    def last_enqueued(self, names: Sequence[str]) -> list[str | None]:
        if not names:
            return []
        return [text(v) for v in self.redis.hmget(self.keys.last_enqueued_at, list(names))]

    def last_fired(self, names: Sequence[str]) -> list[float | None]:
        if not names:
            return []
        out: list[float | None] = []
        for v in self.redis.hmget(self.keys.fired, list(names)):
            try:
                out.append(float(v) if v is not None else None)
            except ValueError:
                out.append(None)
        return out

    # -- persistent (dynamic) schedules ------------------------------------------

    def set_schedule(self, name: str, config: bytes) -> None:
        """HSET persistent_schedules, SADD schedules_changed."""
        with self.redis.pipeline() as pipe:
            pipe.hset(self.keys.persistent_schedules, name, config)
            pipe.sadd(self.keys.schedules_changed, name)
            pipe.execute()

    def remove_schedule(self, name: str) -> bool:
        """HDEL persistent_schedules, SADD schedules_changed; True if it existed."""
        with self.redis.pipeline() as pipe:
            pipe.hdel(self.keys.persistent_schedules, name)
            pipe.sadd(self.keys.schedules_changed, name)
            removed, _ = pipe.execute()
        return bool(removed)

    def schedule_changed(self, name: str) -> None:
        self.redis.sadd(self.keys.schedules_changed, name)

    def persistent_schedules(self) -> dict[str, bytes]:
        raw = self.redis.hgetall(self.keys.persistent_schedules)
        return {text(k) or "": v for k, v in raw.items()}

    def persistent_schedule(self, name: str) -> bytes | None:
        value: bytes | None = self.redis.hget(self.keys.persistent_schedules, name)
        return value

    def changed_count(self) -> int:
        return int(self.redis.scard(self.keys.schedules_changed))

    def pop_changed(self) -> str | None:
        return text(self.redis.spop(self.keys.schedules_changed))

    def forget_changes(self) -> None:
        self.redis.delete(self.keys.schedules_changed)

    # -- heartbeats -------------------------------------------------------------

    def beat(self, scheduler_id: str, status: bytes) -> None:
        self.redis.hset(self.keys.heartbeats, scheduler_id, status)

    def unbeat(self, *scheduler_ids: str) -> None:
        if scheduler_ids:
            self.redis.hdel(self.keys.heartbeats, *scheduler_ids)

    def beats(self) -> dict[str, bytes]:
        raw = self.redis.hgetall(self.keys.heartbeats)
        return {text(k) or "": v for k, v in raw.items()}
