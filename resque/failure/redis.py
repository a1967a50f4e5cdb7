"""Ruby's ``Failure::Redis`` and ``Failure::RedisMultiQueue`` backends."""
from __future__ import annotations

import itertools
from typing import Callable, Iterator

from ..keys import failed_at, failed_list_name
from ..store import Store
from .base import Failure, FailureBackend, digest, retried
from .sweep import DROP, Step, recover, sweep

DEFAULT_LIST = "failed"
_CHUNK = 1000


def retry_edit(failure: Failure, multi_queue: bool) -> tuple[str, bytes, bytes, str]:
    """Return what retrying a record writes: (retried_at, record, job payload, job queue).

    The record gets Ruby's ``retried_at`` (without a zone in the
    multi-queue backend, as Ruby's), its other bytes untouched; the job
    goes back as Ruby re-creates it, or, for an entry that was not a job,
    as the original bytes (``Failure.retry_payload``).
    """
    stamp = failed_at(zone=not multi_queue)
    return stamp, failure.marked_retried(stamp), failure.retry_payload, failure.queue or "failed"


class RedisFailure(FailureBackend):
    """All failures in one list, ``<ns>:failed`` (the default backend)."""

    multi_queue = False

    def __init__(self, store: Store):
        self.store = store

    # -- which lists ------------------------------------------------------

    def list_for(self, job_queue: str) -> str:
        """Return the list a failure from ``job_queue`` goes to."""
        return failed_list_name(job_queue) if self.multi_queue else DEFAULT_LIST

    def queues(self) -> list[str]:
        return self.store.failed_queue_names() if self.multi_queue else [DEFAULT_LIST]

    def _lists(self, queue: str | None) -> list[str]:
        if queue is not None and queue != DEFAULT_LIST:
            if not self.multi_queue:
                raise ValueError(f"the redis failure backend has one list, not {queue!r}")
            return [queue]
        return self.queues()

    # -- writing ------------------------------------------------------------

    def save(self, record: bytes, queue: str) -> None:
        self.store.failure_push(self.list_for(queue), record, register=self.multi_queue)

    # -- reading ------------------------------------------------------------

    def count(self, queue: str | None = None, class_name: str | None = None) -> int:
        lists = self._lists(queue)
        if class_name is None:
            return sum(self.store.failure_count(n) for n in lists)
        return sum(1 for n in lists for f in self._scan(n) if f.job_class == class_name)

    def all(self, offset: int = 0, limit: int = 1, queue: str | None = None) -> list[Failure]:
        name = self._lists(queue)[0] if self._lists(queue) else DEFAULT_LIST
        raws = self.store.failure_range(name, offset, limit)
        return [Failure(name, offset + i, raw) for i, raw in enumerate(raws)]

    def _scan(self, name: str, start: int = 0) -> Iterator[Failure]:
        while True:
            chunk = self.store.failure_range(name, start, _CHUNK)
            for i, raw in enumerate(chunk):
                yield Failure(name, start + i, raw)
            if len(chunk) < _CHUNK:
                return
            start += _CHUNK

    def _scan_back(self, name: str, lo: int = 0) -> Iterator[Failure]:
        hi = self.store.failure_count(name)
        while hi > lo:
            start = max(lo, hi - _CHUNK)
            chunk = self.store.failure_range(name, start, hi - start)
            for i in range(len(chunk) - 1, -1, -1):
                yield Failure(name, start + i, chunk[i])
            hi = start

    def each(self, offset: int = 0, limit: int | None = None, queue: str | None = None,
             class_name: str | None = None, order: str = "desc") -> Iterator[Failure]:
        """Yield failures of a window like Ruby: ``desc`` reverses within it.

        Without a limit the list is read a chunk at a time (from the tail
        for ``desc``), never whole.
        """
        name = (self._lists(queue) or [DEFAULT_LIST])[0]
        if limit is None:
            found = self._scan(name, offset) if order != "desc" else self._scan_back(name, offset)
            yield from (f for f in found if class_name is None or f.job_class == class_name)
            return
        if class_name is not None:
            matching = (f for f in self._scan(name, offset) if f.job_class == class_name)
            window = list(itertools.islice(matching, limit))
        else:
            window = self.all(offset, limit, name)
        yield from (reversed(window) if order == "desc" else window)

    def find(self, failure_id: str, queue: str | None = None) -> Failure | None:
        """Return the record whose id (or id prefix) is ``failure_id``."""
        for name in self._lists(queue):
            for f in self._scan(name):
                if digest(f.raw).startswith(failure_id):
                    return f
        return None

    def _resolve(self, failure: Failure | int | str, queue: str | None) -> Failure | None:
        if isinstance(failure, Failure):
            return failure
        if isinstance(failure, int):
            got = self.all(failure, 1, queue)
            return got[0] if got else None
        return self.find(failure, queue)

    # -- changing -----------------------------------------------------------

    def requeue(self, failure: Failure | int | str, queue: str | None = None) -> str | None:
        """Mark the record ``retried_at`` in place and push its job again.

        Return the ``retried_at`` text, or None when the record is gone.
        """
        f = self._resolve(failure, queue)
        if f is None:
            return None
        stamp, record, payload, job_queue = retry_edit(f, self.multi_queue)
        found = self.store.failure_edit(
            f.list_name, "retry", f.index, digest(f.raw), record, payload, job_queue)
        return stamp if found >= 0 else None

    def remove(self, failure: Failure | int | str, queue: str | None = None) -> bool:
        f = self._resolve(failure, queue)
        if f is None:
            return False
        return self.store.failure_edit(f.list_name, "remove", f.index, digest(f.raw)) >= 0

    def clear(self, queue: str | None = None) -> int:
        return sum(self.store.failure_clear(n) for n in self._lists(queue))

    def _requeue_where(self, lists: list[str], queue: str | None = None,
                       class_name: str | None = None) -> int:
        def keep(f: Failure) -> bool:
            return (queue is None or f.queue == queue) and \
                (class_name is None or f.job_class == class_name)
        return sum(self.requeue_matching(keep, name) for name in lists)

    def requeue_all(self) -> int:
        return self._requeue_where(self.queues())

    def requeue_queue(self, job_queue: str) -> int:
        if self.multi_queue:
            return self._requeue_where([failed_list_name(job_queue)])
        return self._requeue_where([DEFAULT_LIST], queue=job_queue)

    def requeue_class(self, class_name: str) -> int:
        return self._requeue_where(self.queues(), class_name=class_name)

    def remove_queue(self, job_queue: str) -> int:
        if self.multi_queue:
            return self.clear(failed_list_name(job_queue))
        return self.remove_matching(lambda f: f.queue == job_queue, DEFAULT_LIST)

    def requeue_matching(self, keep: Callable[[Failure], bool], queue: str | None = None) -> int:
        """Retry the records ``keep`` accepts, a window per Redis call (see ``sweep``)."""
        def decide(f: Failure) -> Step:
            if not keep(f):
                return None
            _, record, payload, job_queue = retry_edit(f, self.multi_queue)
            return record, payload, job_queue
        return sum(sweep(self.store, name, decide) for name in self._lists(queue)[:1])

    def remove_matching(self, keep: Callable[[Failure], bool], queue: str | None = None) -> int:
        """Remove the records ``keep`` accepts, a window per Redis call (see ``sweep``)."""
        return sum(sweep(self.store, name, lambda f: DROP if keep(f) else None)
                   for name in self._lists(queue)[:1])

    def recover(self, queue: str | None = None) -> None:
        """Put back records a dead bulk change left aside in a list's sweep list."""
        for name in self._lists(queue):
            recover(self.store, name)

    def clear_retried(self) -> int:
        """Remove every record marked ``retried_at``, a window per Redis call."""
        return sum(self.remove_matching(retried, name) for name in self.queues())


class RedisMultiQueueFailure(RedisFailure):
    """One failure list per job queue: ``<ns>:<queue>_failed``."""

    multi_queue = True
