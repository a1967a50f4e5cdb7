"""The failure API of the asyncio client: list, count, retry and remove.

It reads and edits the lists of Ruby's ``Failure::Redis`` (one list,
``failed``) or ``Failure::RedisMultiQueue`` (``<queue>_failed``) backends,
with the same records and the same Lua edit as ``resque.failure.redis``.
"""
from __future__ import annotations

from typing import AsyncIterator

from ..failure.base import Failure, digest
from ..failure.redis import DEFAULT_LIST, retry_edit
from .store import AsyncStore

_CHUNK = 1000


class AsyncFailures:
    """Failure records of one namespace, read and changed with awaits."""

    def __init__(self, store: AsyncStore, multi_queue: bool = False):
        self.store = store
        self.multi_queue = multi_queue

    async def queues(self) -> list[str]:
        """Return the failure lists: ``failed``, or each ``<queue>_failed``."""
        return await self.store.failed_queue_names() if self.multi_queue else [DEFAULT_LIST]

    async def _lists(self, queue: str | None) -> list[str]:
        if queue is not None and queue != DEFAULT_LIST:
            if not self.multi_queue:
                raise ValueError(f"the redis failure backend has one list, not {queue!r}")
            return [queue]
        return await self.queues()

    async def count(self, queue: str | None = None, class_name: str | None = None) -> int:
        """Return how many records a list (default: every list) holds, of one class if given.

        Counting a class reads the lists a window at a time, as the sync backend does.
        """
        lists = await self._lists(queue)
        if class_name is None:
            return sum([await self.store.failure_count(n) for n in lists])
        found = 0
        for name in lists:
            found += sum([1 async for f in self._scan(name) if f.job_class == class_name])
        return found

    async def all(self, offset: int = 0, limit: int = 1, queue: str | None = None) -> list[Failure]:
        """Return up to ``limit`` records from ``offset``, oldest first."""
        lists = await self._lists(queue)
        name = lists[0] if lists else DEFAULT_LIST
        raws = await self.store.failure_range(name, offset, limit)
        return [Failure(name, offset + i, raw) for i, raw in enumerate(raws)]

    async def _scan(self, name: str) -> AsyncIterator[Failure]:
        start = 0
        while True:
            chunk = await self.store.failure_range(name, start, _CHUNK)
            for i, raw in enumerate(chunk):
                yield Failure(name, start + i, raw)
            if len(chunk) < _CHUNK:
                return
            start += _CHUNK

    async def find(self, failure_id: str, queue: str | None = None) -> Failure | None:
        """Return the record whose id (or id prefix) is ``failure_id``."""
        for name in await self._lists(queue):
            async for f in self._scan(name):
                if digest(f.raw).startswith(failure_id):
                    return f
        return None

    async def _resolve(self, failure: Failure | int | str, queue: str | None) -> Failure | None:
        if isinstance(failure, Failure):
            return failure
        if isinstance(failure, int):
            got = await self.all(failure, 1, queue)
            return got[0] if got else None
        return await self.find(failure, queue)

    async def requeue(self, failure: Failure | int | str, queue: str | None = None) -> str | None:
        """Mark a record ``retried_at`` and push its job again; return the stamp.

        Return None when the record is gone (changed or removed meanwhile).
        """
        f = await self._resolve(failure, queue)
        if f is None:
            return None
        stamp, record, payload, job_queue = retry_edit(f, self.multi_queue)
        found = await self.store.failure_edit(
            f.list_name, "retry", f.index, digest(f.raw), record, payload, job_queue)
        return stamp if found >= 0 else None

    async def remove(self, failure: Failure | int | str, queue: str | None = None) -> bool:
        """Delete one record; return False when it was already gone."""
        f = await self._resolve(failure, queue)
        if f is None:
            return False
        return await self.store.failure_edit(f.list_name, "remove", f.index, digest(f.raw)) >= 0

    async def clear(self, queue: str | None = None) -> int:
        """Delete a failure list (default: every list); return how many lists went."""
        return sum([await self.store.failure_clear(n) for n in await self._lists(queue)])
