"""Bulk changes to a failure list, one bounded window per Redis call.

Clearing retried records, retrying or removing every record of a queue
walk the list window by window (``lua/failure_sweep.lua``): each call takes
the head window, checks it is still what was read, and moves what stays
(kept or rewritten) to the list's sweep list; at the end the sweep list
goes back to the head, in order. Redis is busy one window at a time, the
caller holds one window in memory, and failures pushed meanwhile stay
behind the older records. While a sweep runs, the records it walked wait
in ``<list>:sweep``: pages show fewer records, and one-record retries and
removals of those report them gone. A sweep that dies leaves them there
until the next sweep of that list, or the next reader that calls
``recover`` (the Failed page, ``resque failed list``), puts them back.
"""
from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Union

from ..errors import ResqueError
from ..store import Store
from .base import Failure

WINDOW = 1000
OWNER_TTL_MS = 60_000
BUSY_WAIT = 30.0

DROP = "drop"
# What a sweep does with one record: keep it (None), drop it (``DROP``), or
# rewrite it and push a job: (new record, job payload, job queue).
Step = Union[None, str, tuple[bytes, bytes, str]]
Decide = Callable[[Failure], Step]


class SweepBusy(ResqueError):
    """Another process is sweeping the same failure list."""


def sweep(store: Store, name: str, decide: Decide, window: int | None = None) -> int:
    """Walk list ``name`` once; return how many records were dropped or rewritten.

    It walks as many records as the list held when it began; when some
    were removed meanwhile, that many of the records pushed since are
    walked too.
    """
    window = window or WINDOW
    token = uuid.uuid4().hex
    left = _begin(store, name, token)
    try:
        if left:
            _restore(store, name, token, window)
        return _walk(store, name, token, decide, window)
    finally:
        _restore(store, name, token, window)
        store.failure_sweep(name, "end", token, OWNER_TTL_MS)


def _begin(store: Store, name: str, token: str) -> int:
    deadline = time.monotonic() + BUSY_WAIT
    while True:
        left = store.failure_sweep(name, "begin", token, OWNER_TTL_MS)
        if left != -2:
            return left
        if time.monotonic() > deadline:
            raise SweepBusy(f"another process is sweeping the failure list {name!r}; try later")
        time.sleep(0.05)


def _walk(store: Store, name: str, token: str, decide: Decide, window: int) -> int:
    todo = store.failure_count(name)
    done = changed = 0
    while done < todo:
        raws = store.failure_range(name, 0, min(window, todo - done))
        if not raws:
            break
        plan: list[str] = []
        rewrites: list[bytes] = []
        jobs: dict[str, list[bytes]] = {}
        for raw in raws:
            step = decide(Failure(name, 0, raw))
            if step is None:
                plan.append("k")
            elif isinstance(step, tuple):
                plan.append("r")
                rewrites.append(step[0])
                jobs.setdefault(step[2], []).append(step[1])
            else:
                plan.append("d")
        args: list[Any] = [len(raws), "".join(plan), *raws, *rewrites]
        for queue, payloads in jobs.items():
            args += [queue, len(payloads), *payloads]
        got = store.failure_sweep(name, "take", token, OWNER_TTL_MS, args, list(jobs))
        if got == -2:
            raise SweepBusy(f"the sweep of the failure list {name!r} was taken over")
        if got == -1:
            continue  # the head changed since it was read: read it again
        done += len(raws)
        changed += len(raws) - plan.count("k")
    return changed


def _restore(store: Store, name: str, token: str, window: int) -> None:
    while store.failure_sweep(name, "restore", token, OWNER_TTL_MS, [window]) > 0:
        pass



def recover(store: Store, name: str, window: int | None = None) -> None:
    """Put back what a dead sweep of ``name`` left aside (nothing while a live one runs).

    One Redis call when there is nothing to do.
    """
    while store.failure_sweep(name, "recover", "", OWNER_TTL_MS, [window or WINDOW]) > 0:
        pass
