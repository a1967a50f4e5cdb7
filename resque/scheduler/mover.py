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
from .store import MAX_GROUPS, Batch, Move, queue_suffix

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 100  # Ruby's DELAYED_REQUEUE_BATCH_SIZE default
MAX_BATCH = MAX_GROUPS  # a batch's ops are 2 bytes each (lua/move_batch.lua); caps Redis time per step
_MEMBERS = ("class", "args", "queue")
_fast_loads: Callable[[bytes], Any] = loads
try:
    from orjson import loads as _fast_loads  # big integers come back as floats: fine, only types are read
except ImportError:  # pragma: no cover - the stdlib fallback
    pass


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
        self.batch_size = min(max(1, batch_size), MAX_BATCH)
        self.worker = worker
        self.should_stop = should_stop
        self._specs: dict[str, JobSpec | None] = {}
        self._suffixes: dict[str, bytes] = {}
        self._plain: dict[str, bool] = {}  # class name -> nothing runs here for it (cached per pass)

    def handle_delayed_items(self, at: float | None = None) -> int:
        """Move every item due at ``at`` (default: now, re-read per second); return how many."""
        moved = 0
        self._specs = {}
        self._plain = {}
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
            batch, after = self.plan_batch(member, raws)
            left = self.store.move_batch(member, batch)
            if left < 0:
                logger.debug("delayed second %s changed during the move; reading it again", member)
                continue
            moved += sum(1 for op in batch.ops if op >= 2)
            self._after(after)
            if left == 0 or len(raws) < self.batch_size:
                break
        return moved

    def plan_batch(self, member: str, raws: list[bytes]) -> tuple[Batch, list[Planned]]:
        """Plan a batch: what the script does, and the items whose after hooks run once it commits.

        The common item, canonical and of a class with nothing to run here,
        takes a short path: one decode (which also rejects bad JSON: such an
        item goes to ``plan``) and a look at its ends; its payload is cut
        from its bytes inside the script. Every other item goes to ``plan``.
        """
        batch = Batch()
        after: list[Planned] = []
        plain, suffixes = self._plain, self._suffixes
        codes: dict[str, int] = {}  # queue -> this batch's trim op for it
        add_raw, add_op = batch.raws.append, batch.ops.append
        for raw in raws:
            try:
                item = _fast_loads(raw)
            except ValueError:
                item = None
            if type(item) is dict and len(item) == 3:
                name, queue = item.get("class"), item.get("queue")
                if type(queue) is str and type(name) is str and type(item.get("args")) is list:
                    ok = plain.get(name)
                    if ok is None:
                        spec = self.resolve(name) if name else None
                        ok = plain[name] = bool(name) and (spec is None or spec.target is None)
                    suffix = suffixes.get(queue)
                    if suffix is None:
                        suffix = suffixes[queue] = queue_suffix(queue)
                    if ok and raw.endswith(suffix) and raw.startswith(b'{"class":') and \
                            tuple(item) == _MEMBERS:
                        code = codes.get(queue)
                        if code is None:
                            code = codes[queue] = 2 * batch.group(queue) + 1
                        add_raw(raw)
                        add_op(code)
                        continue
            p = self.plan(member, raw)
            batch.add(p.move)
            if p.spec is not None:
                after.append(p)
        return batch, after

    def move_one(self, member: str) -> bool:
        """Move only the first item of one second ("queue now"); False if empty."""
        while True:
            raws = self.store.bucket_head(member, 1)
            plan = [self.plan(member, raw) for raw in raws]
            if self.store.move_batch(member, [p.move for p in plan]) >= 0:
                self._after([p for p in plan if p.spec is not None])
                return bool(plan)

    def plan(self, member: str, raw: bytes) -> Planned:
        """Decide what one raw item becomes; run the before hooks of known jobs."""
        try:
            item = loads(raw)
        except ValueError:
            return self._fail(member, raw, raw.decode("utf-8", "replace"), "is not valid JSON")
        name = item.get("class") if type(item) is dict else None
        if type(name) is not str or not name:
            return self._fail(member, raw, item, "names no job class")
        args = item.get("args")
        args = args if type(args) is list else splat_args(args)
        queue = item.get("queue")
        if queue is not None and type(queue) is not str:
            return self._fail(member, raw, item, f"has a queue that is not a string: {queue!r}")
        spec = self._specs[name] if name in self._specs else self.resolve(name)
        if queue is None and spec is not None:
            queue = spec.queue
        if queue is None:
            return self._fail(member, raw, item, f"has no queue and class {name} declares none")
        if spec is None or spec.target is None:
            return Planned(self._push(raw, item, queue, name, args))
        try:
            return self._plan_known(raw, spec, queue, args)
        except Exception as exc:  # noqa: BLE001 - a hook's error sets the item aside
            return self._fail(member, raw, item, f"hook raised {type(exc).__name__}: {exc}")

    def _push(self, raw: bytes, item: dict[str, Any], queue: str, name: str, args: list[Any]) -> Move:
        """Push the item's own bytes less its queue when it is canonical (a ``trim``).

        Keeping the producer's bytes for class and args is what Ruby's
        mover writes too; anything unusual is re-encoded.
        """
        suffix = self._suffixes.get(queue)
        if suffix is None:
            suffix = self._suffixes[queue] = queue_suffix(queue)
        if len(item) == 3 and raw.endswith(suffix) and raw.startswith(b'{"class":') and \
                type(item["args"]) is list and tuple(item) == _MEMBERS:
            return Move(raw, "trim", queue)
        return Move(raw, "push", queue, encode_payload(name, args))

    def resolve(self, name: str) -> JobSpec | None:
        """Return the job a name resolves to here (None: not defined here), cached per pass."""
        if name not in self._specs:
            try:
                self._specs[name] = self.client.registry.resolve(name)
            except JobNotAllowed:
                self._specs[name] = None
        return self._specs[name]

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
