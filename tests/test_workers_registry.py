"""Unregistering, removing and killing workers (Ruby's unregister_worker, bin/resque)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess

import pytest

from resque import Registry, Resque
from resque.errors import ResqueError
from resque.workers import kill_worker, remove_worker, unregister_worker

JOB = b'{"queue":"high","run_at":"2024-05-01T12:34:56Z","payload":{"class":"Archive","args":[44,"masterbrew"]}}'


def register(r, wid, job=None):
    """Write a worker's keys as a Ruby worker would, optionally holding a job."""
    r.sadd("resque:workers", wid)
    r.set(f"resque:worker:{wid}:started", "2024-05-01 12:34:00 +0000")
    r.hset("resque:workers:heartbeat", wid, "2024-05-01T12:34:50+00:00")
    r.set(f"resque:stat:processed:{wid}", 3)
    r.set(f"resque:stat:failed:{wid}", 1)
    if job is not None:
        r.set(f"resque:worker:{wid}", job)


def worker_keys(r, wid):
    return [k for k in (f"resque:worker:{wid}", f"resque:worker:{wid}:started",
                        f"resque:stat:processed:{wid}", f"resque:stat:failed:{wid}") if r.exists(k)]


def failures(r):
    return [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]


def test_unregister_fails_held_job_as_dirty_exit_and_deletes_every_key(client, r):
    wid = "box:42:high"
    register(r, wid, JOB)
    assert unregister_worker(client, wid) is True
    [rec] = failures(r)
    assert (rec["exception"], rec["error"]) == ("Resque::DirtyExit", "Job still being processed")
    assert rec["payload"] == {"class": "Archive", "args": [44, "masterbrew"]}
    assert rec["queue"] == "high" and rec["worker"] == wid and rec["backtrace"] == []
    assert not r.sismember("resque:workers", wid) and r.hget("resque:workers:heartbeat", wid) is None
    assert worker_keys(r, wid) == []


def test_unregister_idle_worker_records_no_failure(client, r):
    register(r, "box:43:low")
    assert unregister_worker(client, "box:43:low") is False
    assert r.llen("resque:failed") == 0 and r.scard("resque:workers") == 0


def test_unregister_records_the_given_exception(client, r):
    register(r, "box:44:high", JOB)
    unregister_worker(client, "box:44:high", RuntimeError("shutting down"))
    [rec] = failures(r)
    assert (rec["exception"], rec["error"]) == ("RuntimeError", "shutting down")


def test_unregister_runs_failure_hooks_and_survives_a_raising_hook(r):
    seen = []

    class Archive:
        @staticmethod
        def perform(*args):
            pass

        @staticmethod
        def on_failure_note(exc, *args):
            seen.append((type(exc).__name__, args))

        @staticmethod
        def on_failure_zz_raises(exc, *args):
            raise ValueError("hook broke")

    registry = Registry()
    registry.register(Archive, name="Archive")
    rq = Resque(r, registry=registry)
    register(r, "box:45:high", JOB)
    assert unregister_worker(rq, "box:45:high") is True
    assert seen == [("DirtyExit", (44, "masterbrew"))]
    assert r.llen("resque:failed") == 1 and r.scard("resque:workers") == 0


def test_unregister_keeps_an_unreadable_job_record_whole_in_a_job_shaped_stand_in(client, r):
    register(r, "box:46:high", b"not json{")
    assert unregister_worker(client, "box:46:high") is True
    [rec] = failures(r)
    assert rec["payload"] == {"class": "Resque::UndecodablePayload", "args": ["not json{"]}
    assert rec["queue"] == ""
    assert client.failure.all(0)[0].original_bytes == b"not json{"


def test_remove_worker_refuses_an_unknown_id(client, r):
    with pytest.raises(ResqueError, match="no worker 'box:1:q' is registered"):
        remove_worker(client, "box:1:q")


def test_remove_worker_reports_whether_a_job_was_failed(client, r):
    register(r, "box:47:high", JOB)
    register(r, "box:48:high")
    assert remove_worker(client, "box:47:high") is True
    assert remove_worker(client, "box:48:high") is False
    assert r.scard("resque:workers") == 0 and r.llen("resque:failed") == 1


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "30"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_kill_worker_signals_a_local_pid_then_unregisters(client, r, sleeper):
    wid = f"{socket.gethostname()}:{sleeper.pid}:high"
    register(r, wid, JOB)
    assert kill_worker(client, wid) is True
    assert sleeper.wait(10) == -signal.SIGKILL
    assert r.scard("resque:workers") == 0 and failures(r)[0]["worker"] == wid


def test_kill_worker_refuses_a_pid_the_check_rejects(client, r, sleeper):
    wid = f"{socket.gethostname()}:{sleeper.pid}:high"
    register(r, wid)
    with pytest.raises(ResqueError, match="is not a resque worker"):
        kill_worker(client, wid, is_worker=lambda pid: False)
    assert sleeper.poll() is None and r.sismember("resque:workers", wid)


def test_kill_worker_removes_a_worker_whose_process_is_gone(client, r):
    proc = subprocess.Popen(["true"])
    proc.wait()
    wid = f"{socket.gethostname()}:{proc.pid}:high"
    register(r, wid)
    assert kill_worker(client, wid, is_worker=lambda pid: False) is False
    assert r.scard("resque:workers") == 0


def test_kill_worker_refuses_a_remote_host_and_its_own_pid(client, r):
    register(r, "elsewhere.example:123:high")
    with pytest.raises(ResqueError, match="runs on elsewhere.example, not on this host"):
        kill_worker(client, "elsewhere.example:123:high")
    mine = f"{socket.gethostname()}:{os.getpid()}:high"
    register(r, mine)
    with pytest.raises(ResqueError, match="refusing to signal"):
        kill_worker(client, mine)
    assert r.scard("resque:workers") == 2
