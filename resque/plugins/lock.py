"""Job locks: unique while queued, one at a time while running.

Keys follow resque-lock-timeout: ``lock:<Class>:<id>`` is held while a
job runs and ``loner:lock:<Class>:<id>`` while it waits in a queue, where
``<id>`` is Ruby's ``args.join('-')`` (or ``key(*args)``). A lock's value
starts with the epoch second it expires at, as resque-lock-timeout writes
and reads it, followed by its holder (``<host>:<pid>``); every lock also
has a Redis TTL, so a crash never leaves a job locked for longer.

A lock is released on every way out: by the job's own process after
``perform`` (success or exception, a timeout raised inside the job
included), and when that process died (killed, timed out and killed,
its worker killed and pruned) by the worker or pruner that records the
failure, if the holder is a dead process of this host; otherwise its
TTL ends it.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any, Callable

from ..client import Resque, get_client
from ..registry import JobSpec
from ..scheduler import push_delayed
from .context import current_queue, plugin_store
from .ruby import join
from .store import PluginStore

logger = logging.getLogger(__name__)

ACTIONS = ("requeue", "drop", "wait")
PENDING_TTL = 30  # seconds a queued lock lives until its enqueue is confirmed
_POLL = 0.1


def holder() -> str:
    """Return this process's holder name: ``<host>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(value: str | None) -> bool:
    """Tell whether a lock value names a process of this host that is gone."""
    if not value or " " not in value:
        return False
    host, _, pid = value.split(" ", 1)[1].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lock:
    """Lock a job (job option ``lock=``): one copy at a time, and/or one queued.

    ``running`` (default True): a copy that finds the job running elsewhere
    does ``on_locked``: ``"requeue"`` (default: back through the delayed
    queue after ``requeue_delay`` seconds), ``"drop"``, or ``"wait"`` (poll
    up to ``wait`` seconds, then requeue). ``queued`` (default False):
    enqueueing a job while an identical one is queued is a no-op: the
    enqueue returns None and logs why. ``ttl`` bounds how long a running
    lock lives (make it longer than the job's time limit), ``queued_ttl``
    how long a queued one does. ``key(*args)`` replaces Ruby's
    ``args.join('-')`` as the lock identifier. ``client``: default
    ``resque.get_client()``.
    """

    def __init__(self, running: bool = True, queued: bool = False, on_locked: str = "requeue",
                 requeue_delay: float = 5.0, wait: float = 0.0, ttl: int = 3600,
                 queued_ttl: int = 86400, key: Callable[..., str | None] | None = None,
                 client: Resque | None = None):
        if on_locked not in ACTIONS:
            raise ValueError(f"on_locked={on_locked!r}: use one of {', '.join(ACTIONS)}")
        if not running and not queued:
            raise ValueError("a Lock with neither running nor queued locks nothing")
        self.running, self.queued = running, queued
        self.on_locked = on_locked
        self.requeue_delay, self.wait = requeue_delay, wait
        self.ttl, self.queued_ttl = int(ttl), int(queued_ttl)
        self.key = key
        self.client = client

    def attach(self, spec: JobSpec) -> None:
        """Add the lock hooks to a job (``@resque.job(lock=Lock(...))``)."""
        if self.queued:
            spec.add_hook("before_enqueue", lambda *args: self.before_enqueue(spec, list(args)))
            spec.add_hook("after_enqueue", lambda *args: self.after_enqueue(spec, list(args)))
        spec.add_hook("around_perform",
                      lambda *args: self.around_perform(spec, list(args[:-1]), args[-1]), first=True)
        if self.running:
            spec.add_hook("on_failure", lambda exc, *args: self.on_failure(spec, exc, list(args)))

    def identifier(self, args: list[Any]) -> str | None:
        """Return the lock identifier of a job's arguments (Ruby's ``args.join('-')``)."""
        return self.key(*args) if self.key else join(args)

    def _store(self) -> tuple[Resque, PluginStore]:
        client = self.client or get_client()
        return client, plugin_store(client)

    # -- queued -------------------------------------------------------------------

    def before_enqueue(self, spec: JobSpec, args: list[Any]) -> bool:
        """Take the queued lock; False (no enqueue) when an identical job is queued."""
        client, store = self._store()
        if client.inline:
            return True
        key = store.keys.loner(spec.name, self.identifier(args))
        now = int(time.time())
        value = f"{now + self.queued_ttl} {holder()}"
        if store.take_lock(key, now, value, min(PENDING_TTL, self.queued_ttl)):
            return True
        logger.info("Not enqueued: an identical %s job is already queued (lock %s)", spec.name, key)
        return False

    def after_enqueue(self, spec: JobSpec, args: list[Any]) -> None:
        """Keep the queued lock for its whole TTL now that the job is queued."""
        client, store = self._store()
        if not client.inline:
            store.extend_lock(store.keys.loner(spec.name, self.identifier(args)), self.queued_ttl)

    # -- running ----------------------------------------------------------------------

    def around_perform(self, spec: JobSpec, args: list[Any], proceed: Callable[[], Any]) -> None:
        """Hold the running lock around perform; drop the queued lock as the job starts."""
        client, store = self._store()
        if client.inline:
            proceed()
            return
        ident = self.identifier(args)
        loner = store.keys.loner(spec.name, ident) if self.queued else None
        if not self.running:
            if loner is not None:
                store.drop_lock(loner)
            proceed()
            return
        key = store.keys.lock(spec.name, ident)
        value = self._take(store, key, loner)
        if value is None:
            self._locked_out(client, spec, args, key)
            return
        try:
            proceed()
        finally:
            if not store.release_lock(key, value):
                logger.warning("Lock %s of %s had expired before the job ended (ttl %ds)",
                               key, spec.name, self.ttl)

    def _take(self, store: PluginStore, key: str, loner: str | None) -> str | None:
        """Take the running lock, waiting up to ``wait`` seconds if asked; its value or None."""
        me = holder()
        deadline = time.monotonic() + (self.wait if self.on_locked == "wait" else 0.0)
        while True:
            now = int(time.time())
            value = f"{now + self.ttl} {me}"
            if store.take_lock(key, now, value, self.ttl, me, loner):
                return value
            loner = None  # dropped by the first try
            if time.monotonic() >= deadline:
                return None
            time.sleep(_POLL)

    def _locked_out(self, client: Resque, spec: JobSpec, args: list[Any], key: str) -> None:
        """Skip this copy (perform is not called): drop it, or requeue it for later."""
        if self.on_locked == "drop":
            logger.info("Dropped %s: it is already running (lock %s)", spec.name, key)
            return
        queue = client.registry.queue_for(spec, spec.queue or current_queue())
        push_delayed(client, time.time() + self.requeue_delay, queue, spec.name, args)
        logger.info("Requeued %s in %.0fs: it is already running (lock %s)",
                    spec.name, self.requeue_delay, key)

    def on_failure(self, spec: JobSpec, exc: BaseException, args: list[Any]) -> None:
        """Release a running lock left behind: by a dead process, or by this one.

        The job's process releases its lock on its way out of perform; a
        lock is left when that process died (killed, killed at its time
        limit, its worker killed: released here if the holder is a dead
        process of this host) or when a failure struck between taking the
        lock and perform.
        """
        client, store = self._store()
        if client.inline:
            return
        key = store.keys.lock(spec.name, self.identifier(args))
        value = store.lock_value(key)
        if value is None:
            return
        mine = value.endswith(" " + holder())
        if (mine or holder_is_dead(value)) and store.release_lock(key, value):
            logger.info("Released lock %s of %s (%s)", key, spec.name,
                        "left by this process" if mine else "its holder died")
