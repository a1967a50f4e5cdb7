"""``resque scheduler`` as a real process: election, signals, title, heartbeat, daemon."""
from __future__ import annotations

import os
import signal
import sys
import time
import subprocess

import pytest

from resque._compat import loads
from resque.scheduler.lock import host_name
from tests.helpers import wait_for
from tests.scheduler_process import ROOT, SchedulerProcess

LOCK = "resque:resque:resque_scheduler_master_lock"


@pytest.fixture
def schedule_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "schedule.yml"
    path.write_text("tick:\n  cron: '* * * * * *'\n  class: SomeJob\n  queue: ticks\n  args: [1]\n")
    return path


def test_scheduler_process_is_master_moves_fires_and_stops_on_term(r, redis_url, schedule_file, tmp_path):  # type: ignore[no-untyped-def]
    due = int(time.time()) - 3
    r.rpush(f"resque:delayed:{due}", b'{"class":"SomeJob","args":[7],"queue":"smoke_q"}')
    r.zadd("resque:delayed_queue_schedule", {str(due): due})
    with SchedulerProcess(redis_url, tmp_path / "s.log", "--schedule", str(schedule_file),
                          "--interval", "0.2") as p:
        value = f"{host_name()}:{p.pid}"
        wait_for(lambda: r.get(LOCK) == value.encode(), 20)
        wait_for(lambda: r.llen("resque:queue:smoke_q") == 1, 10)
        wait_for(lambda: r.llen("resque:queue:ticks") >= 2, 10)
        assert "resque-scheduler-0.1.0: Master scheduler" in wait_for(
            lambda: p.title() if "Master" in p.title() else "", 10)
        beat = loads(r.hget("resque:scheduler:heartbeats", value))
        assert beat["master"] is True and beat["pid"] == p.pid
        p.signal(signal.SIGUSR1)
        wait_for(lambda: "Scheduling Info" in p.log(), 10)
        schedule_file.write_text(schedule_file.read_text() + "added:\n  every: 1h\n  class: SomeJob\n")
        p.signal(signal.SIGUSR2)
        wait_for(lambda: "scheduled 'added'" in p.log(), 10)
        assert p.stop() == 0
    assert not r.exists(LOCK)
    assert not r.hexists("resque:scheduler:heartbeats", value)


def test_a_standby_takes_over_within_the_lock_ttl_after_kill_9(r, redis_url, schedule_file, tmp_path):  # type: ignore[no-untyped-def]
    args = ("--schedule", str(schedule_file), "--interval", "0.2", "--lock-timeout", "2")
    with SchedulerProcess(redis_url, tmp_path / "a.log", *args) as a:
        wait_for(lambda: r.get(LOCK) == f"{host_name()}:{a.pid}".encode(), 20)
        with SchedulerProcess(redis_url, tmp_path / "b.log", *args) as b:
            wait_for(lambda: "Child scheduler" in b.title(), 20)
            a.kill9()
            wait_for(lambda: r.get(LOCK) == f"{host_name()}:{b.pid}".encode(), 20)
            before = r.llen("resque:queue:ticks")
            wait_for(lambda: r.llen("resque:queue:ticks") > before, 10)


def test_background_writes_a_pidfile_and_refuses_a_live_one(r, redis_url, tmp_path):  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "scheduler.pid"
    cmd = [sys.executable, "-m", "resque", "--redis", redis_url, "scheduler", "--background",
           "--pidfile", str(pidfile), "--logfile", str(tmp_path / "bg.log"), "--interval", "0.2"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, env=env, cwd=ROOT, timeout=30, capture_output=True)
    assert done.returncode == 0, done.stderr
    pid = int(pidfile.read_text())
    try:
        wait_for(lambda: r.get(LOCK) == f"{host_name()}:{pid}".encode(), 20)
        again = subprocess.run(cmd, env=env, cwd=ROOT, timeout=30, capture_output=True, text=True)
        assert again.returncode == 1 and "names running process" in again.stderr
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pidfile.exists(), 20)
    assert not r.exists(LOCK)


def test_a_bad_schedule_file_is_one_clear_error(redis_url, tmp_path):  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yml"
    bad.write_text("x:\n  cron: 'every tuesday'\n  class: C\n")
    out = subprocess.run([sys.executable, "-m", "resque", "--redis", redis_url, "scheduler", "--schedule",
                          str(bad)], env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "invalid cron string" in out.stderr
