"""resque-retry's ``MultipleWithRetrySuppression`` failure backend.

The failure list holds only jobs that gave up: a failure that will be
retried writes no record; when its retry is delayed its details go to
``failure-<retry key>`` for twice the delay (the Retry tab shows them).
On giving up that key is deleted and the record is saved by every
backend given. The ``failed`` counters still grow on every attempt (the
worker counts them, not the backend). Choose it with
``FAILURE_BACKEND=retry_suppression`` (over ``redis``) or
``retry_suppression_multi_queue`` (over ``redis_multi_queue``).

Whether a failure is being retried comes from the retry decision the job's
failure hook attached to the exception in this process; a failure with no
decision (a job without retries, a hook that failed) is always recorded.
"""
from __future__ import annotations

import time
import traceback
from typing import Any, Sequence

from .._compat import dumps
from ..errors import exception_name
from ..failure import FailureBackend, MultipleFailure, RedisFailure, RedisMultiQueueFailure
from ..store import Store
from .keys import PluginKeys
from .retry import decision_of
from .store import PluginStore


def full_backtrace(exc: BaseException) -> list[str]:
    """Return every frame, innermost first, Ruby-style (resque-retry keeps them all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f"{f.filename}:{f.lineno}:in `{f.name}'" for f in reversed(frames)]


def suppressed_record(exc: BaseException, worker: str, queue: str, payload: Any,
                      now: float | None = None) -> bytes:
    """Encode the details of a suppressed failure with resque-retry's members and order."""
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(time.time() if now is None else now))
    return dumps({
        "failed_at": stamp, "payload": payload, "exception": exception_name(exc),
        "error": str(exc) or exception_name(exc), "backtrace": full_backtrace(exc),
        "worker": worker or "", "queue": queue,
    })


class MultipleWithRetrySuppression(MultipleFailure):
    """Save through ``backends`` only failures that will not be retried."""

    def __init__(self, backends: Sequence[FailureBackend], store: Store):
        super().__init__(backends)
        self.plugin = PluginStore(store.redis, PluginKeys(store.keys))

    def record(self, exc: BaseException, worker: str, queue: str, payload: Any,
               *rest: Any, **more: Any) -> bytes:
        """Suppress a failure being retried; otherwise drop its details and save it."""
        decision = decision_of(exc)
        if decision is None:
            return super().record(exc, worker, queue, payload, *rest, **more)
        fkey = self.plugin.keys.failure(decision.retry_name)
        if not decision.retried:
            self.plugin.drop_failure(fkey)
            return super().record(exc, worker, queue, payload, *rest, **more)
        details = suppressed_record(exc, worker, queue, payload)
        if decision.delay > 0:
            self.plugin.save_failure(fkey, int(2 * decision.delay), details)
        return details


def _backend_over(kind: type[RedisFailure]) -> Any:
    def make(store: Store) -> MultipleWithRetrySuppression:
        return MultipleWithRetrySuppression([kind(store)], store)
    make.__doc__ = f"Build the suppression backend over ``{kind.__name__}``."
    return make


over_redis = _backend_over(RedisFailure)
over_redis_multi_queue = _backend_over(RedisMultiQueueFailure)

__all__ = ["MultipleWithRetrySuppression", "over_redis", "over_redis_multi_queue",
           "suppressed_record"]
