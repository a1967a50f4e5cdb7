"""``resque workers``: the supervisor keeps its count until told to stop."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from resque import Registry, Resque
from tests.helpers import RedisServer, wait_for

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "data" / "apppkg"
SECRET = "sup3r-Secret-pw"


@pytest.fixture
def env(redis_url, tmp_path):
    e = dict(os.environ, RESQUE_REDIS_URL=redis_url, PYTHONPATH=str(ROOT),
             RESQUE_DATA_DIR=str(tmp_path / "never-used"))
    for var in ("QUEUE", "QUEUES", "INTERVAL", "COUNT", "PIDFILE", "BACKGROUND", "TERM_CHILD",
                "FORK_PER_JOB", "REDIS_URL"):
        e.pop(var, None)
    return e


class Sup:
    """A supervisor process whose stderr goes to a file we can read while it runs."""

    def __init__(self, env, tmp_path, *args):
        self.log = tmp_path / "supervisor.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "resque", *args], cwd=ROOT, env=env,
                                         stdout=out, stderr=subprocess.STDOUT)

    def text(self):
        return self.log.read_text()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(30)


def pids(r):
    return {int(w.decode().split(":")[1]) for w in r.smembers("resque:workers")}


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_worker_stopped_with_term_is_started_again(env, r, tmp_path):
    sup = Sup(env, tmp_path, "workers", "-c", "2", "-q", "high", "-A", "tests.jobs", "-i", "0.1")
    try:
        first = wait_for(lambda: pids(r) if len(pids(r)) == 2 else None, 20)
        victim = min(first)
        os.kill(victim, signal.SIGTERM)  # a clean exit, status 0
        now = wait_for(lambda: pids(r) if len(pids(r)) == 2 and victim not in pids(r) else None, 20)
        assert len(now - first) == 1
        assert f"worker {victim} exited (0)" in sup.text()
    finally:
        assert sup.stop() == 0
    assert not any(alive(p) for p in now)


def test_a_no_fork_worker_whose_job_exits_0_is_replaced_and_work_goes_on(env, r, tmp_path):
    rq = Resque(r, registry=Registry())
    sup = Sup(env, tmp_path, "workers", "-c", "1", "-q", "high", "-A", "tests.jobs", "-i", "0.1",
              "--no-fork")
    try:
        [first] = wait_for(lambda: pids(r) if len(pids(r)) == 1 else None, 20)
        rq.enqueue_to("high", "Suicide", "0")  # os._exit(0) in the worker process itself
        wait_for(lambda: not alive(first), 20)
        rq.enqueue_to("high", "Record", "after")
        wait_for(lambda: r.lrange("test:log", 0, -1) == [b"record|after"], 20)
        assert sup.proc.poll() is None
    finally:
        assert sup.stop() == 0


def test_a_crash_loop_backs_off_with_doubling_delays(env, tmp_path):
    sup = Sup(env, tmp_path, "workers", "-c", "1", "-q", "high", "-A", str(APPS / "broken_app.py"))
    try:
        wait_for(lambda: sup.text().count("restarting in") >= 3, 30)
        delays = [float(d) for d in re.findall(r"restarting in ([0-9.]+)s", sup.text())]
        assert delays[:3] == [1.0, 2.0, 4.0]
    finally:
        assert sup.stop() == 0


def test_the_redis_password_never_reaches_a_childs_command_line(env, tmp_path):
    server = RedisServer("--requirepass", SECRET, aof=False, tcp=True, password=SECRET).start()
    try:
        url = f"redis://:{SECRET}@127.0.0.1:{server.port}/0"
        test_env = {k: v for k, v in env.items() if k != "RESQUE_REDIS_URL"}
        test_env["RESQUE_TEST_URL"] = url
        sup = Sup(test_env, tmp_path, "-r", url, "workers", "-c", "2", "-q", "high",
                  "-A", str(APPS / "argv_app.py"))
        admin = server.raw()
        try:
            ids = wait_for(lambda: admin.smembers("resque:workers") if admin.scard("resque:workers") == 2
                           else None, 20)
            for wid in ids:
                pid = int(wid.decode().split(":")[1])
                assert SECRET.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
            argvs = [json.loads(a) for a in admin.lrange("test:argv", 0, -1)]
            assert len(argvs) == 2
            for argv in argvs:
                assert not any(SECRET in arg for arg in argv), argv
        finally:
            assert sup.stop() == 0
        assert SECRET not in sup.text()
    finally:
        server.cleanup()
