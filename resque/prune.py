"""Pruning dead workers, as Ruby's ``Worker#prune_dead_workers`` does.

Two passes: workers whose heartbeat is older than the prune interval
(Redis clock), then registered workers on this host whose pid is no longer
a live Resque process. A pruned worker's job becomes a failure record, or
with ``requeue`` goes back to its queue head (at most ``orphan_limit - 1``
times for the same job: the death that reaches the limit fails it).

The cluster-wide lock is taken only when there is something to prune and
released right after, so a Ruby worker starting up still finds it free.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DirtyExit, PoisonJob, PruneDeadWorkerDirtyExit, WorkerChanged
from .keys import (HEARTBEAT_INTERVAL, ORPHAN_COUNT_TTL, ORPHAN_LIMIT, PRUNE_INTERVAL, parse_time,
                   parse_worker_id)
from .record import held_job
from .store import Store
from .workers import unregister_worker

if TYPE_CHECKING:
    from .client import Resque

logger = logging.getLogger(__name__)
_WORKER_TITLE = re.compile(r"resque:work|resque: Starting|resque-[0-9]")
Candidate = tuple[str, BaseException]


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


def retire_worker(client: "Resque", wid: str, exc: BaseException, requeue: bool = False,
                  orphan_limit: int = ORPHAN_LIMIT) -> None:
    """Unregister a dead worker; its job is failed with ``exc`` or requeued.

    Nothing that holds the only copy of the job is deleted before the job
    is requeued or its failure recorded; any error leaves the dead worker
    registered for the next prune.
    """
    store = client.store
    raw = store.worker_job(wid)
    held = held_job(raw) if raw and requeue else None
    if held is not None and held.queue:
        digest = hashlib.sha1(held.body).hexdigest()
        done = store.requeue_orphan(wid, raw or b"", held.queue, held.body, digest,
                                    max(orphan_limit, 0), ORPHAN_COUNT_TTL)
        if done < 0:
            logger.error("%s was running when %d workers died; failing it", held.name, -done)
            unregister_worker(client, wid, PoisonJob(wid, held.name, -done))
            store.forget_orphan(digest)
            return
        if done == 0:  # the record changed: handled by someone else, or the worker lives
            if not store.unregister_worker(wid, None):
                raise WorkerChanged(f"worker {wid} changed its job record while being pruned")
            return
        logger.warning("Requeued job of dead worker %s onto %s", wid, held.queue)
    unregister_worker(client, wid, exc)


def dead_workers(store: Store, me: str | None, queues: Any, *, prune_interval: float,
                 heartbeat_interval: float) -> list[Candidate]:
    """Return the workers to prune now, each with the failure its job gets.

    A same-host worker whose pid is gone is dead at once if its queue list
    is this worker's (or this worker serves ``*``), as in Ruby; with any
    other queue list, once its heartbeat is also missing or older than two
    heartbeat intervals (see ``docs/reliability.md``).
    """
    now = store.server_time()
    beats = store.heartbeats()
    found: list[Candidate] = []
    for wid, stamp in beats.items():
        seen = parse_time(stamp)
        if wid == me or seen is None or int(now - seen) <= prune_interval:
            continue
        try:
            parse_worker_id(wid)
        except ValueError:
            store.remove_heartbeat(wid)
            continue
        raw = store.worker_job(wid)
        found.append((wid, PruneDeadWorkerDirtyExit(wid, held_job(raw).name if raw else None)))
    expired = {wid for wid, _ in found}
    mine = set(queues)
    host = socket.gethostname()
    alive: set[int] | None = None
    for wid in store.worker_ids():
        try:
            whost, pid, wqueues = parse_worker_id(wid)
        except ValueError:
            continue
        if wid in expired or wid == me or whost != host:
            continue
        if "*" not in mine and set(wqueues) != mine:
            seen = parse_time(beats.get(wid, ""))
            if seen is not None and now - seen <= 2 * heartbeat_interval:
                continue
        if alive is None:
            alive = local_worker_pids() | {os.getpid()}
        if pid not in alive:
            found.append((wid, DirtyExit("Job still being processed")))
    return found


def prune_dead_workers(client: "Resque", worker: Any = None, *, requeue: bool = False,
                       prune_interval: float = PRUNE_INTERVAL, lock_seconds: int = 60,
                       force: bool = False, heartbeat_interval: float = HEARTBEAT_INTERVAL,
                       orphan_limit: int = ORPHAN_LIMIT) -> list[str]:
    """Prune dead workers; return the ids removed.

    ``worker`` is the pruning worker (its id takes the lock and its queue
    list decides which same-host workers it may prune at once); without
    one, or with ``force``, the lock is skipped and the local pass covers
    every queue. A worker that cannot be pruned now (a Redis error, a
    broken failure backend) is logged and left for the next prune.
    """
    store = client.store
    me = getattr(worker, "id", None)
    queues = getattr(getattr(worker, "queue_list", None), "includes", ("*",))
    limits = {"prune_interval": prune_interval, "heartbeat_interval": heartbeat_interval}
    if not dead_workers(store, me, queues, **limits):
        return []
    token = me or "resque-prune"
    if not force and not store.acquire_prune_lock(token, lock_seconds):
        return []
    try:
        pruned = []
        for wid, exc in dead_workers(store, me, queues, **limits):  # again, under the lock
            logger.info("Pruning dead worker %s (%s)", wid, exc)
            try:
                retire_worker(client, wid, exc, requeue, orphan_limit)
            except WorkerChanged as changed:
                logger.warning("Not pruning %s: %s", wid, changed)
                continue
            except Exception:  # noqa: BLE001 - one dead worker must not block the others
                logger.exception("Could not prune dead worker %s; it stays until the next prune", wid)
                continue
            pruned.append(wid)
        return pruned
    finally:
        if not force:
            try:
                store.release_prune_lock(token)
            except Exception:  # noqa: BLE001 - the lock expires by itself
                logger.warning("Could not release the prune lock", exc_info=True)
