"""resque: Redis-backed background jobs, wire-compatible with Ruby Resque.

Module-level functions act on a default client that is built on first use
(from ``RESQUE_REDIS_URL``/``REDIS_URL`` or the embedded server); replace
it with ``resque.set_client(...)``. Importing the package does no I/O.
"""
from __future__ import annotations

from typing import Any

from ._accel import IMPLEMENTATION
from .client import Resque, get_client, job, set_client
from .worker_info import WorkerInfo
from .errors import (
    ConfigurationError, DirtyExit, DontPerform, JobNotAllowed, NoClassError, NoQueueError,
    PayloadError, PruneDeadWorkerDirtyExit, RedisUnavailable, ResqueError, TermException,
)
from .job import Job, JobArgumentError
from .keys import __version__
from .registry import Registry, default_registry
# Load the submodules named like the functions below first: a later first
# import of them would rebind resque.queues and resque.workers to the modules.
from . import queues as _queues_module, workers as _workers_module  # noqa: F401

__all__ = [
    "ConfigurationError", "DirtyExit", "DontPerform", "Job", "JobArgumentError", "JobNotAllowed",
    "NoClassError", "NoQueueError", "PayloadError", "PruneDeadWorkerDirtyExit", "RedisUnavailable",
    "Registry", "Resque", "ResqueError", "TermException", "WorkerInfo", "__version__",
    "create_failure", "default_registry", "dequeue", "enqueue", "enqueue_many", "enqueue_to", "get_client",
    "implementation", "info", "job", "peek", "queues", "remove_queue", "reserve", "set_client",
    "size", "workers", "working",
]


def __getattr__(name: str) -> Any:
    """Functions plugins add to the package (``resque.api`` entry points).

    The scheduler adds ``enqueue_at``, ``enqueue_in``, ``remove_delayed``...
    as resque-scheduler extends Ruby's ``Resque``; the core names no plugin.
    """
    from .extensions import api_modules

    for module in api_modules():
        if name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'resque' has no attribute {name!r}")


def implementation() -> str:
    """Return ``"cython"`` when the compiled hot path is in use, else ``"python"``."""
    return IMPLEMENTATION


def enqueue(job: Any, *args: Any) -> bool | None:
    """Enqueue ``job`` on its queue using the default client."""
    return get_client().enqueue(job, *args)


def enqueue_to(queue: str, job: Any, *args: Any) -> bool | None:
    """Enqueue ``job`` on ``queue`` using the default client."""
    return get_client().enqueue_to(queue, job, *args)


def enqueue_many(job: Any, args_list: Any, queue: str | None = None) -> int:
    """Enqueue many jobs in one round trip using the default client."""
    return get_client().enqueue_many(job, args_list, queue)


def dequeue(job: Any, *args: Any) -> int | None:
    """Remove queued jobs of ``job`` using the default client."""
    return get_client().dequeue(job, *args)


def create_failure(exception: BaseException, *, payload: Any, queue: str = "",
                   worker: Any = "") -> bytes:
    """Record a failure on the default client (Ruby's ``Resque::Failure.create``)."""
    return get_client().create_failure(exception, payload=payload, queue=queue, worker=worker)


def reserve(queue: str) -> Job | None:
    return get_client().reserve(queue)


def size(queue: str) -> int:
    return get_client().size(queue)


def peek(queue: str, start: int = 0, count: int = 1) -> Any:
    return get_client().peek(queue, start, count)


def queues() -> list[str]:
    return get_client().queues()


def remove_queue(queue: str) -> None:
    get_client().remove_queue(queue)


def info() -> dict[str, Any]:
    return get_client().info()


def workers() -> list[WorkerInfo]:
    return get_client().workers()


def working() -> list[WorkerInfo]:
    return get_client().working()
