"""Job time limits: stopped inside the job, killed by the worker, and what follows."""
from __future__ import annotations

import json
import signal
import time

import pytest

from resque import Resque, _accel
from resque.errors import JobTimeout
from resque.limits import JobTimer, Timeout, limit_of
from resque.options import WorkerOptions
from resque.worker import Worker
from tests import retry_jobs as jobs
from tests.plugin_fixtures import rc  # noqa: F401 - the fixture
from tests.monitor import Monitor



@pytest.fixture(autouse=True)
def _both_loops(monkeypatch, impl):
    """Run every test here on each hot-loop implementation."""
    monkeypatch.setattr(_accel, "run_loop", impl.run_loop)


def drain(client, fork, **opts):
    opts.setdefault("term_timeout", 0.3)
    return Worker("slow_q", client, WorkerOptions(interval=0, fork=fork, **opts)).work()


def failures(r):
    return [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]


@pytest.mark.parametrize("fork", [False, True], ids=["no-fork", "fork"])
def test_a_job_past_its_limit_is_stopped_and_recorded_and_the_worker_goes_on(rc, r, fork):
    rc.enqueue(jobs.sleepy, "s", 30)
    rc.enqueue(jobs.sleepy, "quick", 0)
    started = time.monotonic()
    assert drain(rc, fork) == 2
    assert time.monotonic() - started < 10
    [record] = failures(r)
    assert record["exception"] == "resque.errors.JobTimeout"
    assert record["error"].startswith("Sleepy ran past its time limit of 0.5s: stopped after 0.")
    assert r.llen("done:s") == 0 and r.llen("done:quick") == 1
    [limit] = r.lrange("limit:s", 0, -1)  # the limit was readable while the job ran
    assert json.loads(limit)["limit"] == 0.5 and json.loads(limit)["run_at"].endswith("Z")


def test_a_job_that_swallows_its_timeout_is_killed_after_the_term_timeout(rc, r):
    rc.enqueue(jobs.stubborn, "st")
    started = time.monotonic()
    drain(rc, fork=True, term_timeout=0.5)
    took = time.monotonic() - started
    assert 0.7 < took < 10
    [record] = failures(r)
    assert record["exception"] == "resque.errors.JobTimeout"
    assert "Stubborn ran past its time limit of 0.3s: killed after" in record["error"]


def test_class_limits_worker_defaults_and_opting_out(rc, r):
    rc.enqueue(jobs.Slow, "class", 30)                   # its own 0.4 s
    rc.enqueue(jobs.unlimited, "optout", 1.0)            # timeout=0: no limit, not even the default
    rc.enqueue_to("slow_q", "Record::Elsewhere", 1)      # unknown here: fails at once anyway
    drain(rc, fork=True, job_timeout=0.6)
    kinds = [(f["payload"]["class"], f["exception"]) for f in failures(r)]
    assert ("Slow", "resque.errors.JobTimeout") in kinds
    assert all(name != "Unlimited" for name, _ in kinds)
    assert jobs.runs("optout") == 1


def test_limits_resolve_from_option_class_and_default():
    spec = jobs.sleepy.__resque_job__
    assert limit_of(spec, 10) == 0.5
    assert limit_of(jobs.Slow.__resque_job__, 10) == 0.4
    assert limit_of(jobs.unlimited.__resque_job__, 10) is None
    assert limit_of(jobs.retry_now.__resque_job__, 10) == 10
    assert limit_of(None, 0) is None
    with pytest.raises(ValueError):
        Timeout(-1)


@pytest.mark.parametrize("fork", [False, True], ids=["no-fork", "fork"])
def test_a_timed_out_attempt_is_retried_by_the_retry_policy(rc, r, fork):
    rc.enqueue(jobs.slow_retry, "sr")
    drain(rc, fork)
    assert jobs.runs("sr") == 2
    assert [f["exception"] for f in failures(r)] == ["resque.errors.JobTimeout"]
    assert not list(r.scan_iter("resque:resque-retry:*"))


@pytest.mark.parametrize("stubborn", [False, True], ids=["stopped", "killed"])
def test_the_lock_of_a_timed_out_job_is_released(rc, r, stubborn):
    rc.enqueue(jobs.slow_locked, "sl", stubborn)
    drain(rc, fork=True)
    assert [f["exception"] for f in failures(r)] == ["resque.errors.JobTimeout"]
    assert not list(r.scan_iter("resque:lock:*"))


def test_jobs_without_a_limit_write_nothing_and_arm_nothing(rc, r, redis_server):
    rc.enqueue(jobs.retry_now, "plain", 0)
    alarm = signal.getsignal(signal.SIGALRM)
    timer = signal.getitimer(signal.ITIMER_REAL)  # pytest-timeout's, if it runs one
    with Monitor(str(redis_server.socket)) as wire:
        drain(rc, fork=False)
    assert not [w for w in wire.words() if len(w) > 1 and w[1].startswith(b"resque:timeout:")]
    assert signal.getsignal(signal.SIGALRM) is alarm
    assert signal.getitimer(signal.ITIMER_REAL)[0] == pytest.approx(timer[0], abs=5)


def test_the_timer_raises_once_and_puts_the_handler_and_an_earlier_timer_back():
    original = signal.getsignal(signal.SIGALRM)
    earlier = signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, lambda *a: None)
    signal.setitimer(signal.ITIMER_REAL, 100)
    before = signal.getsignal(signal.SIGALRM)
    timer = JobTimer()
    timer.arm("T", 0.05)
    with pytest.raises(JobTimeout, match="T ran past its time limit of 0.05s"):
        time.sleep(2)
    timer.disarm()
    assert signal.getsignal(signal.SIGALRM) is before
    assert 98 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
    timer.arm("T", 5)
    timer.disarm()  # disarmed in time: nothing is raised
    time.sleep(0.01)
    signal.signal(signal.SIGALRM, original)
    signal.setitimer(signal.ITIMER_REAL, *earlier)


# -- the limit where people look: the working list and `resque top` ----------------------------

def _busy_worker(r, wid, started, limit_run_at=None, limit=30):
    from resque.keys import run_at
    stamp = run_at(started)
    r.sadd("resque:workers", wid)
    r.set(f"resque:worker:{wid}", json.dumps(
        {"queue": "slow_q", "run_at": stamp, "payload": {"class": "Sleepy", "args": ["x", 9]}}))
    if limit is not None:
        r.set(f"resque:timeout:{wid}", json.dumps({"run_at": limit_run_at or stamp, "limit": limit}))


def test_the_working_list_and_top_show_elapsed_time_against_the_limit(r, redis_server, monkeypatch):
    from resque.cli.top import render_top
    from resque.web import create_app
    from tests.web_helpers import Web, text_of

    monkeypatch.delenv("RESQUE_WEB_USER", raising=False)
    monkeypatch.delenv("RESQUE_WEB_PASSWORD", raising=False)
    now = time.time()
    _busy_worker(r, "box:1:slow_q", now - 45)                       # past its 30 s
    _busy_worker(r, "box:2:slow_q", now - 10, limit=60)
    _busy_worker(r, "box:3:slow_q", now - 5, limit_run_at="2000-01-01T00:00:00Z")  # an old job's
    _busy_worker(r, "box:4:slow_q", now - 5, limit=None)
    client = Resque(redis_server.url)
    rows = {w["id"]: w for w in Web(create_app(client, user="", password="", plugins=[])).get(
        "/api/working").json["working"]}
    assert (rows["box:1:slow_q"]["limit"], rows["box:1:slow_q"]["over_limit"]) == (30, True)
    assert (rows["box:2:slow_q"]["limit"], rows["box:2:slow_q"]["over_limit"]) == (60, False)
    assert rows["box:3:slow_q"]["limit"] is None and rows["box:4:slow_q"]["limit"] is None
    page = text_of(Web(create_app(client, user="", password="", plugins=[])).get("/working").text)
    assert "of 30s" in page and "of 1m 0s" in page
    one = text_of(Web(create_app(client, user="", password="", plugins=[])).get(
        "/working/box:1:slow_q").text)
    assert "Time limit 30s (past it" in one
    screen = render_top(client, None, now)
    assert "45s/30s OVER" in screen and "10s/1m00s" in screen


def test_an_orphaned_job_process_still_stops_at_its_limit(r, redis_url, tmp_path):
    """Kill -9 the worker while its child hangs: the child's own timer stops the job."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.helpers import ROOT, wait_for, worker_env
    from tests.test_soak import child_pids

    r.rpush("resque:queue:soak_flaky", b'{"class":"Soak::Hang","args":[1,0]}')
    worker = subprocess.Popen([sys.executable, "-m", "resque", "work", "-A", "tests.plugin_soak_jobs",
                               "-q", "soak_flaky", "--interval", "0.1", "--quiet"],
                              cwd=ROOT, env=worker_env(redis_url), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        [child] = wait_for(lambda: child_pids(worker.pid) if r.hget("soak:runs", "1") else None)
        worker.kill()
        worker.wait(10)
        [record] = [json.loads(x) for x in wait_for(lambda: r.lrange("resque:failed", 0, -1), timeout=10)]
        assert record["exception"] == "resque.errors.JobTimeout"
        assert "Soak::Hang ran past its time limit of 0.5s: stopped after" in record["error"]
        wait_for(lambda: not Path(f"/proc/{child}").exists() or
                 b"zombie" in Path(f"/proc/{child}/status").read_bytes().lower(), timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
