"""``ResqueBackend``: Django's task framework on Resque queues.

A task enqueued through it becomes an ordinary Resque job: its payload
class is the task's dotted path, its one argument an object holding the
task result id, ``args`` and ``kwargs``::

    {"class":"shop.tasks.send_receipt","args":[{"id":"…","args":[42],"kwargs":{}}]}

``resque work -A resque.contrib.django`` (or ``manage.py resque_work``)
runs it. A task with ``run_after`` waits in the scheduler's delayed queue
(``resque scheduler`` moves it when due). Resque keeps no results, so
results cannot be fetched; priority in Resque is the order of a worker's
queues, not a number per job.
"""
from __future__ import annotations

import functools
import os
import socket
import traceback
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from django.db import close_old_connections, transaction
from django.utils import timezone

from ...client import Resque, get_client
from ...errors import PayloadError
from ...registry import JobSpec
from ...scheduler.delayed import enqueue_at_with_queue
from .compat import (BaseTaskBackend, Task, TaskContext, TaskError, TaskResult, TaskResultStatus,
                     get_random_id, task_enqueued, task_finished, task_started)

if TYPE_CHECKING:
    _Task = Task[Any, Any]
else:
    _Task = Task  # generic in the backport, not in Django 6


class ResqueTask(_Task):
    """A Django task that a Resque client can enqueue and a worker can run."""

    @property
    def __resque_job__(self) -> JobSpec:
        """The Resque job of this task: named by its dotted path, on its queue."""
        return JobSpec(self.module_path, functools.partial(run_task, self), self.queue_name)


class ResqueBackend(BaseTaskBackend):
    """Enqueue Django tasks as Resque jobs, run by ``resque work``.

    ``OPTIONS``: ``REDIS_URL`` and ``NAMESPACE`` (default: the default
    client's, from ``RESQUE_REDIS_URL``/``REDIS_URL``), and
    ``ENQUEUE_ON_COMMIT`` (push when the current transaction commits,
    nothing when it rolls back; off by default, as in Django).
    """

    task_class = ResqueTask
    supports_defer = True  # run_after: the scheduler's delayed queue
    supports_async_task = True  # the worker runs coroutines with async_to_sync
    supports_get_result = False  # Resque stores no results
    supports_priority = False  # a worker's queue order is Resque's priority

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.enqueue_on_commit = bool(self.options.get("ENQUEUE_ON_COMMIT", False))
        self._client: Resque | None = None

    @property
    def client(self) -> Resque:
        """The Resque client this backend pushes with (built on first use)."""
        if self._client is not None:
            return self._client
        url, namespace = self.options.get("REDIS_URL"), self.options.get("NAMESPACE")
        if url is None and namespace is None:
            return get_client()
        self._client = Resque(url, namespace)
        return self._client

    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any]:
        """Push ``task`` with its arguments; return its (READY) result."""
        self.validate_task(task)
        result: TaskResult[Any] = TaskResult(
            task=task, id=get_random_id(), status=TaskResultStatus.READY, enqueued_at=None,
            started_at=None, finished_at=None, last_attempted_at=None, args=list(args),
            kwargs=dict(kwargs), backend=self.alias, errors=[], worker_ids=[])
        push = functools.partial(self._push, result)
        if self.enqueue_on_commit:
            transaction.on_commit(push)
        else:
            push()
        return result

    def _push(self, result: TaskResult[Any]) -> None:
        """Push now, or with ``run_after`` onto the delayed queue (now if it is past)."""
        task = result.task
        envelope = {"id": result.id, "args": result.args, "kwargs": result.kwargs}
        if task.run_after is None:
            self.client.enqueue_to(task.queue_name, task, envelope)
        else:
            enqueue_at_with_queue(self.client, task.queue_name, aware(task.run_after), task, envelope)
        object.__setattr__(result, "enqueued_at", timezone.now())
        task_enqueued.send(type(self), task_result=result)


def aware(when: datetime) -> datetime:
    """Return ``when`` with its time zone; naive means Django's ``TIME_ZONE``.

    Django refuses a naive ``run_after`` when ``USE_TZ`` is on; when it is
    off, naive datetimes are local time in ``TIME_ZONE``, as
    ``timezone.now()`` returns them.
    """
    if timezone.is_aware(when):
        return when
    return timezone.make_aware(when, timezone.get_default_timezone())


def _envelope(task: Task[Any, Any], envelope: Any) -> tuple[str, list[Any], dict[str, Any]]:
    if not isinstance(envelope, Mapping):
        raise PayloadError(f"task {task.module_path}: the job argument is not a task envelope "
                           f"(got {type(envelope).__name__})")
    args, kwargs = envelope.get("args", []), envelope.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, Mapping):
        raise PayloadError(f"task {task.module_path}: args must be a list and kwargs an object")
    return str(envelope.get("id", "")), args, dict(kwargs)


def run_task(task: Task[Any, Any], envelope: Any) -> None:
    """Run one enqueued task in a worker, with Django's signals and fresh connections.

    Connections are checked before and after, as Django does around a
    request, so a long-lived worker never reuses a broken one. A failure
    is re-raised for Resque to record.
    """
    result_id, args, kwargs = _envelope(task, envelope)
    started = timezone.now()
    result: TaskResult[Any] = TaskResult(
        task=task, id=result_id, status=TaskResultStatus.RUNNING, enqueued_at=None,
        started_at=started, finished_at=None, last_attempted_at=started, args=args,
        kwargs=kwargs, backend=task.backend, errors=[],
        worker_ids=[f"{socket.gethostname()}:{os.getpid()}"])
    close_old_connections()
    task_started.send(ResqueBackend, task_result=result)
    try:
        if task.takes_context:
            task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            task.call(*args, **kwargs)
    except BaseException as exc:
        _finish(result, TaskResultStatus.FAILED, exc)
        raise
    else:
        _finish(result, TaskResultStatus.SUCCESSFUL)
    finally:
        close_old_connections()


def _finish(result: TaskResult[Any], status: TaskResultStatus, exc: BaseException | None = None) -> None:
    object.__setattr__(result, "status", status)
    object.__setattr__(result, "finished_at", timezone.now())
    if exc is not None:
        kind = type(exc)
        result.errors.append(TaskError(exception_class_path=f"{kind.__module__}.{kind.__qualname__}",
                                       traceback="".join(traceback.format_exception(exc))))
    task_finished.send(ResqueBackend, task_result=result)
