"""Settle a reservation whose reply was lost (Redis went away mid-call).

Mixed into ``Worker``: the cycle script may or may not have run when its
reply is lost; these methods read the worker record and put things right
so that no job is lost and none is counted twice.
"""
from __future__ import annotations

import logging
from typing import Callable

from .errors import PayloadError
from .job import Job
from .keys import processed_stat
from .record import held_job, split_record
from .store import Store

logger = logging.getLogger("resque.worker")


class ReservationRecovery:
    """The worker's side of a lost cycle-script reply."""

    id: str
    store: Store
    processed: int
    _finish: bool
    _recover: bool
    _stats_in_cycle: bool
    _last: tuple[str, str, bytes] | None

    _finished: Callable[[], None]
    _record_failure: Callable[..., None]

    def _recover_reservation(self) -> None:
        """After a lost reply, settle what the last script call may have done.

        The call may have run: the previous job is then finished and a new
        job may be recorded under this worker without us knowing. Such a
        job goes back to the head of its queue; nothing is lost.
        """
        raw = self.store.worker_job(self.id)
        self._recover = False
        if raw is None:
            if self._finish:
                self._finished()  # the script ran: bookkeeping is done
            return
        if self._finish and not self._call_ran(raw):
            return  # nothing ran: finish the previous job on the next call
        held = held_job(raw)
        if not held.queue:  # not a record the scripts write: fail it rather than lose it
            self._fail_record(raw)
        elif self.store.requeue_orphan(self.id, raw, held.queue, held.body) > 0:
            logger.warning("Pushed back %r reserved while Redis was unreachable", held.body[:200])
        if self._finish:
            self._finished()

    def _call_ran(self, raw: bytes) -> bool:
        """Tell whether the lost call ran, given this worker's job record.

        With stats counted by the script, this worker's processed counter
        tells exactly (two identical jobs reserved in the same second leave
        identical records); otherwise the record is compared, byte for
        byte, with the previous job's.
        """
        if self._stats_in_cycle:
            return self.store.stat(processed_stat(self.id)) > self.processed
        return self._last is None or split_record(raw) != self._last

    def _fail_record(self, raw: bytes) -> None:
        """Fail an unreadable job record of this worker and clear it."""
        exc = PayloadError(f"undecodable job record of worker {self.id}")
        held = held_job(raw)
        logger.error("%s: %r", exc, raw[:200])
        self._record_failure(Job(held.queue, held.payload, held.raw), exc, count=True)
        self.store.clear_worker_job(self.id)
