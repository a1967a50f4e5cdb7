"""Jobs for the pool tests."""
from __future__ import annotations

from resque.client import job
from tests.jobs import note

_held: list[bytes] = []


@job(queue="high", name="Hog")
class Hog:
    @staticmethod
    def perform(megabytes: int) -> None:
        """Keep ``megabytes`` of written memory in this process (run with --no-fork)."""
        _held.append(b"x" * (megabytes << 20))
        note("hog", megabytes)
