"""The shape of a decoded job payload: ``{"class": NAME, "args": [...]}``.

A queue element that is not a job (malformed JSON, ``null``, an array, an
object without a class) is kept in a failure record as a *stand-in*: a
job-shaped payload of class ``Resque::UndecodablePayload`` whose arguments
hold the element's bytes exactly. Ruby's retry of such a record enqueues the
stand-in, which fails again harmlessly (no worker defines the class); our
retry pushes the original bytes back.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Iterable, Sequence

from ._accel import decode_payload
from ._compat import dumps
from .errors import PayloadError

UNDECODABLE = "Resque::UndecodablePayload"
_BASE64 = "base64"


def job_class(payload: Any) -> str | None:
    """Return the payload's class name, or None if it has none."""
    name = payload.get("class") if isinstance(payload, dict) else None
    return name if isinstance(name, str) else None


def job_args(payload: Any) -> list[Any]:
    """Return the payload's arguments as Ruby splats them.

    Missing: none; an object: its ``[key, value]`` pairs (Ruby's
    ``*{"a" => 1}``); any other single value: itself.
    """
    args = payload.get("args") if isinstance(payload, dict) else None
    if isinstance(args, list):
        return args
    if isinstance(args, dict):
        return [[k, v] for k, v in args.items()]
    return [] if args is None else [args]


def same_json(a: Any, b: Any) -> bool:
    """Compare decoded JSON by value as Ruby's ``==`` does.

    ``1 == 1.0`` and ``1e+20 == 1.0e+20``, but ``true`` is no number:
    Ruby writes floats differently from Python, so bytes cannot be compared.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and a == b


def is_job(payload: Any) -> bool:
    """Tell whether Ruby's ``Failure.requeue`` can re-create this payload."""
    return bool(job_class(payload))


def payload_bytes(payload: Any) -> bytes:
    """Encode a payload back to queue bytes (an undecodable one is kept as text)."""
    return payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else dumps(payload)


def stand_in(raw: bytes) -> dict[str, Any]:
    """Return the job-shaped stand-in that keeps ``raw`` exactly.

    The bytes are the only argument when they are UTF-8; otherwise they
    are base64 text followed by the marker ``"base64"``.
    """
    try:
        return {"class": UNDECODABLE, "args": [raw.decode("utf-8")]}
    except UnicodeDecodeError:
        return {"class": UNDECODABLE, "args": [base64.b64encode(raw).decode("ascii"), _BASE64]}


def original_bytes(payload: Any) -> bytes | None:
    """Return the bytes a stand-in keeps, or None if ``payload`` is no stand-in."""
    if job_class(payload) != UNDECODABLE:
        return None
    args = job_args(payload)
    try:
        if len(args) == 1 and isinstance(args[0], str):
            return args[0].encode("utf-8", "surrogatepass")
        if len(args) == 2 and args[1] == _BASE64 and isinstance(args[0], str):
            return base64.b64decode(args[0], validate=True)
    except (binascii.Error, ValueError):
        pass
    return None


def retry_bytes(payload: Any) -> bytes:
    """Return what a retry pushes for a failed ``payload``.

    A job is re-created as Ruby does (``class`` and ``args`` only); a
    stand-in gives back its original bytes; anything else that an older
    version recorded (text, ``null``, an array) is pushed back as it was.
    """
    original = original_bytes(payload)
    if original is not None:
        return original
    if is_job(payload):
        return dumps({"class": job_class(payload), "args": job_args(payload)})
    return payload_bytes(payload)


def dequeue_matches(raws: Iterable[bytes], name: str, args: Sequence[Any]) -> list[bytes]:
    """Return the distinct elements naming job ``name`` (and, given ``args``, equal to them).

    In order of first appearance; a payload that does not decode never matches.
    """
    wanted = list(args)
    found: dict[bytes, None] = {}
    for raw in raws:
        try:
            payload = decode_payload(raw)
        except PayloadError:
            continue
        if payload["class"] == name and (not wanted or same_json(payload["args"], wanted)):
            found[raw] = None
    return list(found)
