"""Gather plain data for the pages and the JSON API from a client.

Everything returned here is made of dicts, lists, strings and numbers, so
the same value feeds a template and ``/api/...``. Records written by Ruby
Resque and by this library are read alike; odd records degrade to text.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from .._compat import dumps
from ..client import Resque
from ..worker_info import WorkerInfo
from ..failure import Failure, FailureBackend, MultipleFailure, RedisFailure
from ..failure.base import digest, not_a_job, shown_bytes
from ..keys import parse_time
from ..payload import job_args, job_class, retry_bytes
from ..preview import Cut, decode_cut
from ..store import Store
from ..replies import Corrupt

ACTIVEJOB_WRAPPER = "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"
PER_PAGE = 20
JOB_BYTES = 4096  # of a job or worker record read for a page (Redis cuts the rest)
STALE_HEARTBEAT = 300


def display_class(payload: Any) -> tuple[str, bool]:
    """Return the class to show for a payload and whether ActiveJob wraps it."""
    name = job_class(payload)
    if name == ACTIVEJOB_WRAPPER:
        args = job_args(payload)
        inner = args[0].get("job_class") if args and isinstance(args[0], dict) else None
        if isinstance(inner, str):
            return inner, True
    return name or "(unknown)", False


def arg_text(value: Any) -> str:
    """Render one job argument as compact JSON text."""
    try:
        return dumps(value).decode("utf-8")
    except (TypeError, ValueError):
        return repr(value)


def filesize(n: int) -> str:
    """Say how big ``n`` bytes is: ``812 B``, ``4.0 KB``, ``50.0 MB``."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def age(seconds: float | None) -> str | None:
    """Say how long ``seconds`` is, coarsely: ``3m 12s``, ``2h 5m``, ``4d 1h``."""
    if seconds is None:
        return None
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def since(stamp: Any, now: float) -> float | None:
    """Return seconds elapsed since a protocol time string, or None."""
    if not isinstance(stamp, str):
        return None
    ts = parse_time(stamp)
    return None if ts is None else now - ts


def job_view(payload: Any, size: int = 0, cut: bool = False) -> dict[str, Any]:
    """Describe a payload: shown class, raw class, arguments, and if it was cut."""
    name, via = display_class(payload)
    odd = not_a_job(payload)
    return {
        "class": name,
        "via_activejob": via,
        "raw_class": job_class(payload),
        "args": job_args(payload) if isinstance(payload, dict) else [payload],
        "size": size, "cut": cut,
        "not_a_job": odd, "original": shown_bytes(retry_bytes(payload)) if odd else None,
    }


def stamp(value: str | None) -> str | None:
    """Return a protocol time as is, or as ``Corrupt`` when it cannot be read."""
    if value is None or isinstance(value, Corrupt) or parse_time(value) is not None:
        return value
    return Corrupt(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


# -- queues -----------------------------------------------------------------

def failed_lists(client: Resque) -> tuple[list[dict[str, Any]], bool]:
    """Return the failure lists with counts, and whether there are several."""
    backend = client.failure
    names = backend.queues()
    multi = bool(getattr(backend, "multi_queue", False)) or len(names) > 1
    rows = [{"list": n, "count": backend.count(n)} for n in sorted(names)]
    return rows, multi


def queue_rows(client: Resque) -> list[dict[str, Any]]:
    return [{"name": q, "size": n} for q, n in sorted(client.queue_sizes().items())]


def queues_summary(client: Resque) -> dict[str, Any]:
    """Return the queue table with its failure rows."""
    rows, multi = failed_lists(client)
    return {"queues": queue_rows(client), "failed_lists": rows, "failed_multi": multi,
            "failed_total": sum(r["count"] for r in rows)}


def queue_jobs(client: Resque, queue: str, start: int, per_page: int = PER_PAGE) -> dict[str, Any]:
    """Return one page of a queue's pending jobs."""
    size = client.size(queue)
    cuts = client.store.queue_cuts(queue, start, per_page, JOB_BYTES)
    jobs = [dict(job_view(decode_cut(c)[0], c.size, not c.whole), position=start + i)
            for i, c in enumerate(cuts)]
    return {"queue": queue, "size": size, "registered": queue in client.queues(),
            "jobs": jobs, "page": pager(start, per_page, size, len(jobs))}


def pager(start: int, per_page: int, total: int | None, shown: int,
          more: bool | None = None) -> dict[str, Any]:
    """Describe a page window for the pager macro."""
    has_next = (start + shown < total) if total is not None else bool(more)
    return {
        "start": start, "end": start + shown - 1, "shown": shown, "total": total,
        "per_page": per_page,
        "prev": max(0, start - per_page) if start > 0 else None,
        "next": start + per_page if has_next else None,
        "last": ((total - 1) // per_page) * per_page if total and has_next else None,
    }


# -- workers ----------------------------------------------------------------

def worker_row(w: WorkerInfo, now: float) -> dict[str, Any]:
    """Describe a worker and the job it holds."""
    record = w.job or {}
    payload = record.get("payload")
    run_at = record.get("run_at")
    running = since(run_at, now)
    beat = since(w.heartbeat, now)
    return {
        "id": w.id, "host": w.host, "pid": w.pid, "queues": w.queues, "state": w.state,
        "label": f"{w.host}:{w.pid}",
        "queue": _text(record.get("queue")) if w.job else None,
        "run_at": _text(run_at) if w.job else None,
        "running_seconds": None if running is None else int(running),
        "running_for": age(running),
        "job": job_view(payload, w.job_size, w.job_cut) if w.job else None,
        "started": stamp(w.started), "heartbeat": stamp(w.heartbeat),
        "heartbeat_age": age(beat), "stale": beat is not None and beat > STALE_HEARTBEAT,
        "processed": w.processed, "failed": w.failed,
    }


def working_rows(client: Resque, now: float | None = None) -> dict[str, Any]:
    """Return the busy workers (oldest job first) and the worker total."""
    now = time.time() if now is None else now
    workers = client.workers(job_bytes=JOB_BYTES)
    busy = sorted((w for w in workers if w.job),
                  key=lambda w: _text((w.job or {}).get("run_at")))
    limits = client.job_limits(busy)
    return {"working": [with_limit(worker_row(w, now), limits.get(w.id)) for w in busy],
            "workers_total": len(workers)}


def with_limit(row: dict[str, Any], limit: float | None) -> dict[str, Any]:
    """Add the time limit of the row's job: seconds, text, and whether it is past it."""
    running = row.get("running_seconds")
    row["limit"] = limit
    row["limit_text"] = age(limit) if limit else None
    row["over_limit"] = bool(limit and running is not None and running > limit)
    return row


def hosts(workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group workers by host: name, count and busy count."""
    out: dict[str, dict[str, Any]] = {}
    for w in workers:
        h = out.setdefault(w["host"], {"host": w["host"], "count": 0, "working": 0})
        h["count"] += 1
        h["working"] += w["state"] == "working"
    return [out[k] for k in sorted(out)]


# -- failures ---------------------------------------------------------------

@dataclass(frozen=True)
class CutFailure:
    """A failure record read as its head and tail (see ``resque.preview``).

    ``id`` is the record's usual id (SHA-1 of its bytes) when it was read
    whole, else the SHA-1 of its size, head and tail.
    """

    list_name: str
    index: int
    piece: Cut

    @property
    def id(self) -> str:
        if self.piece.whole:
            return digest(self.piece.head)[:12]
        p = self.piece
        return hashlib.sha1(b"%d:" % p.size + p.head + b"\0" + p.tail).hexdigest()[:12]

    @property
    def data(self) -> dict[str, Any]:
        value, _ = decode_cut(self.piece)
        if isinstance(value, dict):
            return value
        return {"payload": value, "exception": "unreadable"} if isinstance(value, str) \
            else {"payload": value}


Record = Failure | CutFailure
HEAD, TAIL = 4096, 2048  # bytes of a failure record read to show it


def store_of(backend: FailureBackend) -> Store | None:
    """Return the store of a Redis-list backend (or of the one it reads from)."""
    if isinstance(backend, MultipleFailure):
        backend = backend.first
    return backend.store if isinstance(backend, RedisFailure) else None


def read(backend: FailureBackend, name: str, lo: int, count: int,
         head: int = HEAD, tail: int = TAIL) -> list[Record]:
    """Return records ``lo`` .. ``lo + count - 1`` of a list, cut by Redis if big."""
    store = store_of(backend)
    if store is None:
        return list(backend.all(lo, count, name))
    cuts = store.failure_cuts(name, lo, count, head, tail)
    return [CutFailure(name, lo + i, c) for i, c in enumerate(cuts)]


def failure_row(f: Failure | CutFailure, now: float) -> dict[str, Any]:
    """Describe one failure record, tolerating any shape."""
    d = f.data
    if isinstance(f, CutFailure):
        size, cut = f.piece.size, not f.piece.whole
    else:
        size, cut = len(f.raw), False
    worker = _text(d.get("worker"))
    trace = d.get("backtrace")
    if isinstance(trace, str):
        trace = trace.splitlines()
    elif not isinstance(trace, list):
        trace = []
    failed_at = d.get("failed_at")
    return {
        "id": f.id, "index": f.index, "list": f.list_name,
        "failed_at": _text(failed_at), "failed_ago": age(since(failed_at, now)),
        "retried_at": _text(d["retried_at"]) if d.get("retried_at") is not None else None,
        "worker": worker, "worker_label": ":".join(worker.split(":")[:2]),
        "queue": _text(d.get("queue")),
        "job": job_view(d.get("payload"), size, cut),
        "exception": _text(d.get("exception")), "error": _text(d.get("error")),
        "backtrace": [_text(x) for x in trace],
    }


def record_matches(f: Failure, class_name: str | None, queue: str | None) -> bool:
    """Say whether a record's row would pass the filters (without building the row)."""
    d = f.data
    payload = d.get("payload")
    job = {"class": display_class(payload)[0], "raw_class": job_class(payload)}
    return matches({"job": job, "queue": _text(d.get("queue"))}, class_name, queue)


def matches(row: dict[str, Any], class_name: str | None, queue: str | None) -> bool:
    """Say whether a failure row passes the class and job-queue filters."""
    if class_name is not None and class_name not in (row["job"]["class"], row["job"]["raw_class"]):
        return False
    return queue is None or row["queue"] == queue


def oldest_failure_age(client: Resque, now: float | None = None) -> float:
    """Return the age in seconds of the oldest failure record (0 if none)."""
    now = time.time() if now is None else now
    oldest = 0.0
    for name in client.failure.queues():
        first = read(client.failure, name, 0, 1, 1024, 0)
        if first:
            seconds = since(first[0].data.get("failed_at"), now)
            oldest = max(oldest, seconds or 0.0)
    return oldest
