"""Ruby Resque's key names and time formats: the protocol's vocabulary.

Nothing else in the library spells a key. Names follow
``reference/resque-protocol.md`` section 2 exactly.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .zones import zone_offset

__version__ = "0.1.0"
DEFAULT_NAMESPACE = "resque"
FAILED_SUFFIX = "_failed"
HEARTBEAT_INTERVAL = 60
PRUNE_INTERVAL = 300
ORPHAN_LIMIT = 3  # the third time a job's worker dies holding it, the job fails
ORPHAN_COUNT_TTL = 86400  # seconds an orphan count outlives its last increment
# Job run-time histogram: upper bounds in seconds (a last bucket takes the rest),
# and the most classes kept (further ones are counted as TIMING_OTHER).
TIMING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                  300.0)
TIMING_CLASS_CAP = 100
TIMING_OTHER = "(other)"


@dataclass(frozen=True)
class Keys:
    """Build every namespaced key used by Resque."""

    namespace: str = DEFAULT_NAMESPACE
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", f"{self.namespace}:" if self.namespace else "")

    def key(self, name: str) -> str:
        """Return ``name`` under the namespace (for arbitrary keys)."""
        return self.prefix + name

    def strip(self, full: str) -> str:
        """Remove the namespace prefix from a full key name."""
        return full[len(self.prefix):] if full.startswith(self.prefix) else full

    @property
    def queues(self) -> str:
        return self.prefix + "queues"

    def queue(self, name: str) -> str:
        return self.prefix + "queue:" + name

    @property
    def workers(self) -> str:
        return self.prefix + "workers"

    def worker(self, worker_id: str) -> str:
        return self.prefix + "worker:" + worker_id

    def worker_started(self, worker_id: str) -> str:
        return self.prefix + "worker:" + worker_id + ":started"

    @property
    def heartbeat(self) -> str:
        return self.prefix + "workers:heartbeat"

    def stat(self, name: str) -> str:
        return self.prefix + "stat:" + name

    @property
    def failed(self) -> str:
        return self.prefix + "failed"

    def failed_list(self, name: str) -> str:
        """Return a failure list key; ``name`` is ``failed`` or ``<queue>_failed``."""
        return self.prefix + name

    def failed_sweep(self, name: str) -> str:
        """Return where a sweep of a failure list keeps the records it walked."""
        return self.prefix + name + ":sweep"

    def failed_sweep_owner(self, name: str) -> str:
        """Return the key naming the run that sweeps a failure list."""
        return self.prefix + name + ":sweep:owner"

    @property
    def failed_queues(self) -> str:
        return self.prefix + "failed_queues"

    @property
    def prune_lock(self) -> str:
        return self.prefix + "pruning_dead_workers_in_progress"

    @property
    def pause_all(self) -> str:
        return self.prefix + "pause-all-workers"

    @property
    def web_secret(self) -> str:
        """The web app's CSRF signing secret, shared by all its processes."""
        return self.prefix + "web:csrf_secret"

    @property
    def requeued_orphans(self) -> str:
        """Counter of orphaned jobs pushed back by ``--requeue-orphans``."""
        return self.stat("requeued")

    def job_limit(self, worker_id: str) -> str:
        """The time limit of the job a worker runs (for display; expires by itself)."""
        return self.prefix + "timeout:" + worker_id

    def orphan_count(self, digest: str) -> str:
        """Return the key counting how often one job (by SHA-1 of its bytes) was orphaned."""
        return self.prefix + "orphaned:" + digest

    def history(self, series: str) -> str:
        """A chart's samples: a sorted set scored by sample time (``history:<series>``).

        Series: ``second``, ``minute`` and ``day`` (snapshots of
        ``stat:processed``/``stat:failed``), ``queues`` (queue sizes) and
        ``failures`` (new failure records per class).
        """
        return self.prefix + "history:" + series

    @property
    def history_claims(self) -> str:
        """Hash of the last period claimed per series, so one process samples it."""
        return self.prefix + "history:claimed"

    @property
    def timing(self) -> str:
        """Hash of job run times: ``count|<class>``, ``sum|<class>``, ``<bucket>|<class>``."""
        return self.prefix + "timing"

    @property
    def timing_classes(self) -> str:
        """Set of the job classes whose run times are kept (at most ``TIMING_CLASS_CAP``)."""
        return self.prefix + "timing:classes"

    @property
    def history_failure_cursor(self) -> str:
        """Hash of each failure list's length at the last failures sample."""
        return self.prefix + "history:failure_cursor"


def failed_list_name(queue: str) -> str:
    """Return the RedisMultiQueue list name for a job queue."""
    return queue + FAILED_SUFFIX


def processed_stat(worker_id: str | None = None) -> str:
    """Return the stat name for processed jobs, global or per worker."""
    return "processed" if worker_id is None else "processed:" + worker_id


def failed_stat(worker_id: str | None = None) -> str:
    """Return the stat name for failed jobs, global or per worker."""
    return "failed" if worker_id is None else "failed:" + worker_id


# -- time formats ---------------------------------------------------------

def _local(ts: float | None) -> datetime:
    return datetime.fromtimestamp(time.time() if ts is None else ts).astimezone()


def failed_at(ts: float | None = None, zone: bool = True) -> str:
    """Format ``failed_at``/``retried_at``: ``2024/05/01 12:34:56 UTC``."""
    t = _local(ts)
    text = t.strftime("%Y/%m/%d %H:%M:%S")
    if not zone:
        return text
    name = t.tzname() or t.strftime("%z")
    return f"{text} {name}"


def run_at(ts: float | None = None) -> str:
    """Format a job's ``run_at``: UTC ISO 8601 to the second with ``Z``."""
    t = datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def started_at(ts: float | None = None) -> str:
    """Format a worker's started time like Ruby ``Time#to_s``."""
    return _local(ts).strftime("%Y-%m-%d %H:%M:%S %z")


def heartbeat_at(ts: float) -> str:
    """Format a heartbeat like Ruby ``Time#iso8601``: ``...T12:34:56+00:00``."""
    t = datetime.fromtimestamp(int(ts)).astimezone()
    return t.isoformat(timespec="seconds")


def parse_time(text: str) -> float | None:
    """Parse any of the protocol's time formats to epoch seconds, or None.

    ``failed_at``'s zone may be an abbreviation (``CET``, ``IST``): it is
    read with Ruby's table, as Ruby's ``Time.parse`` reads it.
    """
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S %z"):
        try:
            return datetime.strptime(text.replace("Z", "+0000"), fmt).timestamp()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        pass
    parts = text.split()
    if len(parts) >= 2:
        try:
            base = datetime.strptime(" ".join(parts[:2]), "%Y/%m/%d %H:%M:%S")
        except ValueError:
            return None
        zone = " ".join(parts[2:])
        offset = zone_offset(zone) if zone else None
        if offset is None:  # no zone, or one Ruby does not know either: local time, as Ruby
            return base.astimezone().timestamp()
        return base.replace(tzinfo=timezone.utc).timestamp() - offset
    return None


def worker_id(host: str, pid: int, queues: str) -> str:
    """Build a worker id: ``host:pid:q1,q2``."""
    return f"{host}:{pid}:{queues}"


def parse_worker_id(wid: str) -> tuple[str, int, list[str]]:
    """Split a worker id on its first two colons: (host, pid, queues)."""
    parts = wid.split(":", 2)
    if len(parts) < 3 or not parts[1].lstrip("-").isdigit():
        raise ValueError(f"not a worker id: {wid!r}")
    return parts[0], int(parts[1]), parts[2].split(",")
