"""Worker hooks of the test project: the parent uses the database before every fork.

Loaded after ``resque.contrib.django`` (``-A ... -A tests.djangoproject.shop.hooks``),
so its ``before_fork`` runs after the one that closes connections, and the
parent holds an open connection at each fork.
"""
from __future__ import annotations

from typing import Any

from .db import record


def setup_resque_worker(worker: Any) -> None:
    worker.hooks.add("before_fork", lambda job: record("parent", job.args[0]))
