"""A worker's heartbeat thread: beat, re-register if pruned, prune dead workers.

Every ``heartbeat_interval`` seconds (60 by default, as in Ruby) the thread
writes the worker's heartbeat (Redis clock) and checks that the worker is
still registered: a live worker pruned by another after a Redis outage or
a network partition longer than the prune interval registers again and
says so. Then it prunes dead workers (``prune.py``; the lock is taken only
when there is something to prune). After a failed beat it tries again
within seconds, so heartbeats resume soon after Redis is back.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from .connection import clone_client
from .keys import heartbeat_at
from .store import Store

logger = logging.getLogger(__name__)
RETRY_AFTER_FAILURE = 2.0


class Heartbeat(threading.Thread):
    """The heartbeat thread of one worker, on its own Redis connection."""

    def __init__(self, store: Store, worker_id: str, started: str, interval: float,
                 prune: Callable[[], Any]):
        super().__init__(name="resque-heartbeat", daemon=True)
        self.store = Store(clone_client(store.redis), store.keys)
        self.worker_id = worker_id
        self.started = started
        self.interval = interval
        self.prune = prune
        self.registered = False  # set once the worker has registered itself
        self._halt = threading.Event()

    def beat(self) -> None:
        """Write one heartbeat; register again if the worker was pruned."""
        listed = self.store.heartbeat(self.worker_id, heartbeat_at(self.store.server_time()))
        if not listed and self.registered and not self._halt.is_set():
            logger.warning("Worker %s was pruned as dead while alive (its heartbeat went stale, "
                           "Redis unreachable?); registering it again", self.worker_id)
            self.store.register_worker(self.worker_id, self.started)

    def run(self) -> None:
        delay = self.interval
        while not self._halt.wait(delay):
            try:
                self.beat()
                self.prune()
                delay = self.interval
            except Exception:  # noqa: BLE001 - the heartbeat must outlive any error
                logger.warning("Heartbeat failed", exc_info=True)
                delay = min(self.interval, RETRY_AFTER_FAILURE)

    def stop(self, wait: float = 5.0) -> None:
        """Stop beating; wait up to ``wait`` seconds for a beat in progress."""
        self._halt.set()
        if self.is_alive() and self is not threading.current_thread():
            self.join(wait)
