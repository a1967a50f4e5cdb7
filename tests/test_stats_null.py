"""``NullStats``: a worker whose client keeps no statistics writes no counters."""
from __future__ import annotations


import pytest

from resque import Resque, default_registry
from resque.stats import NullStats
from resque.worker import Worker, WorkerOptions
from tests import jobs


@pytest.fixture(autouse=True)
def _env(redis_url, monkeypatch, saved_signals):
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    monkeypatch.setattr(jobs, "_conn", None)


@pytest.mark.parametrize("fork", [False, True], ids=["no-fork", "fork"])
def test_null_stats_worker_runs_and_fails_jobs_but_writes_no_counter(r, fork):
    client = Resque(r, registry=default_registry, stats=NullStats())
    client.enqueue_to("high", "Record", "counted?")
    client.enqueue_to("high", "Boom", "bad")
    w = Worker("high", client, WorkerOptions(interval=0, fork=fork))
    w.work()
    assert r.lrange("test:log", 0, -1)[0] == b"record|counted?"
    assert r.llen("resque:failed") == 1 and r.llen("resque:queue:high") == 0
    assert w.processed == 2
    assert [k for k in r.keys("resque:stat*")] == []
    assert client.stats.get("processed") == 0 and client.stats.get("failed") == 0
    assert client.info()["processed"] == 0


def test_null_stats_answers_zero_and_accepts_every_call():
    stats = NullStats()
    assert (stats.incr("x", 5), stats.decr("x"), stats.get("x"), stats.clear("x")) == (0, 0, 0, None)
