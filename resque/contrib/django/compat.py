"""Django's task framework: ``django.tasks`` (Django 6) or the ``django_tasks`` backport."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django_tasks import TaskContext, TaskResult, TaskResultStatus
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks.utils import get_random_id
else:
    try:
        from django.tasks import TaskContext, TaskResult, TaskResultStatus
        from django.tasks.backends.base import BaseTaskBackend
        from django.tasks.base import Task, TaskError
        from django.tasks.signals import task_enqueued, task_finished, task_started
        from django.utils.crypto import get_random_string

        def get_random_id() -> str:
            """Return a random task id (as Django's own backends make them)."""
            return get_random_string(32)
    except ImportError:
        from django_tasks import TaskContext, TaskResult, TaskResultStatus
        from django_tasks.backends.base import BaseTaskBackend
        from django_tasks.base import Task, TaskError
        from django_tasks.signals import task_enqueued, task_finished, task_started
        from django_tasks.utils import get_random_id

__all__ = ["BaseTaskBackend", "Task", "TaskContext", "TaskError", "TaskResult", "TaskResultStatus",
           "get_random_id", "task_enqueued", "task_finished", "task_started"]
