"""Workers time every job per class, inside the cycle call they already make."""
from __future__ import annotations

import logging

import pytest

from resque import Registry, Resque, _accel
from resque.keys import TIMING_CLASS_CAP
from resque.timing import Timing, bucket_of
from resque.worker import Worker, WorkerOptions
from tests import jobs
from tests.test_worker import _env, rq  # noqa: F401 - fixtures: both hot loops, signals restored


def reads_served(r) -> int:
    return int(r.info("stats")["total_reads_processed"])


def drain(rq, fork=False, **opts):
    return Worker("high", rq, WorkerOptions(interval=0, fork=fork, **opts)).work()


def by_class(rq):
    return {t.name: t for t in Timing(rq.store).classes()}


@pytest.mark.parametrize("fork", [False, True], ids=["nofork", "fork"])
def test_each_job_is_timed_per_class(rq, fork):
    rq.enqueue_many(jobs.Record, [("a",), ("b",), ("c",)])
    rq.enqueue_many(jobs.Sleepy, [(0.06,), (0.06,)])
    rq.enqueue(jobs.Boom, "failing jobs are timed too")
    assert drain(rq, fork=fork) == 6
    timed = by_class(rq)
    assert {n: t.count for n, t in timed.items()} == {"Record": 3, "Sleepy": 2, "Boom": 1}
    sleepy = timed["Sleepy"]
    assert sleepy.sum >= 0.12
    assert sum(sleepy.buckets[:bucket_of(0.06)]) == 0  # none faster than it slept
    assert sum(t.buckets[-1] for t in timed.values()) == 0  # nothing over 300 s
    assert all(sum(t.buckets) == t.count for t in timed.values())


def test_a_killed_child_is_timed_as_its_class(rq):
    rq.enqueue(jobs.Suicide, "kill")
    drain(rq, fork=True)
    assert by_class(rq)["Suicide"].count == 1


def test_classes_past_the_cap_are_counted_as_other(rq, r):
    r.sadd("resque:timing:classes", *[f"Old{i}" for i in range(TIMING_CLASS_CAP)])
    rq.enqueue(jobs.Record, "x")
    drain(rq)
    timed = by_class(rq)
    assert "Record" not in timed and timed["(other)"].count == 1
    assert r.scard("resque:timing:classes") == TIMING_CLASS_CAP


def test_timing_can_be_turned_off(rq, r):
    rq.enqueue(jobs.Record, "x")
    drain(rq, job_timing=False)
    assert not r.exists("resque:timing", "resque:timing:classes")


class Noop:
    queue = "quiet"

    @staticmethod
    def perform(i: int) -> None:
        pass


def test_timing_adds_no_round_trip_per_job(r):
    """Socket reads Redis served per job, timing on and off, in the steady state."""
    registry = Registry()
    registry.register(Noop, name="Noop")
    rq = Resque(r, registry=registry)
    reads = {}
    for timing in (True, False):
        rq.enqueue_many(Noop, [(i,) for i in range(300)])
        w = Worker("quiet", rq, WorkerOptions(interval=0, fork=False, job_timing=timing))
        w.startup()
        assert w._heartbeat is not None
        w._heartbeat.stop()  # its beats and chart samples would count as the worker's reads
        try:
            for _ in range(20):  # warm up: connections, scripts loaded
                _accel.work_one(w)
            before = reads_served(r)
            for _ in range(200):
                _accel.work_one(w)
            reads[timing] = reads_served(r) - before - 1  # the INFO's own read
        finally:
            w.shutdown_cleanup()
    assert reads[True] == reads[False] == 200  # one round trip per job, with or without timing
    assert by_class(rq)["Noop"].count == 220  # the jobs of the worker with timing on


def test_each_job_logs_one_line_with_its_fields(rq, caplog):
    rq.enqueue(jobs.Record, "x")
    rq.enqueue(jobs.Boom, "no")
    with caplog.at_level(logging.INFO, logger="resque.jobs"):
        drain(rq)
    lines = [rec for rec in caplog.records if hasattr(rec, "resque")]
    fields = [rec.resque for rec in lines]  # type: ignore[attr-defined]
    assert [(f["class"], f["queue"], f["outcome"]) for f in fields] == [
        ("Record", "high", "done"), ("Boom", "high", "failed")]
    assert all(f["worker"].endswith(":high") and f["duration"] >= 0 for f in fields)
    assert lines[0].getMessage().startswith("done: Job('high', 'Record'")
