"""Tasks of the test project, defined with Django's ``@task``."""
from __future__ import annotations

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task

from asgiref.sync import sync_to_async

import resque

from .db import record


@task(queue_name="mail")
def send_receipt(order_id: int, *, copy_to: str | None = None) -> None:
    record("receipt", f"{order_id}:{copy_to}")


@task(takes_context=True)
def with_context(context, n: int) -> None:  # type: ignore[no-untyped-def]
    record("context", f"{context.task_result.id}:{context.attempt}:{n}")


@task()
async def async_ping(n: int) -> None:
    await sync_to_async(record)("async", n)


@task()
def explode(n: int) -> None:
    raise ValueError(f"exploded {n}")


@resque.job(queue="probe")
def probe(n: int) -> None:
    """A plain resque job that notes whether it found a database connection open."""
    record("probe", n)
