"""Sample jobs for ``resque demo``: fast ones, slow ones and failing ones.

They carry Ruby-style names (``Demo::Fast``), so a Ruby worker that
defines the same classes could serve them too. Workers load them with
``resque work -A resque.demo_jobs -q demo_high,demo_low``.
"""
from __future__ import annotations

import hashlib
import time

from .client import job

HIGH = "demo_high"
LOW = "demo_low"
QUEUES = (HIGH, LOW)


@job(queue=HIGH, name="Demo::Fast")
class Fast:
    """Checksum a short text: done in a moment."""

    @staticmethod
    def perform(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@job(queue=LOW, name="Demo::Slow")
class Slow:
    """Pretend to build a report: sleeps for the given seconds."""

    @staticmethod
    def perform(report_id: int, seconds: float) -> None:
        time.sleep(seconds)


class PaymentDeclined(Exception):
    """The error the failing demo job raises."""


@job(queue=HIGH, name="Demo::Failing")
class Failing:
    """Charge a card that is always declined: every run is a failure."""

    @staticmethod
    def perform(order_id: int, amount: str) -> None:
        raise PaymentDeclined(f"order {order_id}: card declined for {amount}")


# One cycle of 20 jobs: 14 fast, 3 slow, 3 failing, mixed so that even a
# handful of jobs shows each kind.
_CYCLE = "FFSXFFFSFXFFFSFFXFFF"


def plan(count: int) -> list[tuple[type, tuple[object, ...]]]:
    """Return ``count`` jobs to enqueue: 70% fast, 15% slow, 15% failing."""
    jobs: list[tuple[type, tuple[object, ...]]] = []
    for i in range(count):
        kind = _CYCLE[i % len(_CYCLE)]
        if kind == "F":
            jobs.append((Fast, (f"document {i}",)))
        elif kind == "S":
            jobs.append((Slow, (i, 0.1 + (i % 3) * 0.05)))
        else:
            jobs.append((Failing, (i, f"{10 + i % 90}.00 EUR")))
    return jobs
