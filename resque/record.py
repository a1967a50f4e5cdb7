"""A worker's job record, ``{"queue":Q,"run_at":T,"payload":P}``, read back exactly.

``lua/cycle.lua`` writes the record around the payload's bytes without
decoding them, so the payload is read back by position, not by decoding
and re-encoding the record: whatever the bytes hold (integers past 64
bits, deep nesting, even malformed JSON) they go back to a queue or into
a failure record unchanged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._accel import decode_payload
from ._compat import loads
from .errors import PayloadError
from .payload import job_class, payload_bytes, stand_in

# Ruby's layout too: Resque.encode(queue:, run_at:, payload:) is compact JSON in this order.
_HEAD = re.compile(rb'\{"queue":("(?:[^"\\]|\\.)*"),"run_at":"([^"\\]*)","payload":', re.S)


@dataclass(frozen=True)
class HeldJob:
    """The job a worker record holds: where it came from and its exact bytes."""

    queue: str
    body: bytes
    payload: Any
    exact: bool

    @property
    def name(self) -> str | None:
        return job_class(self.payload)

    @property
    def raw(self) -> bytes | None:
        """The body when it is the payload's own JSON, for a failure record."""
        return self.body if self.exact else None


def split_record(raw: bytes) -> tuple[str, str, bytes] | None:
    """Return (queue, run_at, payload bytes) of a record in the standard layout."""
    head = _HEAD.match(raw)
    if head is None or not raw.endswith(b"}"):
        return None
    try:
        queue = loads(head.group(1))
    except ValueError:
        return None
    if not isinstance(queue, str):
        return None
    return queue, head.group(2).decode("ascii", "replace"), raw[head.end():-1]


def held_job(raw: bytes) -> HeldJob:
    """Read the job a worker record holds; never raise on its content."""
    parts = split_record(raw)
    if parts is not None:
        queue, _, body = parts
        if body[:1] == b'"':  # an element an older version recorded as a JSON string
            body = _unquote(body)
    else:
        queue, body = _loose(raw)
    try:
        return HeldJob(queue, body, decode_payload(body), True)
    except PayloadError:
        return HeldJob(queue, body, stand_in(body), False)


def _unquote(body: bytes) -> bytes:
    try:
        text = loads(body)
    except ValueError:
        return body
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else body


def _loose(raw: bytes) -> tuple[str, bytes]:
    """Read a record written in another layout; keep unreadable bytes whole."""
    try:
        record = loads(raw)
    except ValueError:
        return "", raw
    if not isinstance(record, dict) or "payload" not in record:
        return "", raw
    queue = record.get("queue")
    try:
        body = payload_bytes(record["payload"])
    except (TypeError, ValueError):
        body = raw
    return (queue if isinstance(queue, str) else ""), body
