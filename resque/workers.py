"""Removing a worker's registration, failing the job it still held."""
from __future__ import annotations

import logging
import os
import signal
import socket
from typing import TYPE_CHECKING, Callable

from ._compat import loads
from .errors import DirtyExit, ResqueError
from .job import Job
from .keys import parse_worker_id

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


def _registered(client: "Resque", worker_id: str) -> tuple[str, int]:
    """Return (host, pid) of a registered worker, or raise ``ResqueError``."""
    if not client.store.worker_exists(worker_id):
        raise ResqueError(f"no worker {worker_id!r} is registered")
    try:
        host, pid, _ = parse_worker_id(worker_id)
    except ValueError as exc:
        raise ResqueError(str(exc)) from None
    return host, pid


def remove_worker(client: "Resque", worker_id: str) -> bool:
    """Unregister a registered worker, as ``bin/resque remove`` does.

    Raise ``ResqueError`` if no such worker is registered. Return True if
    the job it held was recorded as a ``DirtyExit`` failure.
    """
    _registered(client, worker_id)
    return unregister_worker(client, worker_id)


def kill_worker(client: "Resque", worker_id: str, sig: int = signal.SIGKILL,
                is_worker: Callable[[int], bool] | None = None) -> bool:
    """Send ``sig`` to a worker of this host, then unregister it.

    As ``bin/resque kill``: only a worker whose id names this host can be
    signalled. With ``is_worker``, a live pid it rejects (a reused pid of
    a stale registration) is not signalled. Raise ``ResqueError`` for an
    unknown, remote or rejected worker. Return False if its process was
    already gone (it is removed anyway).
    """
    host, pid = _registered(client, worker_id)
    if host != socket.gethostname():
        raise ResqueError(f"worker {worker_id!r} runs on {host}, not on this host; cannot kill it")
    if pid <= 1 or pid == os.getpid():
        raise ResqueError(f"refusing to signal pid {pid} of worker {worker_id!r}")
    try:
        os.kill(pid, 0)  # is it there at all?
        if is_worker is not None and not is_worker(pid):
            raise ResqueError(f"pid {pid} of {worker_id!r} is not a resque worker (a reused pid?); "
                              "not signalled")
        os.kill(pid, sig)
        alive = True
    except ProcessLookupError:
        alive = False
    except PermissionError:
        raise ResqueError(f"not permitted to signal pid {pid} of worker {worker_id!r}") from None
    unregister_worker(client, worker_id)
    return alive

