"""The worker in this process, on both hot-loop implementations."""
from __future__ import annotations

import json
import os
import re
import signal
import socket

import pytest

from resque import Resque, default_registry
from resque import _accel
from resque.failure import FailureBackend
from resque.hooks import WorkerHooks
from resque.keys import parse_time
from resque.worker import Worker, WorkerOptions, prune_dead_workers
from tests import jobs


@pytest.fixture(autouse=True)
def _env(redis_url, monkeypatch, impl, saved_signals):
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    monkeypatch.setattr(jobs, "_conn", None)
    monkeypatch.setattr(_accel, "run_loop", impl.run_loop)


@pytest.fixture
def rq(r):
    return Resque(r, registry=default_registry)


def drain(rq, queues="high", fork=False, hooks=None, **opts):
    w = Worker(queues, rq, WorkerOptions(interval=0, fork=fork, **opts), hooks)
    w.work()
    return w


def log(r):
    return [x.decode() for x in r.lrange("test:log", 0, -1)]


def failures(r, key="resque:failed"):
    return [json.loads(x) for x in r.lrange(key, 0, -1)]


@pytest.mark.parametrize("fork", [False, True])
def test_processes_jobs_in_queue_priority_order(rq, r, fork):
    rq.enqueue_to("low", "Record", "l1")
    rq.enqueue_to("high", "Record", "h1")
    rq.enqueue_to("high", "Record", "h2")
    w = drain(rq, "high,low", fork=fork)
    assert log(r) == ["record|h1", "record|h2", "record|l1"]
    assert r.get("resque:stat:processed") == b"3"
    assert w.processed == 3
    assert r.llen("resque:failed") == 0


@pytest.mark.parametrize("fork", [False, True])
def test_worker_record_while_running_has_rubys_shape(rq, r, fork):
    w = Worker("high", rq, WorkerOptions(interval=0, fork=fork))
    rq.enqueue_to("high", "WorkerState", f"resque:worker:{w.id}")
    w.work()
    record = r.get("test:seen")
    assert re.fullmatch(
        rb'\{"queue":"high","run_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","payload":'
        rb'\{"class":"WorkerState","args":\["resque:worker:[^"]+"\]\}\}', record), record
    title = r.get("test:title").decode()
    assert re.fullmatch(r"resque-[0-9.]+: Processing high since \d+ \[WorkerState\]", title), title
    assert r.exists(f"resque:worker:{w.id}") == 0


@pytest.mark.parametrize("fork", [False, True])
def test_exception_becomes_failure_record_and_worker_continues(rq, r, fork):
    rq.enqueue_to("high", "Boom", "kaput")
    rq.enqueue_to("high", "Record", "after")
    w = drain(rq, fork=fork)
    [rec] = failures(r)
    assert list(rec) == ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue"]
    assert (rec["exception"], rec["error"], rec["queue"], rec["worker"]) == ("ValueError", "kaput", "high", w.id)
    assert rec["payload"] == {"class": "Boom", "args": ["kaput"]}
    assert any("in `perform'" in line for line in rec["backtrace"])
    assert parse_time(rec["failed_at"]) is not None
    assert r.get("resque:stat:failed") == b"1" and r.get("resque:stat:processed") == b"2"
    assert log(r) == ["on_failure|ValueError|kaput", "record|after"]


@pytest.mark.parametrize("fork", [False, True])
def test_bad_payloads_become_failures_and_nothing_is_lost(rq, r, fork):
    bad = [b"{not json", b"null", b"[1]", b"\xff\xfe\x00", b'{"class":"os.system","args":["touch /tmp/pwned-resque"]}',
           b'{"class":"Nope::Missing","args":[]}', b'{"class":"Record","args":"one"}',
           b'{"class":"Boom","args":[1,2,3]}']
    for raw in bad:
        r.rpush("resque:queue:high", raw)
    r.sadd("resque:queues", "high")
    drain(rq, fork=fork)
    recs = failures(r)
    assert len(recs) == len(bad) - 1  # "one" is splatted into Record and runs fine
    msgs = [(f["exception"], f["error"]) for f in recs]
    assert msgs[0][0] == "resque.errors.PayloadError" and "not valid JSON" in msgs[0][1]
    assert "not a JSON object" in msgs[1][1] and "not a JSON object" in msgs[2][1]
    assert "not valid JSON" in msgs[3][1]
    assert msgs[4][0] == "resque.errors.JobNotAllowed" and "os.system" in msgs[4][1]
    assert "Nope::Missing" in msgs[5][1]
    assert msgs[6][0] == "resque.job.JobArgumentError" and "wrong arguments for job Boom" in msgs[6][1]
    assert not os.path.exists("/tmp/pwned-resque")
    assert log(r) == ["record|one"]
    assert r.llen("resque:queue:high") == 0


def test_child_killed_by_signal_is_dirty_exit_not_counted(rq, r):
    rq.enqueue_to("high", "Suicide", "kill")
    drain(rq, fork=True)
    [rec] = failures(r)
    assert rec["exception"] == "Resque::DirtyExit" and rec["backtrace"] == []
    assert re.fullmatch(r"Child process received unhandled signal pid \d+ SIGKILL \(signal 9\)", rec["error"])
    assert r.get("resque:stat:failed") is None and r.get("resque:stat:processed") == b"1"


def test_child_nonzero_exit_is_recorded(rq, r):
    rq.enqueue_to("high", "Suicide", "3")
    drain(rq, fork=True)
    [rec] = failures(r)
    assert rec["exception"] == "Resque::DirtyExit" and "exited with status 3" in rec["error"]


def test_dont_perform_skips_quietly(rq, r):
    rq.enqueue_to("high", "Skip", 1)
    drain(rq)
    assert log(r) == [] and r.llen("resque:failed") == 0 and r.get("resque:stat:processed") == b"1"


def test_worker_hooks_run_in_order_and_place(rq, r):
    hooks = WorkerHooks()
    for name in ("before_first_fork", "queue_empty", "worker_exit"):
        hooks.add(name, lambda n=name: jobs.note(n))
    hooks.add("before_fork", lambda job: jobs.note("before_fork", job.name, os.getpid()))
    hooks.add("after_fork", lambda job: jobs.note("after_fork", job.name, os.getpid()))
    rq.enqueue_to("high", "Record", 1)
    drain(rq, fork=True, hooks=hooks)
    entries = log(r)
    names = [e.split("|")[0] for e in entries]
    assert names == ["before_first_fork", "before_fork", "after_fork", "record", "queue_empty", "worker_exit"]
    parent_pid, child_pid = entries[1].split("|")[2], entries[2].split("|")[2]
    assert parent_pid == str(os.getpid()) and child_pid != parent_pid


def test_registration_heartbeat_and_unregistration_keys(rq, r):
    seen = {}
    hooks = WorkerHooks()

    def snapshot(job):
        wid = w.id
        seen["members"] = r.smembers("resque:workers")
        seen["started"] = r.get(f"resque:worker:{wid}:started")
        seen["beat"] = r.hget("resque:workers:heartbeat", wid)
        seen["lock"] = r.get("resque:pruning_dead_workers_in_progress")

    hooks.add("before_fork", snapshot)
    w = Worker("high,low", rq, WorkerOptions(interval=0, fork=True), hooks)
    assert w.id == f"{socket.gethostname()}:{os.getpid()}:high,low"
    rq.enqueue_to("high", "Record", 1)
    w.work()
    assert seen["members"] == {w.id.encode()}
    assert re.fullmatch(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", seen["started"])
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", seen["beat"])
    assert seen["lock"] is None  # nothing to prune: the lock was never taken
    for key in ("resque:workers", f"resque:worker:{w.id}", f"resque:worker:{w.id}:started",
                f"resque:stat:processed:{w.id}", f"resque:stat:failed:{w.id}"):
        assert r.exists(key) == 0, key
    assert r.hexists("resque:workers:heartbeat", w.id) == 0


def test_wildcards_follow_rubys_order_and_exclusions(rq, r):
    for q in ("b", "a", "critical", ".hidden", "low"):
        rq.enqueue_to(q, "Record", q)
    drain(rq, "critical,*,!low")
    assert log(r) == ["record|critical", "record|a", "record|b"]
    assert r.llen("resque:queue:.hidden") == 1 and r.llen("resque:queue:low") == 1


def test_wildcard_list_sees_queues_created_while_working(rq, r):
    hooks = WorkerHooks()
    hooks.add("before_first_fork", lambda: None)
    rq.enqueue_to("a", "Record", "first")

    class Enqueuer:
        @staticmethod
        def perform():
            rq.enqueue_to("new", "Record", "created-later")

    default_registry.register(Enqueuer, "Enqueuer")
    rq.enqueue_to("a", "Enqueuer")
    drain(rq, "*")
    assert log(r) == ["record|first", "record|created-later"]


def test_global_pause_flag_stops_reserving(rq, r):
    rq.enqueue_to("high", "Record", 1)
    r.set("resque:pause-all-workers", " TRUE ")
    w = Worker("high", rq, WorkerOptions(interval=0))
    w.work()
    assert r.llen("resque:queue:high") == 1 and log(r) == []
    r.delete("resque:pause-all-workers")
    drain(rq)
    assert log(r) == ["record|1"]


def test_interval_backoff_sequence_matches_ruby(rq, r, monkeypatch):
    opts = WorkerOptions(interval=1.0, min_interval=0.5, max_interval=1.0, backoff_interval=0.2)
    assert opts.intervals() == (1.0, 0.5, 1.0, 0.2)
    w = Worker("high", rq, opts)
    slept = []

    def fake_sleep(seconds):
        slept.append(round(seconds, 3))
        if len(slept) == 2:
            rq.enqueue_to("high", "Record", 1)
        if len(slept) == 5:
            w.stopping = True

    monkeypatch.setattr(w, "_sleep", fake_sleep)
    w.work()
    # idle: capped at max; after a job: min+backoff, min+2*backoff, ...
    assert slept == [1.0, 1.0, 0.7, 0.9, 1.0]


def test_prune_fails_job_of_worker_with_expired_heartbeat(rq, r):
    dead = "elsewhere:99999:high"
    r.sadd("resque:workers", dead)
    r.hset("resque:workers:heartbeat", dead, "2000-01-01T00:00:00+00:00")
    r.set(f"resque:worker:{dead}", b'{"queue":"high","run_at":"2000-01-01T00:00:00Z","payload":{"class":"Record","args":[7]}}')
    assert prune_dead_workers(rq, None, force=True) == [dead]
    [rec] = failures(r)
    assert rec["exception"] == "Resque::PruneDeadWorkerDirtyExit"
    assert rec["error"] == f"Worker {dead} did not gracefully exit while processing Record"
    assert rec["worker"] == dead and rec["payload"] == {"class": "Record", "args": [7]}
    assert r.sismember("resque:workers", dead) == 0


def test_prune_requeues_orphan_to_queue_head_when_configured(rq, r):
    dead = f"{socket.gethostname()}:999999:high"
    r.sadd("resque:workers", dead)
    r.set(f"resque:worker:{dead}", b'{"queue":"high","run_at":"2000-01-01T00:00:00Z","payload":{"class":"Record","args":[7],"id":"x"}}')
    rq.enqueue_to("high", "Record", 8)
    assert prune_dead_workers(rq, None, requeue=True, force=True) == [dead]
    assert r.lrange("resque:queue:high", 0, -1) == [b'{"class":"Record","args":[7],"id":"x"}',
                                                   b'{"class":"Record","args":[8]}']
    assert r.get("resque:stat:requeued") == b"1" and r.llen("resque:failed") == 0


def test_prune_local_pass_spares_live_and_foreign_workers(rq, r):
    host = socket.gethostname()
    live = f"{host}:{os.getpid()}:high"
    foreign = "other-host:1:high"
    dead = f"{host}:999998:high"
    r.sadd("resque:workers", live, foreign, dead)
    r.set(f"resque:worker:{dead}", b'{"queue":"high","run_at":"2000-01-01T00:00:00Z","payload":{"class":"Record","args":[]}}')
    assert prune_dead_workers(rq, None, force=True) == [dead]
    assert r.smembers("resque:workers") == {live.encode(), foreign.encode()}
    [rec] = failures(r)
    assert (rec["exception"], rec["error"]) == ("Resque::DirtyExit", "Job still being processed")


def test_prune_lock_is_taken_only_to_prune_and_released_after(rq, r):
    assert prune_dead_workers(rq, None) == []
    assert r.get("resque:pruning_dead_workers_in_progress") is None  # nothing to prune
    dead = f"{socket.gethostname()}:999997:high"
    r.sadd("resque:workers", dead)
    r.set("resque:pruning_dead_workers_in_progress", "ruby-host:1:high", ex=60)
    assert prune_dead_workers(rq, None) == []  # another holds the lock: skipped
    r.delete("resque:pruning_dead_workers_in_progress")
    assert prune_dead_workers(rq, None) == [dead]
    assert r.get("resque:pruning_dead_workers_in_progress") is None  # released right after


class BrokenBackend(FailureBackend):
    """A failure backend whose save always raises."""

    def save(self, record, queue):
        raise RuntimeError("backend down")


@pytest.mark.parametrize("fork", [False, True])
def test_a_failure_backend_that_raises_does_not_stop_the_worker(r, fork):
    rq = Resque(r, registry=default_registry, failure=BrokenBackend())
    rq.enqueue_to("high", "Boom", "x")
    if fork:
        rq.enqueue_to("high", "Suicide", "kill")  # the parent's DirtyExit record fails too
    rq.enqueue_to("high", "Record", "still-running")
    drain(rq, fork=fork)
    assert log(r)[-1] == "record|still-running"
    assert r.llen("resque:queue:high") == 0
