"""Pruning dead workers, as Ruby's ``Worker#prune_dead_workers`` does.

Two passes under a cluster-wide lock: workers whose heartbeat is older
than the prune interval (Redis clock), then registered workers on this
host whose pid is no longer a live Resque process. A pruned worker's job
becomes a failure record, or with ``requeue`` goes back to its queue head.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._compat import loads
from .errors import DirtyExit, PruneDeadWorkerDirtyExit
from .keys import PRUNE_INTERVAL, parse_time, parse_worker_id
from .payload import job_class, payload_bytes
from .workers import unregister_worker

if TYPE_CHECKING:
    from .client import Resque

logger = logging.getLogger(__name__)
_WORKER_TITLE = re.compile(r"resque:work|resque: Starting|resque-[0-9]")


def local_worker_pids() -> set[int]:
    """Return pids of processes on this host whose title marks a Resque worker."""
    pids: set[int] = set()
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if _WORKER_TITLE.search(cmd) and "resque-web" not in cmd:
                pids.add(int(entry.name))
        return pids
    out = subprocess.run(["ps", "-A", "-o", "pid,command"], capture_output=True, text=True).stdout
    for line in out.splitlines()[1:]:
        pid, _, cmd = line.strip().partition(" ")
        if pid.isdigit() and _WORKER_TITLE.search(cmd) and "resque-web" not in cmd:
            pids.add(int(pid))
    return pids


def _job_class(raw: bytes | None) -> str | None:
    try:
        record = loads(raw) if raw else None
    except ValueError:
        return None
    return job_class(record.get("payload")) if isinstance(record, dict) else None


def retire_worker(client: "Resque", wid: str, exc: BaseException, requeue: bool = False) -> None:
    """Unregister a dead worker; its job is failed with ``exc`` or requeued."""
    if requeue:
        raw = client.store.worker_job(wid)
        record = loads(raw) if raw else None
        if isinstance(record, dict) and isinstance(record.get("queue"), str) and "payload" in record:
            body = payload_bytes(record["payload"])
            if client.store.requeue_orphan(wid, raw or b"", record["queue"], body):
                logger.warning("Requeued job of dead worker %s onto %s", wid, record["queue"])
    unregister_worker(client, wid, exc)


def prune_dead_workers(client: "Resque", worker: Any = None, *, requeue: bool = False,
                       prune_interval: float = PRUNE_INTERVAL, lock_seconds: int = 60,
                       force: bool = False) -> list[str]:
    """Prune dead workers; return the ids removed.

    ``worker`` is the pruning worker (its id takes the lock and its queue
    list limits the local pass, as in Ruby); without one, or with
    ``force``, the lock is skipped and the local pass covers every queue.
    """
    store = client.store
    me = getattr(worker, "id", None)
    if not force and not store.acquire_prune_lock(me or "resque-prune", lock_seconds):
        return []
    pruned: list[str] = []
    now = store.server_time()
    for wid, stamp in store.heartbeats().items():
        seen = parse_time(stamp)
        if wid == me or seen is None or int(now - seen) <= prune_interval:
            continue
        try:
            parse_worker_id(wid)
        except ValueError:
            store.remove_heartbeat(wid)
            continue
        cls = _job_class(store.worker_job(wid))
        logger.info("Pruning dead worker %s (heartbeat %s)", wid, stamp)
        retire_worker(client, wid, PruneDeadWorkerDirtyExit(wid, cls), requeue)
        pruned.append(wid)
    mine = set(getattr(getattr(worker, "queue_list", None), "includes", ("*",)))
    host = socket.gethostname()
    alive = local_worker_pids() | {os.getpid()}
    for wid in store.worker_ids():
        if wid in pruned or wid == me:
            continue
        try:
            whost, pid, queues = parse_worker_id(wid)
        except ValueError:
            continue
        if "*" not in mine and set(queues) != mine:
            continue
        if whost != host or pid in alive:
            continue
        logger.info("Pruning dead worker %s (pid %d gone)", wid, pid)
        retire_worker(client, wid, DirtyExit("Job still being processed"), requeue)
        pruned.append(wid)
    return pruned
