"""Fixtures for the micro benchmarks; the root conftest.py gives Redis and ``impl``."""
from __future__ import annotations

import signal
from typing import Any, Iterator

import pytest

from bench_jobs import Noop, registry
from resque import Resque
from resque.worker import Worker, WorkerOptions

PAYLOAD = b'{"class":"Archive","args":[44,"masterbrew",{"size":"large","tags":["a","b"]}]}'


@pytest.fixture
def bench_client(r: Any) -> Resque:
    """A client on the flushed test server knowing the benchmark jobs."""
    return Resque(r, registry=registry())


def fill(client: Resque, n: int) -> None:
    """Queue ``n`` no-op jobs in one round trip."""
    client.enqueue_many(Noop, [()] * n)


@pytest.fixture
def started_worker(bench_client: Resque) -> Iterator[Worker]:
    """A registered no-fork worker on the ``bench`` queue; signal handlers restored after."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT,
                                               signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT)}
    w = Worker(["bench"], bench_client, WorkerOptions(interval=0, fork=False))
    w.startup()
    yield w
    w.shutdown_cleanup()
    for sig, handler in saved.items():
        signal.signal(sig, handler)
