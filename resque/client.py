"""The ``Resque`` client: enqueue, inspect and manage jobs on one Redis."""
from __future__ import annotations

import inspect
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

import redis

from . import extensions
from ._accel import decode_payload, encode_payload
from ._compat import dumps, loads
from .connection import Connection, connect, redact, replica_wait
from .errors import CorruptValue, JobNotAllowed, NoClassError, RedisOutOfMemory
from .failure import FailureBackend, backend_from_env
from .job import Job, run_hooks
from .keys import Keys, parse_worker_id
from .limits import Timeout, read_limit
from .middleware import enqueueing
from .registry import JobSpec, Registry, default_registry
from .stats import RedisStats, StatStore
from .payload import dequeue_matches
from .store import Store
from .replies import Corrupt, text
from .worker_info import WorkerInfo, decode_record, decode_record_cut, info_fields, worker_infos


def loads_or_text(raw: bytes) -> Any:
    """Decode a queue element for display; keep undecodable bytes as text."""
    try:
        return loads(raw)
    except ValueError:
        return text(raw)


def job_spec(registry: Registry, job: Any) -> JobSpec:
    """Return the spec of a job object, or of a job name (known here or not)."""
    if isinstance(job, str):
        if not job:
            raise NoClassError("Jobs must be given a class.")
        try:
            return registry.resolve(job)
        except JobNotAllowed:
            return JobSpec(job, None)  # a job this process does not define
    return registry.spec_for(job)


def client_hooks(spec: JobSpec, prefix: str) -> tuple[Callable[..., Any], ...]:
    """Return a job's enqueue/dequeue hooks (none for a job not defined here)."""
    return spec.hooks(prefix) if spec.target is not None else ()


def vetoed(hooks: tuple[Callable[..., Any], ...], args: Sequence[Any]) -> bool:
    """Run ``hooks``; return True if one returned exactly False (Ruby's veto)."""
    return any(r is False for r in run_hooks(hooks, *args))


@contextmanager
def writing(what: str, redis_id: str) -> Iterator[None]:
    """Turn Redis's out-of-memory refusal into a ``RedisOutOfMemory``."""
    try:
        yield
    except redis.exceptions.OutOfMemoryError:
        raise RedisOutOfMemory(
            f"{what}: Redis at {redis_id} is out of memory (maxmemory reached, "
            "eviction policy noeviction); nothing was enqueued") from None


class Resque:
    """A client for one Redis connection and namespace."""

    def __init__(
        self,
        redis: "str | redis.Redis | Connection | None" = None,
        namespace: str | None = None,
        *,
        registry: Registry | None = None,
        failure: "FailureBackend | Callable[[Store], FailureBackend] | None" = None,
        stats: "StatStore | None" = None,
        inline: bool = False,
        data_dir: "str | os.PathLike[str] | None" = None,
        wait_replicas: int | None = None,
        wait_timeout: int | None = None,
    ):
        self.connection = connect(redis, namespace, data_dir)
        self.keyspace = Keys(self.connection.namespace)
        self.store = Store(self.connection.redis, self.keyspace)
        # Enqueues wait for replicas (Redis WAIT) when asked to: docs/enqueueing.md.
        self.store.wait = replica_wait(redis, wait_replicas, wait_timeout)
        self.registry = registry or default_registry
        if failure is None:
            failure = backend_from_env(self.store)
        elif not isinstance(failure, FailureBackend):
            failure = failure(self.store)
        self.failure: FailureBackend = failure
        self.stats: StatStore = stats if stats is not None else RedisStats(self.store)
        self.inline = inline

    @property
    def redis(self) -> redis.Redis:
        return self.connection.redis

    @property
    def namespace(self) -> str:
        return self.connection.namespace

    @property
    def redis_id(self) -> str:
        """A display string for the server and namespace (no password)."""
        return f"{redact(self.connection.description)}/{self.namespace}"

    def __getattr__(self, name: str) -> Any:
        # Methods plugins add (resque.api entry points) attach on first use.
        if name.startswith("_") or extensions.api_loaded():
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        extensions.api_modules()
        return getattr(self, name)

    def __repr__(self) -> str:
        return f"Resque Client connected to {self.redis_id}"

    # -- defining and enqueueing -----------------------------------------

    def _spec(self, job: Any) -> JobSpec:
        return job_spec(self.registry, job)

    def validate(self, job: Any, queue: str | None = None) -> str:
        """Return the queue for ``job`` or raise ``NoQueueError``/``NoClassError``."""
        spec = self._spec(job)
        return self.registry.queue_for(spec, queue)

    def _hooks(self, spec: JobSpec, prefix: str) -> tuple[Callable[..., Any], ...]:
        return client_hooks(spec, prefix)

    def enqueue(self, job: Any, *args: Any) -> bool | None:
        """Push a job onto its own queue; return None if a hook vetoed it."""
        spec = self._spec(job)
        return self._enqueue(self.registry.queue_for(spec), spec, args)

    def enqueue_to(self, queue: str, job: Any, *args: Any) -> bool | None:
        """Push a job onto ``queue``; return None if a hook vetoed it."""
        spec = self._spec(job)
        return self._enqueue(self.registry.queue_for(spec, queue), spec, args)

    def _enqueue(self, queue: str, spec: JobSpec, args: Sequence[Any]) -> bool | None:
        if vetoed(self._hooks(spec, "before_enqueue"), args):
            return None
        if self.registry.middleware:
            with enqueueing(self.registry.middleware, queue, spec.name, [args]) as (payload,):
                self._push(queue, spec, payload)
        else:
            self._push(queue, spec, encode_payload(spec.name, list(args)))
        run_hooks(self._hooks(spec, "after_enqueue"), *args)
        return True

    def _push(self, queue: str, spec: JobSpec, payload: bytes) -> None:
        if self.inline:
            self._perform_inline(spec, payload)
        else:
            with self._writing(f"cannot enqueue {spec.name} on queue {queue!r}"):
                self.store.push(queue, payload)

    def _writing(self, what: str) -> Any:
        return writing(what, self.redis_id)

    def _perform_inline(self, spec: JobSpec, payload: bytes) -> None:
        if spec.target is None:
            raise JobNotAllowed(f"job class {spec.name!r} is not defined here; inline mode cannot run it")
        job = Job("inline", decode_payload(payload))
        job.perform(self.registry)

    def enqueue_many(self, job: Any, args_list: Iterable[Sequence[Any]],
                     queue: str | None = None) -> int:
        """Push many jobs of one class in one round trip; return how many.

        Enqueue hooks run for each job; a job vetoed by a hook is skipped.
        """
        spec = self._spec(job)
        q = self.registry.queue_for(spec, queue)
        before = self._hooks(spec, "before_enqueue")
        after = self._hooks(spec, "after_enqueue")
        kept: list[Sequence[Any]] = []
        for args in args_list:
            if before and vetoed(before, args):
                continue
            kept.append(args)
        if self.registry.middleware:
            with enqueueing(self.registry.middleware, q, spec.name, kept) as payloads:
                self._push_many(q, spec, payloads)
        else:
            self._push_many(q, spec, [encode_payload(spec.name, list(a)) for a in kept])
        if after:
            for args in kept:
                run_hooks(after, *args)
        return len(kept)

    def _push_many(self, queue: str, spec: JobSpec, payloads: list[bytes]) -> None:
        if self.inline:
            for p in payloads:
                self._perform_inline(spec, p)
        else:
            with self._writing(f"cannot enqueue {len(payloads)} {spec.name} jobs on queue {queue!r}"):
                self.store.push_many(queue, payloads)

    def dequeue(self, job: Any, *args: Any, queue: str | None = None) -> int | None:
        """Remove queued jobs of a class (with ``args``: only those equal to them).

        Arguments are compared by value, not by bytes, so a job Ruby wrote
        (``1.0e+20``) matches the same arguments given here (``1e+20``).
        The queue is read in chunks; each matching element is removed by
        its exact bytes.
        """
        spec = self._spec(job)
        q = self.registry.queue_for(spec, queue)
        if any(r is False for r in run_hooks(self._hooks(spec, "before_dequeue"), *args)):
            return None
        found: dict[bytes, None] = {}
        for chunk in self.store.queue_chunks(q):
            found.update(dict.fromkeys(dequeue_matches(chunk, spec.name, args)))
        removed = sum(self.store.remove_from_queue(q, raw) for raw in found)
        run_hooks(self._hooks(spec, "after_dequeue"), *args)
        return removed

    # -- raw queue access -------------------------------------------------

    def push(self, queue: str, item: Any) -> None:
        """Push any JSON-able item onto a queue as is."""
        self.store.push(queue, dumps(item))

    def pop(self, queue: str) -> Any:
        """Pop and decode the head of a queue, or None."""
        raw = self.store.pop(queue)
        return None if raw is None else loads(raw)

    def reserve(self, queue: str) -> Job | None:
        """Pop the head of a queue as a ``Job`` (no worker bookkeeping)."""
        raw = self.store.pop(queue)
        return None if raw is None else Job(queue, decode_payload(raw), raw, registry=self.registry)

    def size(self, queue: str) -> int:
        return self.store.size(queue)

    def peek(self, queue: str, start: int = 0, count: int = 1) -> Any:
        """Return decoded jobs without removing them (one item when count is 1)."""
        raws = self.store.queue_range(queue, start, count)
        items = [loads_or_text(r) for r in raws]
        if count == 1:
            return items[0] if items else None
        return items

    def queues(self) -> list[str]:
        return sorted(self.store.queue_names())

    def queue_sizes(self) -> dict[str, int]:
        return self.store.queue_sizes()

    def remove_queue(self, queue: str) -> None:
        self.store.remove_queue(queue)

    def clear_queue(self, queue: str) -> int:
        return self.store.clear_queue(queue)

    def watch_queue(self, queue: str) -> None:
        self.store.watch_queue(queue)

    def keys(self) -> list[str]:
        """Every key under the namespace, without the prefix."""
        return self.store.all_keys()

    # -- workers and info ---------------------------------------------------

    def workers(self, details: bool = False, job_bytes: int | None = None) -> list[WorkerInfo]:
        """Return every registered worker, sorted by id.

        With ``job_bytes`` each job record is read only that far (Redis cuts
        it); a longer record is decoded as far as it goes (``job_cut``).
        """
        ids = sorted(self.store.worker_ids())
        if job_bytes is None:
            records = [(decode_record(raw), len(raw or b""), False)
                       for raw in self.store.worker_jobs(ids)]
        else:
            records = [(decode_record_cut(c), c.size if c else 0, bool(c and not c.whole))
                       for c in self.store.worker_job_cuts(ids, job_bytes)]
        out = worker_infos(ids, records)
        if details:
            for info in out:
                info.started, info.processed, info.failed, info.heartbeat = \
                    self.store.worker_details(info.id)
        return out

    def worker(self, worker_id: str, job_bytes: int | None = None) -> WorkerInfo | None:
        """Return one worker with its details, or None if not registered."""
        if not self.store.worker_exists(worker_id):
            return None
        try:
            host, pid, queues = parse_worker_id(worker_id)
        except ValueError:
            return None
        if job_bytes is None:
            info = WorkerInfo(worker_id, host, pid, queues,
                              decode_record(self.store.worker_job(worker_id)))
        else:
            [cut] = self.store.worker_job_cuts([worker_id], job_bytes)
            info = WorkerInfo(worker_id, host, pid, queues, decode_record_cut(cut),
                              job_size=cut.size if cut else 0, job_cut=bool(cut and not cut.whole))
        info.started, info.processed, info.failed, info.heartbeat = \
            self.store.worker_details(worker_id)
        return info

    def job_limits(self, workers: Sequence[WorkerInfo]) -> dict[str, float]:
        """Return the time limits of the jobs these workers run, by worker id, where set."""
        busy = [w for w in workers if w.job]
        raws = self.store.job_limits([w.id for w in busy])
        found = {w.id: read_limit(raw, (w.job or {}).get("run_at")) for w, raw in zip(busy, raws)}
        return {wid: limit for wid, limit in found.items() if limit is not None}

    def working(self) -> list[WorkerInfo]:
        """Return the workers that hold a job, oldest ``run_at`` first."""
        busy = [w for w in self.workers() if w.job]
        return sorted(busy, key=lambda w: str((w.job or {}).get("run_at", "")))

    def stat(self, name: str) -> int | Corrupt:
        """Return a counter for display: its stored text if it is not a number."""
        try:
            return self.stats.get(name)
        except CorruptValue as exc:
            return Corrupt(exc.value)

    def info(self) -> dict[str, Any]:
        """Return Ruby's ``Resque.info`` fields (a corrupt counter as its text)."""
        sizes = self.store.queue_sizes()
        workers = self.workers(job_bytes=512)  # enough to see a job; never a huge one whole
        return info_fields(sizes, self.stat("processed"), workers,
                           self.store.failure_count("failed"), self.redis_id)

    def pause_all(self) -> None:
        """Stop every worker on this namespace from reserving (Ruby's pause-all-workers)."""
        self.store.set_paused(True)

    def resume_all(self) -> None:
        """Let every worker reserve again."""
        self.store.set_paused(False)

    def paused(self) -> bool:
        """Return True while the global pause flag is set."""
        return self.store.paused()

    # -- failures -------------------------------------------------------------

    def create_failure(self, exception: BaseException, *, payload: Any, queue: str = "",
                       worker: Any = "") -> bytes:
        """Record a failure as Ruby's ``Resque::Failure.create`` does; return the record.

        ``payload`` is the job's ``{"class": ..., "args": [...]}``; ``worker``
        a worker id (or anything with an ``id``). The record goes to this
        client's failure backend; the ``failed`` counters are not touched
        (Ruby's ``create`` leaves them to the worker).
        """
        worker_id = worker if isinstance(worker, str) else str(getattr(worker, "id", worker))
        return self.failure.record(exception, worker_id, queue, payload)


# -- the default client -------------------------------------------------------

_default: Resque | None = None


def get_client() -> Resque:
    """Return the default client, building it on first use."""
    global _default
    if _default is None:
        _default = Resque()
    return _default


def set_client(client: "Resque | str | redis.Redis | None", namespace: str | None = None) -> Resque | None:
    """Replace the default client (a ``Resque``, a URL or a redis client); None resets it."""
    global _default
    if client is None or isinstance(client, Resque):
        _default = client
    else:
        _default = Resque(client, namespace)
    return _default


# -- extension points for plugins ------------------------------------------

JobMethod = Callable[[Any], Callable[..., Any]]
_JOB_METHODS: dict[str, JobMethod] = {
    "enqueue": lambda target: lambda *args: get_client().enqueue(target, *args),
    "enqueue_to": lambda target: lambda q, *args: get_client().enqueue_to(q, target, *args),
}


def add_client_methods(**methods: Callable[..., Any]) -> None:
    """Give ``Resque`` a plugin's methods, as Ruby's ``Resque.extend`` does.

    A name may be added once; adding the same function again is a no-op.
    """
    for name, fn in methods.items():
        if getattr(Resque, name, fn) is not fn:
            raise ValueError(f"Resque already has an attribute {name!r}")
        setattr(Resque, name, fn)


def add_job_methods(**makers: JobMethod) -> None:
    """Give functions decorated later with ``@job`` methods made by ``maker(target)``."""
    for name, maker in makers.items():
        if _JOB_METHODS.get(name, maker) is not maker:
            raise ValueError(f"decorated jobs already have a method {name!r}")
        _JOB_METHODS[name] = maker


def job(queue: str | None = None, name: str | None = None,
        registry: Registry | None = None, **plugins: Any) -> Callable[[Any], Any]:
    """Register a class or function as a job: ``@resque.job(queue="mail")``.

    A decorated function gains ``.enqueue(*args)`` and ``.enqueue_to(queue,
    *args)`` on the default client (plugins add more). ``name`` may be
    Ruby-style (``Mail::Deliver``) so this process can serve jobs enqueued
    by Ruby. ``timeout`` is the job's time limit in seconds. Each other
    keyword names a plugin object whose ``attach(spec)`` adds its hooks
    to the job (``retry=Retry(...)``).
    """
    reg = registry or default_registry
    if "timeout" in plugins and not callable(getattr(plugins["timeout"], "attach", None)):
        plugins["timeout"] = Timeout(plugins["timeout"])  # a number of seconds
    for key, plugin in plugins.items():
        if not callable(getattr(plugin, "attach", None)):
            raise TypeError(f"job option {key}={plugin!r} is not a job plugin (no attach method)")

    def decorate(target: Any) -> Any:
        spec = reg.register(target, name=name, queue=queue)
        target.__resque_job__ = spec
        for key, plugin in plugins.items():
            spec.options[key] = plugin
            plugin.attach(spec)
        if not inspect.isclass(target):
            extensions.api_modules()  # plugins' job methods (resque.api), loaded once
            for method, maker in _JOB_METHODS.items():
                setattr(target, method, maker(target))
        return target

    return decorate
