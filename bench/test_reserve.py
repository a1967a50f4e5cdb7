"""The reserve script (finish the last job + reserve the next) by each call path.

``held`` is the worker's path (``Store.hot_cycle``); ``script`` is redis-py's
``Script.__call__``; ``execute_command`` sends EVALSHA through the client.
"""
from __future__ import annotations

import pytest

from conftest import fill
from resque.connection import clone_client

ROUNDS, ITERATIONS = 1000, 5


@pytest.mark.parametrize("path", ["held", "script", "execute_command"])
def test_reserve_script(benchmark, bench_client, path):
    store = bench_client.store
    fill(bench_client, ROUNDS * ITERATIONS + 100)
    script, fixed = store.cycle_script, store.cycle_keys("bench-host:1:bench")
    keys = [*fixed, store.keys.queue("bench")]
    args = ("1", "2024-05-01T12:34:56Z", "", "", b'"bench"')
    hot = clone_client(store.redis, retries=0)
    if path == "held":
        call = store.hot_cycle(hot)
        fn = lambda: call(keys, args)  # noqa: E731
    elif path == "script":
        fn = lambda: script(keys=keys, args=args, client=hot)  # noqa: E731
    else:
        fn = lambda: hot.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)  # noqa: E731
    script(keys=keys, args=("0", "x", "", "", b'"bench"'), client=hot)  # load it; the warm-up reserve
    reply = benchmark.pedantic(fn, rounds=ROUNDS, iterations=ITERATIONS, warmup_rounds=10)
    assert reply[0] == 1
