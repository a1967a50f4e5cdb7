"""Django integration: a task backend for ``django.tasks`` and a fork-safe worker.

``TASKS = {"default": {"BACKEND": "resque.contrib.django.ResqueBackend"}}``
makes ``@task`` functions Resque jobs; ``resque work -A
resque.contrib.django -q default`` (or ``python manage.py resque_work``)
runs them.
"""
from __future__ import annotations

from .backend import ResqueBackend, ResqueTask, run_task
from .worker import setup_resque_worker

__all__ = ["ResqueBackend", "ResqueTask", "run_task", "setup_resque_worker"]
