"""Pure-Python hot path: payload codec and the worker's reserve/perform loop.

This module is the reference; ``ext/_speedups.pyx`` compiles the same
functions with the same signatures. Only ``_accel`` imports either.
"""
from __future__ import annotations

import os
from time import time
from typing import Any

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
    elif type(args) is dict:  # Ruby splats a hash into [key, value] pairs
        payload["args"] = [[k, v] for k, v in args.items()]
    elif type(args) is not list:
        payload["args"] = [args]
    return payload


def _preview(data: bytes | str, limit: int = 120) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return repr(text if len(text) <= limit else text[:limit] + "...")


def work_one(w: Any) -> bool:
    """Reserve, decode and run one job on worker ``w``; False when none.

    ``w.reserve()`` is one round trip that also finishes the previous job;
    it returns ``(position, raw)`` or None. Bad payloads go to
    ``w.reject``; good ones run forked (``fork_and_wait``) or in process.
    """
    reply = w.reserve()
    if reply is None:
        return False
    queue = w.polled[reply[0] - 1]
    raw = reply[1]
    try:
        payload = decode_payload(raw)
    except PayloadError as exc:
        w.reject(queue, raw, exc)
        return True
    job = w.make_job(queue, payload, raw)
    w.title("Processing %s since %d [%s]" % (queue, int(time()), payload["class"]))
    if w.fork:
        fork_and_wait(w, job)
    else:
        w.perform(job)
    return True


def fork_and_wait(w: Any, job: Any) -> int:
    """Fork a child that performs ``job``; wait for it; return the wait status."""
    w.before_fork(job)
    pid = os.fork()
    if pid == 0:
        w.child_main(job)  # never returns: the child leaves through os._exit
    w.child_pid = pid
    try:
        w.title("Forked %d at %d" % (pid, int(time())))
        status = w.wait_child(pid)
    finally:
        w.child_pid = 0
    w.child_exited(job, pid, status)
    return status  # type: ignore[no-any-return]


def run_loop(w: Any) -> int:
    """Run ``work_one`` until ``w.stopping``; return how many jobs ran.

    After an empty pass ``w.idle()`` sleeps and returns False when the
    worker should leave (INTERVAL=0).
    """
    done = 0
    while not w.stopping:
        if work_one(w):
            done += 1
        elif not w.idle():
            break
    return done
