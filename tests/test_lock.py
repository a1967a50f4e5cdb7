"""Job locks (resque-lock-timeout's keys): unique while queued, one at a time while running."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

import pytest

import resque
from resque import Resque, _accel
from resque.errors import DirtyExit
from resque.plugins import Lock
from resque.workers import unregister_worker
from resque.worker import Worker, WorkerOptions
from tests import retry_jobs as jobs
from tests.plugin_fixtures import rc  # noqa: F401 - the fixture

HOST = socket.gethostname()


def drain(client, queues="lock_q", fork=False):
    return Worker(queues, client, WorkerOptions(interval=0, fork=fork)).work()


def lock_keys(r):
    return sorted(k.decode() for k in r.scan_iter("resque:*lock:*"))


def dead_pid():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


# -- unique while queued ------------------------------------------------------------

def test_an_identical_job_already_queued_is_not_enqueued_again(rc, r, caplog):
    caplog.set_level(logging.INFO)
    assert rc.enqueue(jobs.unique, "u") is True
    assert rc.enqueue(jobs.unique, "u") is None
    assert rc.enqueue(jobs.unique, "other") is True
    assert r.llen("resque:queue:lock_q") == 2
    assert "already queued" in caplog.text
    assert 86000 < r.ttl("resque:loner:lock:Unique:u") <= 86400
    drain(rc)
    assert lock_keys(r) == []
    assert rc.enqueue(jobs.unique, "u") is True  # no longer queued: enqueued again


def test_a_queued_lock_whose_push_never_happened_lives_only_seconds(rc, r):
    spec = jobs.unique.__resque_job__
    assert spec.options["lock"].before_enqueue(spec, ["lost"]) is True  # and then the push fails
    assert 0 < r.ttl("resque:loner:lock:Unique:lost") <= 30


# -- one at a time --------------------------------------------------------------------

@pytest.mark.parametrize("fork", [False, True], ids=["no-fork", "fork"])
def test_the_running_lock_is_held_during_perform_and_released_after(rc, r, impl, monkeypatch, fork):
    monkeypatch.setattr(_accel, "run_loop", impl.run_loop)
    @resque.job(queue="lock_q", name="Peek", registry=jobs.REGISTRY, lock=Lock(ttl=120))
    def peek(n, s):
        key = "resque:lock:Peek:7-x"
        jobs.conn().rpush("peeked", jobs.conn().get(key), jobs.conn().ttl(key))

    rc.enqueue(peek, 7, "x")
    rc.enqueue(jobs.unique, "fail-1")
    drain(rc, fork=fork)
    value, ttl = r.lrange("peeked", 0, -1)
    stamp, holder = value.decode().split(" ")
    assert int(stamp) == pytest.approx(time.time() + 120, abs=3)
    assert holder.startswith(HOST + ":")
    assert 0 < int(ttl) <= 120
    assert lock_keys(r) == []  # released after success and after an exception


def test_a_copy_finding_the_job_running_is_requeued_through_the_delayed_queue(rc, r):
    r.set("resque:lock:Locked:a", f"{int(time.time()) + 60} otherhost:1")
    rc.enqueue(jobs.locked, "a")
    assert drain(rc) == 1
    assert jobs.runs("a") == 0
    [member] = r.zrange("resque:delayed_queue_schedule", 0, -1)
    assert int(member) - time.time() == pytest.approx(1, abs=1.5)
    assert r.lrange(b"resque:delayed:" + member, 0, -1) == \
        [b'{"class":"Locked","args":["a"],"queue":"lock_q"}']
    assert r.get("resque:lock:Locked:a").endswith(b"otherhost:1")  # not ours to touch


def test_a_copy_finding_the_job_running_can_be_dropped(rc, r):
    r.set("resque:lock:Dropping:d", f"{int(time.time()) + 60} otherhost:1")
    rc.enqueue(jobs.dropping, "d")
    assert drain(rc) == 1
    assert jobs.runs("d") == 0
    assert r.llen("resque:failed") == 0 and r.zcard("resque:delayed_queue_schedule") == 0


def test_a_copy_can_wait_for_the_lock(rc, r):
    r.set("resque:lock:Waiting:w", f"{int(time.time()) + 60} otherhost:1")
    threading.Timer(0.5, lambda: jobs.conn().delete("resque:lock:Waiting:w")).start()
    started = time.monotonic()
    rc.enqueue(jobs.waiting, "w")
    drain(rc)
    assert jobs.runs("w") == 1
    assert time.monotonic() - started >= 0.4


def test_copies_in_several_workers_never_run_at_once(rc, r, redis_url):
    for _ in range(8):
        rc.enqueue(jobs.waiting, "many", 0.05)
    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                client = Resque(redis_url, registry=jobs.REGISTRY)
                resque.set_client(client)
                drain(client, fork=True)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    assert all(os.waitpid(pid, 0)[1] == 0 for pid in pids)
    assert jobs.runs("many") == 8
    assert r.get("overlaps:many") is None
    assert lock_keys(r) == []


# -- locks of jobs whose process died ----------------------------------------------------

def test_a_killed_child_leaves_no_lock(rc, r, impl, monkeypatch):
    monkeypatch.setattr(_accel, "run_loop", impl.run_loop)
    rc.enqueue(jobs.unique, "k", True)
    drain(rc, fork=True)
    assert jobs.runs("k") == 1
    assert [f for f in r.lrange("resque:failed", 0, -1) if b"DirtyExit" in f]
    assert lock_keys(r) == []


def test_the_pruner_releases_the_lock_of_a_dead_holder_only(rc, r):
    spec = jobs.unique.__resque_job__
    payload = '{"class":"Unique","args":["p"]}'
    wid = f"{HOST}:{dead_pid()}:lock_q"
    r.sadd("resque:workers", wid)
    r.set(f"resque:worker:{wid}", '{"queue":"lock_q","run_at":"2024-01-01T00:00:00Z","payload":%s}' % payload)
    r.set("resque:lock:Unique:p", f"{int(time.time()) + 60} {HOST}:{dead_pid()}")
    unregister_worker(rc, wid, DirtyExit("Job still being processed"))
    assert not r.exists("resque:lock:Unique:p")
    r.set("resque:lock:Unique:p", f"{int(time.time()) + 60} {HOST}:{os.getppid()}")  # alive, not us
    spec.options["lock"].on_failure(spec, DirtyExit("x"), ["p"])
    assert r.exists("resque:lock:Unique:p")


# -- locks written by Ruby's resque-lock-timeout ----------------------------------------------

@pytest.mark.parametrize("value,taken", [
    (str(int(time.time()) - 5), True),    # a Ruby lock whose lock_timeout has passed
    (str(int(time.time()) + 600), False),  # a Ruby lock still in force
    ("true", False),                       # a Ruby lock without timeout
])
def test_ruby_lock_values_are_read_as_resque_lock_timeout_reads_them(rc, r, value, taken):
    r.set("resque:lock:Dropping:rb", value)
    rc.enqueue(jobs.dropping, "rb")
    drain(rc)
    assert jobs.runs("rb") == (1 if taken else 0)


def test_a_lock_with_nothing_to_lock_is_refused():
    with pytest.raises(ValueError):
        Lock(running=False, queued=False)
    with pytest.raises(ValueError):
        Lock(on_locked="panic")
