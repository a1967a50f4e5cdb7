"""Removing a worker's registration, failing the job it still held."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ._compat import loads
from .errors import DirtyExit
from .job import Job

if TYPE_CHECKING:
    from .client import Resque

logger = logging.getLogger(__name__)


def unregister_worker(client: "Resque", worker_id: str, exc: BaseException | None = None) -> bool:
    """Unregister ``worker_id`` as Ruby does; fail a job it still held.

    The failure is ``exc``, or ``DirtyExit("Job still being processed")``;
    failure hooks run here. Return True if a job was failed.
    """
    raw = client.store.worker_job(worker_id)
    failed = False
    if raw:
        try:
            record = loads(raw)
        except ValueError:
            record = {"queue": None, "payload": raw.decode("utf-8", "replace")}
        if isinstance(record, dict) and record:
            job = Job(str(record.get("queue") or ""), record.get("payload"))
            try:
                job.fail(exc or DirtyExit("Job still being processed"), client.registry,
                         client.failure, worker_id)
                failed = True
            except Exception:  # noqa: BLE001 - a failure hook must not stop unregistration
                logger.exception("Failure hooks of %r raised while unregistering %s", job, worker_id)
                failed = True
    client.store.unregister_worker(worker_id)
    return failed
