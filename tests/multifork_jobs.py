"""Jobs and hooks for the multi-job fork tests: each notes its process into Redis."""
from __future__ import annotations

import os
import time
from typing import Any

from resque.client import job
from tests.jobs import note


@job(queue="batch", name="Batch::Note")
class BatchNote:
    @staticmethod
    def perform(tag: str) -> None:
        note("job", tag, os.getpid())


@job(queue="batch", name="Batch::Die")
class BatchDie:
    @staticmethod
    def perform(tag: str) -> None:
        note("die", tag, os.getpid())
        os._exit(3)


@job(queue="batch", name="Batch::Nap")
class BatchNap:
    @staticmethod
    def perform(seconds: float, tag: str) -> None:
        note("start", tag, os.getpid())
        time.sleep(seconds)
        note("end", tag, os.getpid())


@job(queue="batch", name="Batch::Limited", timeout=0.5)
class BatchLimited:
    @staticmethod
    def perform(seconds: float, tag: str) -> None:
        note("limited", tag, os.getpid())
        time.sleep(seconds)
        note("end", tag, os.getpid())


def setup_resque_worker(worker: Any) -> None:
    worker.hooks.add("before_fork", lambda job: note("before_fork", os.getpid()))
    worker.hooks.add("after_fork", lambda job: note("after_fork", os.getpid()))
