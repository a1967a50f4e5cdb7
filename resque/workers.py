"""Removing a worker's registration, failing the job it still held."""
from __future__ import annotations

import os
import signal
import socket
from typing import TYPE_CHECKING, Callable

from .errors import DirtyExit, ResqueError, WorkerChanged
from .job import Job
from .keys import parse_worker_id
from .record import held_job

if TYPE_CHECKING:
    from .client import Resque


def unregister_worker(client: "Resque", worker_id: str, exc: BaseException | None = None) -> bool:
    """Unregister ``worker_id`` as Ruby does; fail a job it still held.

    The failure is ``exc``, or ``DirtyExit("Job still being processed")``;
    failure hooks run here. The worker's keys, its job record among them,
    are deleted only after the failure record is written and only if the
    job record did not change meanwhile (``WorkerChanged`` is raised then):
    an error writing the failure (Redis gone, a broken backend) propagates
    and leaves everything in place for the next try. Return True if a job
    was failed.
    """
    raw = client.store.worker_job(worker_id)
    failed = False
    if raw:
        held = held_job(raw)
        job = Job(held.queue, held.payload, held.raw)
        job.fail(exc or DirtyExit("Job still being processed"), client.registry, client.failure,
                 worker_id)
        failed = True
    if not client.store.unregister_worker(worker_id, raw):
        raise WorkerChanged(f"worker {worker_id} took another job while being unregistered; "
                            "it was left registered")
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

