"""Pure-Python hot path: payload codec and the worker's reserve/perform loop.

This module is the reference; ``ext/_speedups.pyx`` compiles the same
functions with the same signatures. Only ``_accel`` imports either.
"""
from __future__ import annotations

from typing import Any, Callable

from ._compat import JSONDecodeError, dumps, loads
from .errors import PayloadError


def encode_payload(name: str, args: Any) -> bytes:
    """Encode ``{"class": name, "args": [...]}`` in Ruby's compact JSON."""
    return dumps({"class": name, "args": args})


def decode_payload(data: bytes | str) -> dict[str, Any]:
    """Decode a queue element into a job payload or raise ``PayloadError``."""
    try:
        payload = loads(data)
    except (JSONDecodeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"payload is not valid JSON ({exc}): {_preview(data)}") from None
    if type(payload) is not dict:
        raise PayloadError(f"payload is not a JSON object: {_preview(data)}")
    name = payload.get("class")
    if type(name) is not str or not name:
        raise PayloadError(f"payload has no job class: {_preview(data)}")
    args = payload.get("args")
    if args is None:
        payload["args"] = []
    elif type(args) is not list:
        payload["args"] = [args]
    return payload  # type: ignore[no-any-return]


def _preview(data: bytes | str, limit: int = 120) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return repr(text if len(text) <= limit else text[:limit] + "...")


def run_loop(step: Callable[[], bool], should_stop: Callable[[], bool],
             idle: Callable[[], bool]) -> int:
    """Run worker steps until told to stop; return how many jobs ran.

    ``step()`` reserves and runs one job and returns True, or returns False
    when no job was found; then ``idle()`` sleeps and returns False when
    the worker should leave the loop (INTERVAL=0 after an empty pass).
    """
    done = 0
    while not should_stop():
        if step():
            done += 1
        elif not idle():
            break
    return done
