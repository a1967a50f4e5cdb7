"""``resque.aio.Resque``: enqueue and inspect jobs from asyncio code.

The sync client's producer API, awaited, on ``redis.asyncio``: the same
configuration, job names, hooks and bytes on the wire. Nothing here
blocks the event loop: the connection is resolved (and the embedded
server started) in a thread, and inline jobs run in a thread.
"""
from __future__ import annotations

import asyncio
import os
from types import TracebackType
from typing import Any, Iterable, Sequence

import redis
import redis.asyncio

from .._accel import decode_payload, encode_payload
from ..client import client_hooks, job_spec, loads_or_text, vetoed, writing
from ..connection import replica_wait
from ..errors import ConfigurationError, JobNotAllowed
from ..job import Job, run_hooks
from ..keys import Keys
from ..middleware import enqueueing
from ..payload import dequeue_matches
from .. import registry as registries
from ..registry import JobSpec, Registry
from .connection import AsyncConnection, connect
from .failures import AsyncFailures
from .store import AsyncStore
from ..worker_info import WorkerInfo, decode_record, decode_record_cut, info_fields, worker_infos

_BACKENDS = {"redis": False, "redis_multi_queue": True}


def _multi_queue(failure: str | None) -> bool:
    name = (failure or os.environ.get("FAILURE_BACKEND", "redis")).strip() or "redis"
    if name not in _BACKENDS:
        raise ConfigurationError(
            f"failure backend {name!r}: the asyncio client reads 'redis' or 'redis_multi_queue'")
    return _BACKENDS[name]


class Resque:
    """An asyncio client for one Redis connection and namespace.

    Use one client per event loop, as ``async with resque.aio.Resque(url)
    as client`` or by awaiting ``connect()``; any call connects first.
    ``failure`` names the failure backend whose lists ``failures`` reads
    (default ``FAILURE_BACKEND``, else ``redis``).
    """

    def __init__(
        self,
        redis: "str | redis.asyncio.Redis | AsyncConnection | None" = None,
        namespace: str | None = None,
        *,
        registry: Registry | None = None,
        failure: str | None = None,
        inline: bool = False,
        data_dir: "str | os.PathLike[str] | None" = None,
        wait_replicas: int | None = None,
        wait_timeout: int | None = None,
    ):
        self._source = redis
        self._wait = replica_wait(redis, wait_replicas, wait_timeout)
        self._namespace = namespace
        self._data_dir = data_dir
        self._multi_queue = _multi_queue(failure)
        self.registry = registry or registries.default_registry
        self.inline = inline
        self._connection: AsyncConnection | None = None
        self._store: AsyncStore | None = None
        self._failures: AsyncFailures | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> "Resque":
        """Resolve the connection once (in a thread); return the client."""
        if self._connection is None:
            async with self._lock:
                if self._connection is None:
                    conn = await connect(self._source, self._namespace, self._data_dir)
                    self._store = AsyncStore(conn.redis, Keys(conn.namespace))
                    self._store.wait = self._wait
                    self._failures = AsyncFailures(self._store, self._multi_queue)
                    self._connection = conn
        return self

    async def aclose(self) -> None:
        """Close the connection pool (a client given as ``redis.asyncio.Redis`` too)."""
        if self._connection is not None:
            await self._connection.redis.aclose()

    async def __aenter__(self) -> "Resque":
        return await self.connect()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def _connected(self) -> AsyncConnection:
        if self._connection is None:
            raise ConfigurationError("the asyncio client is not connected yet: await client.connect()")
        return self._connection

    @property
    def redis(self) -> "redis.asyncio.Redis":
        return self._connected().redis

    @property
    def namespace(self) -> str:
        return self._connected().namespace

    @property
    def keyspace(self) -> Keys:
        return self.store.keys

    @property
    def store(self) -> AsyncStore:
        self._connected()
        assert self._store is not None
        return self._store

    @property
    def failures(self) -> AsyncFailures:
        """The failure API: ``count``, ``all``, ``find``, ``requeue``, ``remove``, ``clear``."""
        self._connected()
        assert self._failures is not None
        return self._failures

    @property
    def redis_id(self) -> str:
        """A display string for the server and namespace (no password)."""
        conn = self._connected()
        return f"{conn.description}/{conn.namespace}"

    def __repr__(self) -> str:
        where = self.redis_id if self._connection is not None else "(not connected)"
        return f"Resque asyncio client connected to {where}"

    async def _ready(self) -> AsyncStore:
        await self.connect()
        return self.store

    # -- enqueueing ---------------------------------------------------------

    def validate(self, job: Any, queue: str | None = None) -> str:
        """Return the queue for ``job`` or raise ``NoQueueError``/``NoClassError``."""
        return self.registry.queue_for(job_spec(self.registry, job), queue)

    async def enqueue(self, job: Any, *args: Any) -> bool | None:
        """Push a job onto its own queue; return None if a hook vetoed it."""
        spec = job_spec(self.registry, job)
        return await self._enqueue(self.registry.queue_for(spec), spec, args)

    async def enqueue_to(self, queue: str, job: Any, *args: Any) -> bool | None:
        """Push a job onto ``queue``; return None if a hook vetoed it."""
        spec = job_spec(self.registry, job)
        return await self._enqueue(self.registry.queue_for(spec, queue), spec, args)

    async def _enqueue(self, queue: str, spec: JobSpec, args: Sequence[Any]) -> bool | None:
        if vetoed(client_hooks(spec, "before_enqueue"), args):
            return None
        if self.registry.middleware:
            with enqueueing(self.registry.middleware, queue, spec.name, [args]) as (payload,):
                await self._push(queue, spec, payload)
        else:
            await self._push(queue, spec, encode_payload(spec.name, list(args)))
        run_hooks(client_hooks(spec, "after_enqueue"), *args)
        return True

    async def _push(self, queue: str, spec: JobSpec, payload: bytes) -> None:
        if self.inline:
            await asyncio.to_thread(self._perform_inline, spec, payload)
        else:
            store = await self._ready()
            with writing(f"cannot enqueue {spec.name} on queue {queue!r}", self.redis_id):
                await store.push(queue, payload)

    def _perform_inline(self, spec: JobSpec, payload: bytes) -> None:
        if spec.target is None:
            raise JobNotAllowed(f"job class {spec.name!r} is not defined here; inline mode cannot run it")
        Job("inline", decode_payload(payload)).perform(self.registry)

    async def enqueue_many(self, job: Any, args_list: Iterable[Sequence[Any]],
                           queue: str | None = None) -> int:
        """Push many jobs of one class in one round trip; return how many.

        Enqueue hooks run for each job; a job vetoed by a hook is skipped.
        """
        spec = job_spec(self.registry, job)
        q = self.registry.queue_for(spec, queue)
        before = client_hooks(spec, "before_enqueue")
        kept = [args for args in args_list if not (before and vetoed(before, args))]
        if self.registry.middleware:
            with enqueueing(self.registry.middleware, q, spec.name, kept) as payloads:
                await self._push_many(q, spec, payloads)
        else:
            await self._push_many(q, spec, [encode_payload(spec.name, list(a)) for a in kept])
        after = client_hooks(spec, "after_enqueue")
        for args in kept if after else ():
            run_hooks(after, *args)
        return len(kept)

    async def _push_many(self, queue: str, spec: JobSpec, payloads: list[bytes]) -> None:
        if self.inline:
            for p in payloads:
                await asyncio.to_thread(self._perform_inline, spec, p)
        else:
            store = await self._ready()
            with writing(f"cannot enqueue {len(payloads)} {spec.name} jobs on queue {queue!r}",
                         self.redis_id):
                await store.push_many(queue, payloads)

    async def dequeue(self, job: Any, *args: Any, queue: str | None = None) -> int | None:
        """Remove queued jobs of a class (with ``args``: only those equal to them, by value)."""
        store = await self._ready()
        spec = job_spec(self.registry, job)
        q = self.registry.queue_for(spec, queue)
        if vetoed(client_hooks(spec, "before_dequeue"), args):
            return None
        found: dict[bytes, None] = {}
        async for chunk in store.queue_chunks(q):
            found.update(dict.fromkeys(dequeue_matches(chunk, spec.name, args)))
        removed = 0
        for raw in found:
            removed += await store.remove_from_queue(q, raw)
        run_hooks(client_hooks(spec, "after_dequeue"), *args)
        return removed

    # -- inspecting -----------------------------------------------------------

    async def size(self, queue: str) -> int:
        return await (await self._ready()).size(queue)

    async def peek(self, queue: str, start: int = 0, count: int = 1) -> Any:
        """Return decoded jobs without removing them (one item when count is 1)."""
        raws = await (await self._ready()).queue_range(queue, start, count)
        items = [loads_or_text(r) for r in raws]
        if count == 1:
            return items[0] if items else None
        return items

    async def queues(self) -> list[str]:
        return sorted(await (await self._ready()).queue_names())

    async def queue_sizes(self) -> dict[str, int]:
        return await (await self._ready()).queue_sizes()

    async def reserve(self, queue: str) -> Job | None:
        """Pop the head of a queue as a ``Job`` (no worker bookkeeping)."""
        raw = await (await self._ready()).pop(queue)
        return None if raw is None else Job(queue, decode_payload(raw), raw, registry=self.registry)

    async def workers(self, job_bytes: int | None = None) -> list[WorkerInfo]:
        """Return every registered worker, sorted by id.

        With ``job_bytes`` each job record is read only that far (Redis cuts
        it), as the sync client's ``workers(job_bytes=...)``.
        """
        store = await self._ready()
        ids = sorted(await store.worker_ids())
        if job_bytes is None:
            return worker_infos(ids, [(decode_record(raw), len(raw or b""), False)
                                      for raw in await store.worker_jobs(ids)])
        return worker_infos(ids, [(decode_record_cut(c), c.size if c else 0, bool(c and not c.whole))
                                  for c in await store.worker_job_cuts(ids, job_bytes)])

    async def info(self) -> dict[str, Any]:
        """Return Ruby's ``Resque.info`` fields (a corrupt counter as its text)."""
        store = await self._ready()
        sizes = await store.queue_sizes()
        workers = await self.workers(job_bytes=512)  # enough to see a job; never a huge one whole
        return info_fields(sizes, await store.stat_value("processed"), workers,
                           await store.failure_count("failed"), self.redis_id)

    async def failed_count(self) -> int:
        """Return how many failure records the failure lists hold."""
        await self._ready()
        return await self.failures.count()

    # -- delayed jobs (resque-scheduler's delayed queue) ----------------------
    # ``.delayed`` is imported on first use, so that ``import resque.aio``
    # loads nothing of the scheduler's for clients that never delay a job.

    async def enqueue_at(self, when: Any, job: Any, *args: Any) -> bool | None:
        """Run ``job`` at ``when`` (datetime, naive = UTC, or epoch seconds)."""
        from . import delayed
        return await delayed.enqueue_at(self, when, job, *args)

    async def enqueue_in(self, delay: Any, job: Any, *args: Any) -> bool | None:
        """Run ``job`` after ``delay`` seconds (or a timedelta)."""
        from . import delayed
        return await delayed.enqueue_in(self, delay, job, *args)

    async def enqueue_at_with_queue(self, queue: str | None, when: Any, job: Any,
                                    *args: Any) -> bool | None:
        """Run ``job`` on ``queue`` at ``when``."""
        from . import delayed
        return await delayed.enqueue_at_with_queue(self, queue, when, job, *args)

    async def enqueue_in_with_queue(self, queue: str | None, delay: Any, job: Any,
                                    *args: Any) -> bool | None:
        """Run ``job`` on ``queue`` after ``delay`` seconds."""
        from . import delayed
        return await delayed.enqueue_in_with_queue(self, queue, delay, job, *args)

    async def remove_delayed(self, job: Any, *args: Any) -> int:
        """Remove every delayed copy of this exact job; return how many."""
        from . import delayed
        return await delayed.remove_delayed(self, job, *args)

    async def delayed_queue_schedule_size(self) -> int:
        """Return how many distinct seconds hold delayed items."""
        from . import delayed
        return await delayed.delayed_queue_schedule_size(self)

    async def next_delayed_timestamp(self, at: Any = None) -> int | None:
        """Return the oldest due second (at ``at``, default now), or None."""
        from . import delayed
        return await delayed.next_delayed_timestamp(self, at)
