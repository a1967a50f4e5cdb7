"""The master lock shared with Ruby's resque-scheduler (reference section 4).

Key ``<ns>:<ns>:[<prefix>:]resque_scheduler_master_lock``, value
``<host>:<pid>``, TTL ``LOCK_TIMEOUT`` (180 s): the holder extends it on
every loop, anyone takes it once it has expired, so a Ruby and a Python
scheduler on one Redis elect one master between them.
"""
from __future__ import annotations

import os
import socket

from .store import SchedulerStore

DEFAULT_TIMEOUT = 180


def host_name() -> str:
    """Return the host part of the lock value as Ruby builds it (reverse-resolved)."""
    name = socket.gethostname()
    try:
        addr = socket.getaddrinfo(name, "http")[0][4]
        return socket.getnameinfo(addr, 0)[0]
    except (OSError, IndexError, UnicodeError):
        return name


def lock_value(pid: int | None = None) -> str:
    """Return this process's lock value: ``<host>:<pid>``."""
    return f"{host_name()}:{os.getpid() if pid is None else pid}"


class MasterLock:
    """Take, keep and give back the master lock for one process."""

    def __init__(self, store: SchedulerStore, prefix: str = "", timeout: int = DEFAULT_TIMEOUT,
                 value: str | None = None):
        self.store = store
        self.key = store.keys.master_lock(prefix)
        self.timeout = max(1, int(timeout))
        self.value = value or lock_value()

    def hold(self) -> bool:
        """Become master if the lock is free, stay master if it is ours (TTL renewed)."""
        return self.store.master(self.key, self.value, self.timeout)

    def release(self) -> bool:
        """Give the lock up if we still hold it (never another's)."""
        return self.store.release(self.key, self.value)

    def holder(self) -> str | None:
        """Return the current master's value, or None."""
        return self.store.lock_holder(self.key)
