"""The failure backend contract and Ruby's failure record format."""
from __future__ import annotations

import hashlib
import json
import os
import re
import traceback
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterator

from .._compat import dumps, loads
from ..errors import exception_name
from ..keys import failed_at
from ..payload import UNDECODABLE, is_job, job_args, job_class, retry_bytes, stand_in

_RETRIED = re.compile(rb',"retried_at":"[^"\\]*"\}$')
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def backtrace_lines(exc: BaseException) -> list[str]:
    """Return Ruby-style frames, innermost first, without resque's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f"{f.filename}:{f.lineno}:in `{f.name}'" for f in reversed(frames)
             if not f.filename.startswith(_PKG)]
    return lines


def build_record(exc: BaseException, worker: str, queue: str, payload: Any,
                 now: float | None = None, raw: bytes | None = None) -> bytes:
    """Encode a failure record with Ruby's members, in Ruby's order.

    ``raw``, the payload's own JSON as it was queued, is written as is
    (no re-encoding). Writing never fails on content: text that cannot be
    UTF-8 is escaped, and a payload that cannot be encoded is kept as a
    stand-in (see ``resque.payload``).
    """
    head = {"failed_at": failed_at(now)}
    tail = {"exception": exception_name(exc), "error": str(exc) or exception_name(exc),
            "backtrace": backtrace_lines(exc), "worker": worker or "", "queue": queue}
    try:
        rest = dumps(tail)
    except (TypeError, ValueError):
        rest = dumps({k: _text(v) for k, v in tail.items()})
    if raw is None:
        try:
            raw = dumps(payload)
        except (TypeError, ValueError, RecursionError):
            raw = dumps(stand_in(_best_effort(payload)))
    return b"".join((dumps(head)[:-1], b',"payload":', raw, b",", rest[1:]))


def _text(value: Any) -> Any:
    """Make text (or lists of text) encodable: lone surrogates become escapes."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


def _best_effort(payload: Any) -> bytes:
    """Encode a payload that is not strict JSON as closely as possible (NaN, escapes)."""
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=True).encode("ascii")
    except (TypeError, ValueError, RecursionError):
        return repr(payload).encode("utf-8", "backslashreplace")


def shown_bytes(raw: bytes) -> str:
    """Return bytes as text a person can read: UTF-8 as is, the rest as escapes."""
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" if ord(c) < 256
                   else f"\\u{ord(c):04x}" for c in text)


def not_a_job(payload: Any) -> bool:
    """Tell whether a failed payload was a queue element that is not a job."""
    return not is_job(payload) or job_class(payload) == UNDECODABLE


def retried(failure: Failure) -> bool:
    """Tell whether a record was retried (has ``retried_at``)."""
    return b'"retried_at"' in failure.raw and "retried_at" in failure.data


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

    @cached_property
    def data(self) -> dict[str, Any]:
        """The record's fields (decoded once; do not change them)."""
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

    @property
    def undecodable(self) -> bool:
        """Tell whether the failed queue element was not a job at all."""
        return not_a_job(self.payload)

    @property
    def original_bytes(self) -> bytes | None:
        """Return an undecodable element's bytes as they were queued (else None)."""
        return retry_bytes(self.payload) if self.undecodable else None

    @property
    def retry_payload(self) -> bytes:
        """Return the bytes a retry pushes: the job as Ruby re-creates it, or the original."""
        return retry_bytes(self.payload)

    def marked_retried(self, stamp: str) -> bytes:
        """Return the record with ``retried_at`` set (last, as Ruby appends it).

        The record's other bytes, the payload's among them, stay as they
        are: nothing is decoded and re-encoded unless the record is odd.
        """
        body = self.raw.rstrip()
        try:
            value = loads(body)
        except ValueError:
            value = None
        if isinstance(value, dict) and value and body.endswith(b"}"):
            member = b',"retried_at":' + dumps(stamp) + b"}"
            if "retried_at" not in value:
                return body[:-1] + member
            if _RETRIED.search(body):
                return _RETRIED.sub(lambda _: member, body, count=1)
        return dumps({**self.data, "retried_at": stamp})


class FailureBackend:
    """Base of every backend; records go through ``save``.

    ``queue`` arguments name a failure *list* (``failed`` or
    ``<queue>_failed``), as in Ruby; ``None`` means the backend's default.
    """

    def save(self, record: bytes, queue: str) -> None:
        raise NotImplementedError

    def record(self, exc: BaseException, worker: str, queue: str, payload: Any,
               raw: bytes | None = None) -> bytes:
        """Build and save a record for ``exc``; return its bytes.

        ``raw`` is the payload's JSON exactly as it was queued, when known.
        """
        record = build_record(exc, worker, queue, payload, raw=raw)
        self.report(exc, record, queue)
        return record

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

    def requeue_matching(self, keep: Callable[[Failure], bool], queue: str | None = None) -> int:
        """Retry every record of a list (default: the first) that ``keep`` accepts."""
        found = [f for f in self.each(0, None, queue=queue, order="asc") if keep(f)]
        return sum(self.requeue(f) is not None for f in found)

    def remove_matching(self, keep: Callable[[Failure], bool], queue: str | None = None) -> int:
        """Remove every record of a list (default: the first) that ``keep`` accepts."""
        found = [f for f in self.each(0, None, queue=queue) if keep(f)]  # newest first
        return sum(1 for f in found if self.remove(f))

    def recover(self, queue: str | None = None) -> None:
        """Undo what an interrupted bulk change left half done (default: nothing to undo)."""

    def clear_retried(self) -> int:
        names: list[str | None] = [*self.queues()] or [None]
        return sum(self.remove_matching(retried, name) for name in names)

    def url(self) -> str | None:
        return None
