"""Enqueue a recurring entry: by the master at its time, or by hand ("queue now").

A timed firing is one ``lua/fire.lua`` call that checks, atomically, that
this process still holds the master lock and that no master fired this
occurrence already, then pushes the job and records the occurrence and
``delayed:last_enqueued_at``. Two processes that both believe they are
master (a split-brain moment) therefore cannot both fire one occurrence.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from .._accel import encode_payload
from ..client import Resque
from ..errors import NoQueueError
from ..job import run_hooks
from ..registry import JobSpec
from .delayed import hooks, spec_of, store_of
from .lock import MasterLock
from .schedule import Entry, last_enqueued_stamp

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """What a firing pushes, after the before hooks had their say."""

    name: str
    queue: str
    args: list[Any]
    push: bool
    spec: JobSpec | None = None
    custom: Callable[..., Any] | None = None


def prepare(client: Resque, entry: Entry) -> Prepared:
    """Resolve class and queue and run the before hooks (Ruby's order)."""
    name = str(entry.config.get("custom_job_class") or entry.class_name)
    spec = spec_of(client, name)
    queue = entry.queue or spec.queue
    out = Prepared(name, queue or "", entry.args, queue is not None, spec if spec.target else None)
    if queue is None:
        logger.error("%s", NoQueueError(f"Jobs must be placed onto a queue. No queue could be "
                                        f"inferred for class {name} (schedule {entry.name!r})"))
        return out
    if out.spec is None:
        return out
    args = out.args
    if any(r is False for r in run_hooks(hooks(spec, "before_schedule"), *args)):
        out.push, out.spec = False, None
        return out
    run_hooks(hooks(spec, "before_delayed_enqueue"), *args)
    custom = getattr(spec.target, "scheduled", None)
    if callable(custom):
        out.push, out.custom = False, custom
    elif any(r is False for r in run_hooks(hooks(spec, "before_enqueue"), *args)):
        out.push = False
    return out


def finish(p: Prepared) -> None:
    """Run what follows a push: the custom ``scheduled`` or the after hooks."""
    if p.spec is None:
        return
    if p.custom is not None:
        p.custom(p.queue, p.name, *p.args)
    elif p.push:
        run_hooks(hooks(p.spec, "after_enqueue"), *p.args)
    run_hooks(hooks(p.spec, "after_schedule"), *p.args)


def enqueue_entry(client: Resque, entry: Entry) -> bool:
    """Enqueue an entry now, by hand; Last Enqueued is not updated (as Ruby)."""
    p = prepare(client, entry)
    if p.push:
        client.store.push(p.queue, encode_payload(p.name, p.args))
    finish(p)
    return p.push or p.custom is not None


class Firer:
    """Fire timed occurrences for one scheduler process."""

    def __init__(self, client: Resque, lock: MasterLock):
        self.client = client
        self.store = store_of(client)
        self.lock = lock

    def fire(self, entry: Entry, slot: float, gap: float = 0.5) -> int:
        """Fire one occurrence; return 1 fired, 0 already fired, -1 not master."""
        try:
            p = prepare(self.client, entry)
        except Exception:  # noqa: BLE001 - a hook's error must not stop the scheduler
            logger.exception("schedule %r: a before hook raised; not enqueued", entry.name)
            p = Prepared(entry.class_name, entry.queue or "", entry.args, False)
        done = self.store.fire(self.lock.key, self.lock.value, entry.name, slot, gap, p.queue,
                               encode_payload(p.name, p.args), last_enqueued_stamp(), p.push)
        if done == 1:
            logger.info("queueing %s (%s) for %.0f", p.name, entry.name, slot)
            try:
                finish(p)
            except Exception:  # noqa: BLE001
                logger.exception("schedule %r: an after hook raised", entry.name)
        elif done == 0:
            logger.info("schedule %r at %.0f was already fired by another master", entry.name, slot)
        else:
            logger.warning("not the master any more: schedule %r at %.0f left alone", entry.name, slot)
        return done
