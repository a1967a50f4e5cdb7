"""One full no-fork cycle (reserve + decode + perform + bookkeeping), per implementation."""
from __future__ import annotations

from conftest import fill

ROUNDS, ITERATIONS = 1000, 5


def test_no_fork_cycle(benchmark, impl, started_worker, bench_client):
    fill(bench_client, ROUNDS * ITERATIONS + 200)
    done = benchmark.pedantic(impl.work_one, args=(started_worker,), rounds=ROUNDS,
                              iterations=ITERATIONS, warmup_rounds=10)
    assert done is True
