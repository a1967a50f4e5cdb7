"""What Redis shows of a registered worker: ``WorkerInfo`` and Ruby's ``info`` fields."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any, Sequence

from ._compat import loads
from .keys import parse_worker_id
from .preview import Cut, decode_cut
from .replies import Corrupt, text


@dataclass
class WorkerInfo:
    """A registered worker as Redis shows it."""

    id: str
    host: str
    pid: int
    queues: list[str]
    job: dict[str, Any] | None = None
    started: str | None = None
    heartbeat: str | None = None
    processed: int | Corrupt = 0
    failed: int | Corrupt = 0
    job_size: int = 0
    job_cut: bool = False

    @property
    def state(self) -> str:
        return "working" if self.job else "idle"

    @property
    def local(self) -> bool:
        return self.host == socket.gethostname()


def decode_record(raw: bytes | None) -> dict[str, Any] | None:
    """Decode a worker's job record; text that is not JSON is kept as the payload."""
    if not raw:
        return None
    try:
        value = loads(raw)
    except ValueError:
        return {"queue": None, "payload": text(raw)}
    return value if isinstance(value, dict) else None


def decode_record_cut(cut: Cut | None) -> dict[str, Any] | None:
    """Decode a worker's job record read cut in Redis (``Store.worker_job_cuts``)."""
    if cut is None:
        return None
    value, _ = decode_cut(cut)
    if isinstance(value, str):
        return {"queue": None, "payload": value}
    return value if isinstance(value, dict) else None


def worker_infos(ids: Sequence[str],
                 records: Sequence[tuple[dict[str, Any] | None, int, bool]]) -> list[WorkerInfo]:
    """Pair worker ids with (record, size, cut); skip ids that do not parse."""
    out = []
    for wid, (record, size, cut) in zip(ids, records):
        try:
            host, pid, queues = parse_worker_id(wid)
        except ValueError:
            continue
        out.append(WorkerInfo(wid, host, pid, queues, record, job_size=size, job_cut=cut))
    return out


def info_fields(sizes: dict[str, int], processed: Any, workers: Sequence[WorkerInfo],
                failed: int, redis_id: str) -> dict[str, Any]:
    """Assemble Ruby's ``Resque.info`` fields."""
    return {
        "pending": sum(sizes.values()),
        "processed": processed,
        "queues": len(sizes),
        "workers": len(workers),
        "working": sum(1 for w in workers if w.job),
        "failed": failed,
        "servers": [redis_id],
        "environment": os.environ.get("RAILS_ENV") or os.environ.get("RACK_ENV") or "development",
    }
