"""Every Redis command the asyncio client sends, on ``redis.asyncio``.

The twin of ``resque/store.py`` for the calls a producer makes: multi-command
sequences come from ``resque.commands``, keys from ``Keys``, so both
clients put the same bytes on the wire.
"""
from __future__ import annotations

import asyncio
import math
import sys
from typing import Any, AsyncIterator, Iterable, Sequence

import redis
import redis.asyncio

from .. import commands
from ..commands import Command, pack_transaction, script_source
from ..keys import Keys
from ..preview import Cut
from ..replies import Corrupt, number, text

if sys.version_info >= (3, 11):
    from asyncio import timeout
else:  # pragma: no cover - redis-py depends on async-timeout before 3.11.3
    from async_timeout import timeout


async def _transact(conn: Any, sequence: Sequence[Command], after: Sequence[Command] = ()) -> list[Any]:
    """Send MULTI..EXEC (then ``after``) in one write; return EXEC's reply, then after's.

    The replies are read under one socket timeout instead of one per reply:
    they arrive together, and a timer per reply costs a third of an
    enqueue. A timeout or an error reply leaves the connection closed.
    """
    try:
        async with timeout(conn.socket_timeout):
            await conn.send_packed_command(pack_transaction(conn, sequence, after), False)
            for _ in range(len(sequence) + 1):
                await conn.read_response(timeout=math.inf)  # +OK, then +QUEUED per command
            return [await conn.read_response(timeout=math.inf) for _ in range(1 + len(after))]
    except redis.exceptions.ResponseError:
        await conn.disconnect()  # replies may be left unread
        raise
    except asyncio.TimeoutError:
        await conn.disconnect()
        raise redis.exceptions.TimeoutError("Timeout in MULTI/EXEC on the Redis socket") from None


class AsyncStore:
    """The producer's reads and writes of Resque's keys, awaited.

    ``wait``, when set, is the ``WAIT`` command ``push`` and ``push_many``
    send after their transaction (``connection.replica_wait``).
    """

    wait: Command | None = None

    def __init__(self, client: "redis.asyncio.Redis", keys: Keys):
        self.redis: Any = client  # replies are bytes; redis-py's types are loose
        self.keys = keys
        self._failure_edit = client.register_script(script_source("failure_edit"))

    # -- queues -----------------------------------------------------------

    async def push(self, queue: str, payload: bytes) -> None:
        """SADD the queue and RPUSH the payload, atomically: one round trip."""
        await self.atomic(commands.push(self.keys, queue, payload), self.wait, queue)

    async def atomic(self, sequence: Sequence[Command], wait: Command | None = None,
                     queue: str = "") -> list[Any]:
        """Run ``sequence`` in MULTI/EXEC with one write on a pooled connection.

        The same bytes and retries as the sync store's, without a pipeline
        object per call; with ``wait``, ``WAIT`` follows in the same write
        and too few replicas raise ``NotReplicated``.
        """
        after = () if wait is None else (wait,)
        pool = self.redis.connection_pool
        conn = await pool.get_connection()
        try:
            replies, *acked = await conn.retry.call_with_retry(
                lambda: _transact(conn, sequence, after), lambda _: conn.disconnect())
        finally:
            await pool.release(conn)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        if wait is not None:
            commands.check_replicated(acked[0], wait, f"enqueue on queue {queue!r}")
        return list(replies)

    async def push_many(self, queue: str, payloads: Sequence[bytes], chunk: int = 1000) -> None:
        """Push many payloads to one queue in a single round trip."""
        if payloads:
            await self.atomic(commands.push_many(self.keys, queue, payloads, chunk), self.wait, queue)

    async def pop(self, queue: str) -> bytes | None:
        popped: bytes | None = await self.redis.lpop(self.keys.queue(queue))
        return popped

    async def size(self, queue: str) -> int:
        return int(await self.redis.llen(self.keys.queue(queue)))

    async def queue_range(self, queue: str, start: int = 0, count: int = -1) -> list[bytes]:
        end = -1 if count < 0 else start + count - 1
        return list(await self.redis.lrange(self.keys.queue(queue), start, end))

    async def queue_chunks(self, queue: str, chunk: int = 1000) -> AsyncIterator[list[bytes]]:
        """Yield a queue's elements in windows of ``chunk`` (as ``Store.queue_chunks``)."""
        key, start = self.keys.queue(queue), 0
        while True:
            items = list(await self.redis.lrange(key, start, start + chunk - 1))
            if items:
                yield items
            if len(items) < chunk:
                return
            start += chunk

    async def queue_names(self) -> list[str]:
        return [text(q) or "" for q in await self.redis.smembers(self.keys.queues)]

    async def queue_sizes(self, queues: Iterable[str] | None = None) -> dict[str, int]:
        names = sorted(await self.queue_names() if queues is None else queues)
        async with self.redis.pipeline(transaction=False) as pipe:
            for q in names:
                pipe.llen(self.keys.queue(q))
            return dict(zip(names, (int(n) for n in await pipe.execute())))

    async def remove_from_queue(self, queue: str, payload: bytes) -> int:
        """LREM every element byte-equal to ``payload``."""
        return int(await self.redis.lrem(self.keys.queue(queue), 0, payload))

    # -- workers and stats --------------------------------------------------

    async def worker_ids(self) -> list[str]:
        return [text(w) or "" for w in await self.redis.smembers(self.keys.workers)]

    async def worker_jobs(self, worker_ids: Sequence[str]) -> list[bytes | None]:
        if not worker_ids:
            return []
        return list(await self.redis.mget([self.keys.worker(w) for w in worker_ids]))

    async def worker_job_cuts(self, worker_ids: Sequence[str], head: int) -> list[Cut | None]:
        """Return each worker's job record cut to ``head`` bytes (GETRANGE), or None."""
        if not worker_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for w in worker_ids:
                pipe.strlen(self.keys.worker(w))
                pipe.getrange(self.keys.worker(w), 0, head - 1)
            replies = await pipe.execute(raise_on_error=False)
        out: list[Cut | None] = []
        for size, part in zip(replies[::2], replies[1::2]):
            ok = isinstance(size, int) and size > 0 and isinstance(part, bytes)
            out.append(Cut(size, part) if ok else None)
        return out

    async def stat_value(self, name: str) -> int | Corrupt:
        """Return a counter, or its stored text as ``Corrupt`` if it is not a number."""
        return number(await self.redis.get(self.keys.stat(name)))

    # -- failures -----------------------------------------------------------

    async def failure_count(self, list_name: str) -> int:
        return int(await self.redis.llen(self.keys.failed_list(list_name)))

    async def failure_range(self, list_name: str, start: int, count: int) -> list[bytes]:
        if count <= 0:
            return []
        return list(await self.redis.lrange(self.keys.failed_list(list_name), start,
                                            start + count - 1))

    async def failure_edit(self, list_name: str, action: str, index: int, digest: str,
                           record: bytes = b"", payload: bytes = b"", queue: str = "") -> int:
        """Retry or remove one record by content; see ``lua/failure_edit.lua``."""
        keys, args = commands.failure_edit(self.keys, list_name, action, index, digest,
                                           record, payload, queue)
        return int(await self._failure_edit(keys=keys, args=args))

    async def failure_clear(self, list_name: str) -> int:
        return int(await self.redis.delete(self.keys.failed_list(list_name)))

    async def failed_queue_names(self) -> list[str]:
        return sorted(text(q) or "" for q in await self.redis.smembers(self.keys.failed_queues))

    async def ping(self) -> bool:
        return bool(await self.redis.ping())
