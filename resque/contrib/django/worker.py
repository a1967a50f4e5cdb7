"""Run ``resque work`` inside a Django project, with database connections fork-safe.

``resque work -A resque.contrib.django`` calls ``setup_resque_worker``
with the worker before it starts: Django is set up once in the parent
(``DJANGO_SETTINGS_MODULE``), the packages of ``INSTALLED_APPS`` may be
named by payloads, the parent closes its database connections before each
fork, and a child drops any connection it inherited without a word to the
server, so no child ever shares (or closes) the parent's session: Ruby
Resque's "MySQL server has gone away" cannot happen.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any

import django
from django.apps import apps
from django.conf import settings
from django.db import connections

from ...errors import ConfigurationError
from ...worker import Worker


def setup_django() -> None:
    """Run ``django.setup()`` once; require settings to be findable."""
    if apps.ready:
        return
    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        raise ConfigurationError(
            "no Django settings: set DJANGO_SETTINGS_MODULE (e.g. mysite.settings) "
            "or run the worker with `python manage.py resque_work`")
    django.setup()


def close_connections(*_: Any) -> None:
    """Close every database connection of this process (before a fork)."""
    connections.close_all()


def forget_inherited_connections(*_: Any) -> None:
    """In a forked child: drop inherited connections without touching their sessions.

    The socket is closed in this process first, so ``close()`` cannot
    send the server a goodbye that would end the parent's session.
    """
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is None:
            continue
        fileno = getattr(raw, "fileno", None)
        if callable(fileno):
            with contextlib.suppress(Exception):
                os.close(fileno())
        with contextlib.suppress(Exception):
            conn.close()
        conn.connection = None


def setup_resque_worker(worker: Worker) -> None:
    """Prepare a worker for a Django project (called by ``resque work -A``)."""
    setup_django()
    worker.client.registry.allow(*(f"{app.name}." for app in apps.get_app_configs()))
    worker.hooks.add("before_fork", close_connections)
    worker.hooks.add("after_fork", forget_inherited_connections)
