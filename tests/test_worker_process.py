"""``resque work`` as a real process: signals, pid files, crashes, supervision."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resque import Registry, Resque
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent



@pytest.fixture
def rq(r):
    return Resque(r, registry=Registry())


def start(env, *args, extra_env=None):
    cmd = [sys.executable, "-m", "resque", "work", "-A", "tests.jobs", "--interval", "0.1", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env={**env, **(extra_env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def registered(r, pid):
    return [w.decode() for w in r.smembers("resque:workers") if f":{pid}:" in w.decode()]


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def log(r):
    return [x.decode() for x in r.lrange("test:log", 0, -1)]


def failures(r):
    return [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]


def started_job(r):
    return next((e for e in log(r) if e.startswith("start|")), None)


def stop(proc, sig=signal.SIGQUIT):
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(15)


def test_background_with_pidfile_returns_at_once_and_quit_stops_it(env, r, rq, tmp_path):
    pidfile = tmp_path / "resque.pid"
    out = subprocess.run([sys.executable, "-m", "resque", "work", "-A", "tests.jobs", "--interval", "0.1",
                          "--background", "--pidfile", str(pidfile), "-q", "high"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    pid = int(pidfile.read_text())
    try:
        wait_for(lambda: registered(r, pid))
        assert wait_for(lambda: re.search(r"resque-[0-9.]+: Waiting for high", cmdline(pid)))
        rq.enqueue_to("high", "Record", "bg")
        wait_for(lambda: log(r) == ["record|bg"])
    finally:
        os.kill(pid, signal.SIGQUIT)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"))
    assert not pidfile.exists() and r.scard("resque:workers") == 0


def test_pidfile_refuses_live_pid_and_garbage_and_scrubs_stale(env, tmp_path):
    pidfile = tmp_path / "w.pid"
    base = [sys.executable, "-m", "resque", "work", "-q", "high", "--interval", "0", "--pidfile", str(pidfile)]
    pidfile.write_text(str(os.getpid()))
    out = subprocess.run(base, cwd=ROOT, env=env, capture_output=True, text=True, timeout=20)
    assert out.returncode == 1 and "names running process" in out.stderr
    pidfile.write_text("garbage")
    out = subprocess.run(base, cwd=ROOT, env=env, capture_output=True, text=True, timeout=20)
    assert out.returncode == 1 and "not a pid" in out.stderr
    pidfile.write_text("999999")
    out = subprocess.run(base, cwd=ROOT, env=env, capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert not pidfile.exists()


def test_no_queue_is_a_usage_error(env):
    out = subprocess.run([sys.executable, "-m", "resque", "work"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 2 and "no queue given" in out.stderr


def test_quit_lets_the_running_job_finish(env, r, rq):
    proc = start(env, "-q", "high")
    rq.enqueue_to("high", "Sleepy", 0.5, "q")
    wait_for(lambda: started_job(r))
    assert stop(proc) == 0
    assert log(r)[-1] == "end|q" and r.llen("resque:failed") == 0
    assert r.scard("resque:workers") == 0


def test_term_kills_child_records_dirty_exit_and_exits(env, r, rq):
    proc = start(env, "-q", "high")
    rq.enqueue_to("high", "Sleepy", 30, "t")
    wait_for(lambda: started_job(r))
    assert stop(proc, signal.SIGTERM) == 0
    [rec] = failures(r)
    assert rec["exception"] == "Resque::DirtyExit" and "SIGKILL (signal 9)" in rec["error"]
    assert r.scard("resque:workers") == 0


def test_term_child_raises_term_exception_in_the_job(env, r, rq):
    proc = start(env, "-q", "high", extra_env={"TERM_CHILD": "1", "RESQUE_TERM_TIMEOUT": "5"})
    rq.enqueue_to("high", "Sleepy", 30, "tc")
    wait_for(lambda: started_job(r))
    assert stop(proc, signal.SIGTERM) == 0
    assert "term|tc" in log(r)
    [rec] = failures(r)
    assert (rec["exception"], rec["error"]) == ("Resque::TermException", "SIGTERM")
    assert r.get("resque:stat:failed") == b"1"


def test_usr1_kills_the_child_and_keeps_working(env, r, rq):
    proc = start(env, "-q", "high")
    try:
        rq.enqueue_to("high", "Sleepy", 30, "u")
        rq.enqueue_to("high", "Record", "next")
        wait_for(lambda: started_job(r))
        parent = cmdline(proc.pid)
        assert re.search(r"Forked \d+ at \d+", parent), parent
        proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: "record|next" in log(r))
        assert failures(r)[0]["exception"] == "Resque::DirtyExit"
        assert proc.poll() is None
    finally:
        stop(proc)


def test_usr2_pauses_and_cont_resumes(env, r, rq):
    proc = start(env, "-q", "high")
    try:
        wait_for(lambda: registered(r, proc.pid))
        proc.send_signal(signal.SIGUSR2)
        wait_for(lambda: "Paused" in cmdline(proc.pid))
        rq.enqueue_to("high", "Record", "p")
        time.sleep(0.5)
        assert r.llen("resque:queue:high") == 1
        proc.send_signal(signal.SIGCONT)
        wait_for(lambda: log(r) == ["record|p"])
    finally:
        stop(proc)


def test_killed_child_becomes_dirty_exit_failure(env, r, rq):
    proc = start(env, "-q", "high")
    try:
        rq.enqueue_to("high", "Sleepy", 30, "k")
        rq.enqueue_to("high", "Record", "after")
        child = int(wait_for(lambda: started_job(r)).split("|")[2])
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: "record|after" in log(r))
        [rec] = failures(r)
        assert rec["error"] == f"Child process received unhandled signal pid {child} SIGKILL (signal 9)"
    finally:
        stop(proc)


@pytest.mark.parametrize("requeue", [False, True])
def test_killed_parent_is_pruned_by_the_next_worker(env, r, rq, requeue):
    first = start(env, "-q", "high", "--heartbeat-interval", "1")  # holds the prune lock 1 s
    rq.enqueue_to("high", "Sleepy", 1.0, "orphan")
    child = int(wait_for(lambda: started_job(r)).split("|")[2])
    wid = registered(r, first.pid)[0]
    first.kill()
    first.wait(10)
    wait_for(lambda: not os.path.exists(f"/proc/{child}") or "end|orphan" in log(r), timeout=15)
    assert r.get(f"resque:worker:{wid}")  # the dead worker still holds the job
    args = ["-q", "high", "--heartbeat-interval", "1"] + (["--requeue-orphans"] if requeue else [])
    second = start(env, *args)
    try:
        wait_for(lambda: not r.sismember("resque:workers", wid))
        if requeue:
            wait_for(lambda: log(r).count("end|orphan") == 2)  # ran again: at least once
            assert r.llen("resque:failed") == 0 and r.get("resque:stat:requeued") == b"1"
        else:
            [rec] = wait_for(lambda: failures(r))
            assert (rec["exception"], rec["error"], rec["worker"]) == (
                "Resque::DirtyExit", "Job still being processed", wid)
    finally:
        stop(second)


def test_worker_survives_connections_killed_by_the_server(env, r, rq):
    proc = start(env, "-q", "high")
    try:
        wait_for(lambda: registered(r, proc.pid))
        rq.enqueue_to("high", "Record", "before")
        wait_for(lambda: log(r) == ["record|before"])
        r.client_kill_filter(_type="normal", skipme=True)
        time.sleep(0.3)
        rq.enqueue_to("high", "Record", "after")
        wait_for(lambda: log(r) == ["record|before", "record|after"])
        assert proc.poll() is None
    finally:
        stop(proc)


def test_workers_supervisor_restarts_dead_workers_and_stops_all(env, r):
    cmd = [sys.executable, "-m", "resque", "workers", "--count", "2", "-q", "high", "-A", "tests.jobs",
           "--interval", "0.1"]
    sup = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ids = wait_for(lambda: r.smembers("resque:workers") if r.scard("resque:workers") == 2 else None, 20)
        before = {int(w.decode().split(":")[1]) for w in ids}
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)

        def replaced():  # a new worker registered; the dead one was pruned (by it, at start-up)
            now = {int(w.decode().split(":")[1]) for w in r.smembers("resque:workers")}
            return now if len(now) == 2 and victim not in now and now != before else None

        pids = wait_for(replaced, 20)
    finally:
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(20) == 0
    alive = [p for p in pids - {victim} if os.path.exists(f"/proc/{p}") and "resque" in cmdline(p)]
    assert alive == []


def test_term_child_without_fork_raises_term_exception_in_the_worker(env, r, rq):
    proc = start(env, "-q", "high", "--no-fork", extra_env={"TERM_CHILD": "1"})
    rq.enqueue_to("high", "Sleepy", 30, "nf")
    started = wait_for(lambda: started_job(r))
    assert started.split("|")[2] == str(proc.pid)  # performed in the worker process itself
    assert stop(proc, signal.SIGTERM) == 0
    assert "term|nf" in log(r)
    [rec] = failures(r)
    assert (rec["exception"], rec["error"]) == ("Resque::TermException", "SIGTERM")
    assert r.scard("resque:workers") == 0


def test_quit_during_idle_sleep_exits_promptly(env, r):
    proc = subprocess.Popen(
        [sys.executable, "-m", "resque", "work", "-q", "high", "--interval", "30"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: registered(r, proc.pid) and "Waiting for high" in cmdline(proc.pid))
    proc.send_signal(signal.SIGQUIT)
    assert proc.wait(5) == 0  # well before the 30 s sleep would end


def test_workers_supervisor_does_not_restart_workers_that_finished(env, r, rq):
    rq.enqueue_to("high", "Record", "once")
    out = subprocess.run([sys.executable, "-m", "resque", "workers", "--count", "2", "-q", "high",
                          "-A", "tests.jobs", "--interval", "0"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("finished") == 2 and "restarting" not in out.stderr
    assert log(r) == ["record|once"]


def test_jobs_enqueueing_from_a_worker_use_the_workers_redis(env, r, rq):
    env = {k: v for k, v in env.items() if k not in ("RESQUE_REDIS_URL", "REDIS_URL")}
    env["RESQUE_DATA_DIR"] = "/nonexistent/never-used"
    url = rq.connection.redis.connection_pool.connection_kwargs["path"]
    rq.enqueue_to("high", "Chain", "next")
    out = subprocess.run([sys.executable, "-m", "resque", "-r", f"unix://{url}", "work", "-q", "high,low",
                          "-A", "tests.jobs", "--interval", "0", "--no-fork"],
                         cwd=ROOT, env={**env, "RESQUE_TEST_URL": f"unix://{url}"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [x.decode() for x in r.lrange("test:log", 0, -1)] == ["record|next"]
