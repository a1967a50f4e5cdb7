"""Move due delayed items to their queues: the master scheduler's main job.

Per due second (oldest first, Ruby's ``ZRANGEBYSCORE ... LIMIT 0 1``), read
a batch, decide in Python what each item becomes (running the scheduling
hooks), then commit the batch with ``lua/move_batch.lua``: the items leave
the bucket and reach their queues together, or nothing happens if the
bucket changed meanwhile. Items that cannot be moved (not JSON, ``null``,
no class, no queue, a hook that raised) are set aside in the same step as
failure records, visible on the Failed page; nothing is dropped silently.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import redis

from .._accel import encode_payload
from .._compat import loads
from ..client import Resque
from ..errors import JobNotAllowed
from ..failure.base import build_record
from ..job import run_hooks
from ..registry import JobSpec
from .delayed import splat_args, hooks, store_of
from .errors import DelayedItemError
from .store import Move

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 100


@dataclass
class Planned:
    """A batch item with its fate and what to run after the commit."""

    move: Move
    spec: JobSpec | None = None
    args: list[Any] = field(default_factory=list)
    custom: Callable[..., Any] | None = None


class Mover:
    """Move due items of one client's delayed queue, batch by batch."""

    def __init__(self, client: Resque, batch_size: int = DEFAULT_BATCH, worker: str = "",
                 should_stop: Callable[[], bool] = lambda: False):
        self.client = client
        self.store = store_of(client)
        self.batch_size = max(1, batch_size)
        self.worker = worker
        self.should_stop = should_stop

    def handle_delayed_items(self, at: float | None = None) -> int:
        """Move every item due at ``at`` (default: now, re-read per second); return how many."""
        moved = 0
        while not self.should_stop():
            bound = int(time.time() if at is None else at)
            member = self.store.next_due(bound)
            if member is None:
                break
            moved += self.move_second(member)
        return moved

    def move_second(self, member: str) -> int:
        """Move one second's items in batches until it is empty; return how many."""
        moved = 0
        while not self.should_stop():
            try:
                raws = self.store.bucket_head(member, self.batch_size)
            except redis.exceptions.ResponseError as exc:  # WRONGTYPE: not a list
                self._set_aside_member(member, exc)
                return moved
            plan = [self.plan(member, raw) for raw in raws]
            left = self.store.move_batch(member, [p.move for p in plan])
            if left < 0:
                logger.debug("delayed second %s changed during the move; reading it again", member)
                continue
            moved += sum(1 for p in plan if p.move.action == "push")
            self._after(plan)
            if left == 0 or len(raws) < self.batch_size:
                break
        return moved

    def move_one(self, member: str) -> bool:
        """Move only the first item of one second ("queue now"); False if empty."""
        while True:
            raws = self.store.bucket_head(member, 1)
            plan = [self.plan(member, raw) for raw in raws]
            if self.store.move_batch(member, [p.move for p in plan]) >= 0:
                self._after(plan)
                return bool(plan)

    def plan(self, member: str, raw: bytes) -> Planned:
        """Decide what one raw item becomes; run the before hooks of known jobs."""
        try:
            item = loads(raw)
        except ValueError:
            return self._fail(member, raw, raw.decode("utf-8", "replace"), "is not valid JSON")
        if not isinstance(item, dict) or not isinstance(item.get("class"), str) or not item["class"]:
            return self._fail(member, raw, item, "names no job class")
        name: str = item["class"]
        args = splat_args(item.get("args"))
        queue = item.get("queue")
        if queue is not None and not isinstance(queue, str):
            return self._fail(member, raw, item, f"has a queue that is not a string: {queue!r}")
        try:
            spec: JobSpec | None = self.client.registry.resolve(name)
        except JobNotAllowed:
            spec = None
        queue = queue if queue is not None else (spec.queue if spec else None)
        if queue is None:
            return self._fail(member, raw, item, f"has no queue and class {name} declares none")
        if spec is None or spec.target is None:
            return Planned(Move(raw, "push", queue, encode_payload(name, args)), None, args)
        try:
            return self._plan_known(raw, spec, queue, args)
        except Exception as exc:  # noqa: BLE001 - a hook's error sets the item aside
            return self._fail(member, raw, item, f"hook raised {type(exc).__name__}: {exc}")

    def _plan_known(self, raw: bytes, spec: JobSpec, queue: str, args: list[Any]) -> Planned:
        if any(r is False for r in run_hooks(hooks(spec, "before_schedule"), *args)):
            logger.info("before_schedule hook of %s dropped a delayed job", spec.name)
            return Planned(Move(raw, "drop"), None, args)
        run_hooks(hooks(spec, "before_delayed_enqueue"), *args)
        custom = getattr(spec.target, "scheduled", None)
        if callable(custom):
            return Planned(Move(raw, "drop", queue), spec, args, custom)
        if any(r is False for r in run_hooks(hooks(spec, "before_enqueue"), *args)):
            return Planned(Move(raw, "drop"), spec, args)
        return Planned(Move(raw, "push", queue, encode_payload(spec.name, args)), spec, args)

    def _after(self, plan: list[Planned]) -> None:
        for p in plan:
            if p.spec is None:
                continue
            try:
                if p.custom is not None:
                    p.custom(p.move.queue, p.spec.name, *p.args)
                elif p.move.action == "push":
                    run_hooks(hooks(p.spec, "after_enqueue"), *p.args)
                run_hooks(hooks(p.spec, "after_schedule"), *p.args)
            except Exception:  # noqa: BLE001 - the job is on its queue; report the hook
                logger.exception("after-enqueue hook of %s raised", p.spec.name)

    def _fail(self, member: str, raw: bytes, shown: Any, why: str) -> Planned:
        exc = DelayedItemError(f"delayed item at {member} {why}; set aside by the scheduler")
        queue = shown.get("queue") if isinstance(shown, dict) else None
        record = build_record(exc, self.worker, queue if isinstance(queue, str) else "", shown)
        logger.error("%s: %s", exc, raw[:200].decode("utf-8", "replace"))
        return Planned(Move(raw, "fail", "", record))

    def _set_aside_member(self, member: str, exc: Exception) -> None:
        err = DelayedItemError(f"delayed second {member!r} does not name a list ({exc}); "
                               "its schedule entry was removed")
        logger.error("%s", err)
        self.store.set_aside_member(member, build_record(err, self.worker, "", {"second": member}))


def handle_delayed_items(client: Resque, at: float | None = None,
                         batch_size: int = DEFAULT_BATCH) -> int:
    """Move every due delayed item to its queue now; return how many were pushed."""
    return Mover(client, batch_size).handle_delayed_items(at)
