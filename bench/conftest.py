"""Fixtures for the micro benchmarks; the root conftest.py gives Redis and ``impl``."""
from __future__ import annotations

import os
import signal
import time
from typing import Any, Callable, Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench_jobs import Noop, registry
from resque import Resque
from resque.worker import Worker, WorkerOptions

PAYLOAD = b'{"class":"Archive","args":[44,"masterbrew",{"size":"large","tags":["a","b"]}]}'


SLOWDOWN = "RESQUE_BENCH_SLOWDOWN"


def slowed(fn: Callable[..., Any], factor: float) -> Callable[..., Any]:
    """Wrap ``fn`` so each call takes ``1 + factor`` times as long (busy wait)."""
    clock = time.perf_counter

    def run(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        out = fn(*args, **kwargs)
        end = clock() + (clock() - t0) * factor
        while clock() < end:
            pass
        return out

    return run


class SlowedBenchmark(BenchmarkFixture):  # type: ignore[misc]
    """The pytest-benchmark fixture with every measured call slowed down.

    ``RESQUE_BENCH_SLOWDOWN=0.3`` makes each benchmarked call 30 % slower,
    in the harness only: a stand-in for a real regression, to check that
    ``make bench-compare`` catches one.
    """

    factor = 0.0

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return super().__call__(slowed(fn, self.factor), *args, **kwargs)

    def pedantic(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return super().pedantic(slowed(target, self.factor), *args, **kwargs)


@pytest.fixture
def benchmark(benchmark: Any) -> Any:
    """pytest-benchmark's fixture, slowed by ``RESQUE_BENCH_SLOWDOWN`` when set."""
    factor = float(os.environ.get(SLOWDOWN) or 0)
    if factor > 0:
        benchmark.__class__ = type("Slowed", (SlowedBenchmark,), {"factor": factor})
    return benchmark


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
