"""Run queued jobs in the test's own process, raising the first failure."""
from __future__ import annotations

from typing import Iterable

from ..client import Resque, get_client
from ..errors import ResqueError


def drain(client: Resque | None = None, queues: Iterable[str] | None = None,
          max_jobs: int = 10_000) -> int:
    """Perform queued jobs until the queues are empty; return how many ran.

    ``queues`` are taken in priority order (default: every queue, by
    name), and jobs that enqueue jobs are run too. A job's exception is
    raised after its ``on_failure`` hooks ran; the job is not recorded as
    a failure and the jobs behind it stay queued.
    """
    client = client or get_client()
    order = list(queues) if queues is not None else None
    done = 0
    while True:
        names = order if order is not None else client.queues()
        job = next((j for j in map(client.reserve, names) if j is not None), None)
        if job is None:
            return done
        if done >= max_jobs:
            raise ResqueError(f"drain ran {max_jobs} jobs and the queues are not empty yet "
                              "(does a job enqueue itself?)")
        job.perform(client.registry)
        done += 1
