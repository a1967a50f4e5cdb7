"""resque-scheduler 5's key names: nothing else in the plugin spells a key.

Names follow ``reference/scheduler-retry-protocol.md`` section 1; the
plugin's own additions (tick dedup, heartbeats) live outside ``delayed:``
so Ruby's readers never trip over them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..keys import Keys

DELAYED_PREFIX = "delayed:"
LOCK_NAME = "resque_scheduler_master_lock"


@dataclass(frozen=True)
class SchedulerKeys:
    """Build every key the scheduler plugin reads or writes."""

    base: Keys
    _timestamps: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_timestamps", self.base.key("timestamps:").encode("utf-8"))

    @property
    def schedule(self) -> str:
        """The sorted set of seconds that hold delayed items."""
        return self.base.key("delayed_queue_schedule")

    def bucket_name(self, member: str | int) -> str:
        """Return the un-prefixed bucket name ``delayed:<ts>`` (a set member)."""
        return DELAYED_PREFIX + str(member)

    def bucket(self, member: str | int) -> str:
        """Return the list key of one second's delayed items."""
        return self.base.key(self.bucket_name(member))

    def timestamps(self, item: bytes | str) -> bytes:
        """Return the set key naming the buckets that hold ``item`` (its exact bytes)."""
        return self._timestamps + (item.encode("utf-8") if isinstance(item, str) else item)

    @property
    def last_enqueued_at(self) -> str:
        return self.base.key(DELAYED_PREFIX + "last_enqueued_at")

    @property
    def persistent_schedules(self) -> str:
        return self.base.key("persistent_schedules")

    @property
    def schedules_changed(self) -> str:
        return self.base.key("schedules_changed")

    def master_lock(self, prefix: str = "") -> str:
        """Return the master lock key: the namespace appears twice, as in Ruby."""
        ns = self.base.namespace
        middle = f"{prefix}:" if prefix else ""
        return self.base.key(f"{ns}:{middle}{LOCK_NAME}" if ns else middle + LOCK_NAME)

    @property
    def fired(self) -> str:
        """Hash: schedule name -> epoch of the last occurrence fired (tick dedup)."""
        return self.base.key("scheduler:fired")

    @property
    def heartbeats(self) -> str:
        """Hash: scheduler id -> JSON status, refreshed every loop."""
        return self.base.key("scheduler:heartbeats")

    @property
    def failed(self) -> str:
        """The core failure list, where unusable delayed items are set aside."""
        return self.base.failed

    @property
    def queues(self) -> str:
        return self.base.queues

    def queue(self, name: str) -> str:
        return self.base.queue(name)
