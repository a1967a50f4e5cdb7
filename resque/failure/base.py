"""The failure backend contract and Ruby's failure record format."""
from __future__ import annotations

import hashlib
import os
import traceback
from dataclasses import dataclass
from typing import Any, Iterator

from .._compat import dumps, loads
from ..errors import exception_name
from ..keys import failed_at
from ..payload import job_args, job_class

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def backtrace_lines(exc: BaseException) -> list[str]:
    """Return Ruby-style frames, innermost first, without resque's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f"{f.filename}:{f.lineno}:in `{f.name}'" for f in reversed(frames)
             if not f.filename.startswith(_PKG)]
    return lines


def build_record(exc: BaseException, worker: str, queue: str, payload: Any,
                 now: float | None = None) -> bytes:
    """Encode a failure record with Ruby's members, in Ruby's order."""
    return dumps({
        "failed_at": failed_at(now),
        "payload": payload,
        "exception": exception_name(exc),
        "error": str(exc) or exception_name(exc),
        "backtrace": backtrace_lines(exc),
        "worker": worker or "",
        "queue": queue,
    })


def digest(raw: bytes) -> str:
    """Return the stable id of a record: the SHA-1 of its bytes."""
    return hashlib.sha1(raw).hexdigest()


@dataclass(frozen=True)
class Failure:
    """One failure record as read: where it was, its bytes and its fields."""

    list_name: str
    index: int
    raw: bytes

    @property
    def id(self) -> str:
        """A short id that survives other records being added or removed."""
        return digest(self.raw)[:12]

    @property
    def data(self) -> dict[str, Any]:
        try:
            value = loads(self.raw)
        except ValueError:
            return {"payload": self.raw.decode("utf-8", "replace"), "exception": "unreadable"}
        return value if isinstance(value, dict) else {"payload": value}

    @property
    def payload(self) -> Any:
        return self.data.get("payload")

    @property
    def job_class(self) -> str | None:
        return job_class(self.payload)

    @property
    def args(self) -> list[Any]:
        return job_args(self.payload)

    @property
    def queue(self) -> str | None:
        q = self.data.get("queue")
        return q if isinstance(q, str) else None


class FailureBackend:
    """Base of every backend; records go through ``save``.

    ``queue`` arguments name a failure *list* (``failed`` or
    ``<queue>_failed``), as in Ruby; ``None`` means the backend's default.
    """

    def save(self, record: bytes, queue: str) -> None:
        raise NotImplementedError

    def record(self, exc: BaseException, worker: str, queue: str, payload: Any) -> bytes:
        """Build and save a record for ``exc``; return its bytes."""
        raw = build_record(exc, worker, queue, payload)
        self.report(exc, raw, queue)
        return raw

    def report(self, exc: BaseException, record: bytes, queue: str) -> None:
        """Save ``record``, built for ``exc``; override to see the exception itself."""
        self.save(record, queue)

    def count(self, queue: str | None = None, class_name: str | None = None) -> int:
        return 0

    def queues(self) -> list[str]:
        return []

    def all(self, offset: int = 0, limit: int = 1, queue: str | None = None) -> list[Failure]:
        return []

    def each(self, offset: int = 0, limit: int | None = None, queue: str | None = None,
             class_name: str | None = None, order: str = "desc") -> Iterator[Failure]:
        return iter(())

    def find(self, failure_id: str, queue: str | None = None) -> Failure | None:
        return None

    def clear(self, queue: str | None = None) -> int:
        return 0

    def requeue(self, failure: Failure | int | str, queue: str | None = None) -> str | None:
        """Retry one failure; return its ``retried_at`` text, or None."""
        return None

    def remove(self, failure: Failure | int | str, queue: str | None = None) -> bool:
        return False

    def requeue_all(self) -> int:
        return 0

    def requeue_queue(self, job_queue: str) -> int:
        return 0

    def requeue_class(self, class_name: str) -> int:
        return 0

    def remove_queue(self, job_queue: str) -> int:
        return 0

    def clear_retried(self) -> int:
        removed = 0
        for failure in list(self.each(0, None)):
            if "retried_at" in failure.data and self.remove(failure):
                removed += 1
        return removed

    def url(self) -> str | None:
        return None
