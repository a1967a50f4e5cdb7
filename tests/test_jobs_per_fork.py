"""``resque work --jobs-per-fork N``: a forked child runs up to N jobs, both hot loops."""
from __future__ import annotations

import json
import math
import signal
import subprocess
import sys

import pytest

from resque import Registry, Resque
from tests.helpers import ROOT, wait_for


@pytest.fixture
def rq(r):
    return Resque(r, registry=Registry())


def start(env, *args):
    cmd = [sys.executable, "-m", "resque", "work", "-A", "tests.multifork_jobs", "-q", "batch", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def drain(env, *args):
    proc = start(env, "--interval", "0", *args)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, out
    return out


def log(r):
    return [x.decode().split("|") for x in r.lrange("test:log", 0, -1)]


def pids(r, kind="job"):
    return [int(e[-1]) for e in log(r) if e[0] == kind]


def stat(r, name):
    return int(r.get(f"resque:stat:{name}") or 0)


def failures(r):
    return [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]


def settled(r):
    """No worker left registered and no job record left behind."""
    return r.scard("resque:workers") == 0 and not r.keys("resque:worker:*")


@pytest.mark.parametrize("jobs,per_fork", [(7, 3), (5, 100)])
def test_n_jobs_per_fork_use_ceil_jobs_over_n_forks(env, r, rq, jobs, per_fork):
    for i in range(jobs):
        rq.enqueue_to("batch", "Batch::Note", str(i))
    drain(env, "--jobs-per-fork", str(per_fork))
    assert [e[1] for e in log(r) if e[0] == "job"] == [str(i) for i in range(jobs)]
    forks = math.ceil(jobs / per_fork)
    assert len(set(pids(r))) == forks
    # before_fork runs in the parent once per fork, after_fork once in each child
    assert len(pids(r, "before_fork")) == forks and len(set(pids(r, "before_fork"))) == 1
    assert sorted(pids(r, "after_fork")) == sorted(set(pids(r)))
    assert stat(r, "processed") == jobs and stat(r, "failed") == 0
    assert r.llen("resque:queue:batch") == 0 and settled(r)


def test_jobs_per_fork_from_the_environment(env, r, rq):
    for i in range(4):
        rq.enqueue_to("batch", "Batch::Note", str(i))
    drain({**env, "JOBS_PER_FORK": "2"})
    assert len(set(pids(r))) == 2 and stat(r, "processed") == 4


def _die_mid_batch(env, r, rq, per_fork):
    r.flushall()
    for i in range(5):
        if i == 2:
            rq.enqueue_to("batch", "Batch::Die", str(i))
        else:
            rq.enqueue_to("batch", "Batch::Note", str(i))
    drain(env, "--jobs-per-fork", str(per_fork))
    return {"processed": stat(r, "processed"), "failed": stat(r, "failed"),
            "failures": [(f["payload"]["class"], f["payload"]["args"], f["exception"])
                         for f in failures(r)],
            "done": [e[1] for e in log(r) if e[0] == "job"], "queued": r.llen("resque:queue:batch"),
            "settled": settled(r)}


def test_child_dying_mid_batch_fails_only_its_job_and_stats_match_one_job_per_fork(env, r, rq):
    many = _die_mid_batch(env, r, rq, 10)
    dead, after = [e[-1] for e in log(r) if e[0] == "die"], pids(r)
    assert many["failures"] == [("Batch::Die", ["2"], "Resque::DirtyExit")]
    assert many["done"] == ["0", "1", "3", "4"] and many["queued"] == 0 and many["settled"]
    assert len(set(after)) == 2 and int(dead[0]) == after[1]  # 0, 1 ran in the child that died
    assert many == _die_mid_batch(env, r, rq, 1)


def test_quit_during_a_batch_finishes_the_running_job_and_leaves_the_rest(env, r, rq):
    rq.enqueue_to("batch", "Batch::Note", "a")
    rq.enqueue_to("batch", "Batch::Nap", 1.0, "nap")
    for i in range(5):
        rq.enqueue_to("batch", "Batch::Note", f"late{i}")
    proc = start(env, "--interval", "0.1", "--jobs-per-fork", "100")
    wait_for(lambda: any(e[0] == "start" for e in log(r)))
    [worker] = [w.decode() for w in r.smembers("resque:workers")]
    record = json.loads(r.get(f"resque:worker:{worker}"))  # the job the child runs now
    assert record["payload"] == {"class": "Batch::Nap", "args": [1.0, "nap"]}
    proc.send_signal(signal.SIGQUIT)
    assert proc.wait(20) == 0
    assert [e[:2] for e in log(r) if e[0] in ("job", "start", "end")] == [
        ["job", "a"], ["start", "nap"], ["end", "nap"]]
    assert r.llen("resque:queue:batch") == 5 and stat(r, "processed") == 2
    assert not failures(r) and settled(r)


def test_pause_stops_the_child_taking_jobs(env, r, rq):
    rq.enqueue_to("batch", "Batch::Nap", 1.0, "nap")
    for i in range(3):
        rq.enqueue_to("batch", "Batch::Note", str(i))
    proc = start(env, "--interval", "0.1", "--jobs-per-fork", "100")
    try:
        wait_for(lambda: any(e[0] == "start" for e in log(r)))
        proc.send_signal(signal.SIGUSR2)
        wait_for(lambda: any(e[0] == "end" for e in log(r)))
        [worker] = [w.decode() for w in r.smembers("resque:workers")]
        wait_for(lambda: r.get(f"resque:worker:{worker}") is None)  # the child's job finished
        assert r.llen("resque:queue:batch") == 3 and stat(r, "processed") == 1
        proc.send_signal(signal.SIGCONT)
        wait_for(lambda: r.llen("resque:queue:batch") == 0 and stat(r, "processed") == 4)
    finally:
        proc.send_signal(signal.SIGQUIT)
        assert proc.wait(20) == 0
    assert settled(r)


def test_time_budget_ends_the_child(env, r, rq):
    for i in range(4):
        rq.enqueue_to("batch", "Batch::Nap", 0.3, str(i))
    drain(env, "--minutes-per-fork", "0.005")  # 0.3 s: each child takes two jobs at most
    children = [int(e[-1]) for e in log(r) if e[0] == "start"]
    assert len(children) == 4 and len(set(children)) >= 2
    assert stat(r, "processed") == 4 and settled(r)


def test_each_job_in_a_batch_runs_under_its_own_time_limit(env, r, rq):
    rq.enqueue_to("batch", "Batch::Note", "a")
    rq.enqueue_to("batch", "Batch::Limited", 5, "slow")
    rq.enqueue_to("batch", "Batch::Limited", 0, "quick")
    rq.enqueue_to("batch", "Batch::Note", "b")
    drain(env, "--jobs-per-fork", "10")
    [failure] = failures(r)
    assert failure["exception"].endswith("JobTimeout") and failure["payload"]["args"] == [5, "slow"]
    assert [e[1] for e in log(r) if e[0] == "end"] == ["quick"]
    assert len(set(pids(r))) == 1  # the job stopped at its limit did not end the child
    assert stat(r, "processed") == 4 and stat(r, "failed") == 1 and settled(r)


def test_usr1_kills_the_child_mid_batch_failing_only_its_job(env, r, rq):
    rq.enqueue_to("batch", "Batch::Note", "a")
    rq.enqueue_to("batch", "Batch::Nap", 30, "nap")
    rq.enqueue_to("batch", "Batch::Note", "b")
    proc = start(env, "--interval", "0.1", "--jobs-per-fork", "100")
    try:
        wait_for(lambda: any(e[0] == "start" for e in log(r)))
        proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: r.llen("resque:queue:batch") == 0 and stat(r, "processed") == 3)
    finally:
        proc.send_signal(signal.SIGQUIT)
        assert proc.wait(20) == 0
    [failure] = failures(r)
    assert failure["exception"].endswith("DirtyExit") and failure["payload"]["args"] == [30, "nap"]
    assert [e[1] for e in log(r) if e[0] == "job"] == ["a", "b"] and len(set(pids(r))) == 2
    assert settled(r)


def test_cycle_counts_the_healthy_counter_when_the_other_is_not_an_integer(client, r):
    store = client.store
    r.set("resque:stat:processed:h:1:q", "garbage")
    r.rpush("resque:queue:q", b'{"class":"A","args":[]}')
    key = store.keys.stat("processed:h:1:q")
    assert store.cycle("h:1:q", "1", "now", [], []) == [0, key.encode()]
    assert store.cycle("h:1:q", "1", "now", [store.keys.queue("q")], [b'"q"']) == [
        1, b'{"class":"A","args":[]}', key.encode()]
    assert r.get("resque:stat:processed") == b"2" and r.get(key) == b"garbage"
    assert store.cycle("h:1:q", "0", "now", [], []) is None  # nothing to count: the usual reply


@pytest.mark.parametrize("mode", [[], ["--jobs-per-fork", "3"], ["--no-fork"]])
def test_corrupt_stats_are_logged_once_and_every_job_still_runs(env, r, rq, mode):
    r.set("resque:stat:processed", "not a number")
    r.set("resque:stat:failed", "nor this")
    for i in range(4):
        rq.enqueue_to("batch", "Batch::Note", str(i))
    rq.enqueue_to("batch", "Boom", "bad")
    out = drain(env, *mode)
    assert [e[1] for e in log(r) if e[0] == "job"] == ["0", "1", "2", "3"]
    assert [f["payload"]["class"] for f in failures(r)] == ["Boom"]
    assert r.llen("resque:queue:batch") == 0 and settled(r)
    assert r.get("resque:stat:processed") == b"not a number"
    warned = [line for line in out.splitlines() if "stat:processed is not an integer" in line]
    assert 1 <= len(warned) <= (1 if len(mode) < 2 else 3)  # once per process that counts


@pytest.mark.parametrize("value", ["0", "2.5", "many"])
def test_a_bad_jobs_per_fork_is_a_usage_error(env, value):
    out = subprocess.run([sys.executable, "-m", "resque", "work", "-q", "batch"], cwd=ROOT,
                         env={**env, "JOBS_PER_FORK": value}, capture_output=True, text=True, timeout=20)
    assert out.returncode == 2 and "jobs-per-fork" in out.stderr


def test_options_read_the_plugin_variables(monkeypatch):
    from resque.errors import ConfigurationError
    from resque.options import WorkerOptions

    monkeypatch.setenv("JOBS_PER_FORK", "50")
    monkeypatch.setenv("MINUTES_PER_FORK", "2")
    opts = WorkerOptions.from_env()
    assert (opts.jobs_per_fork, opts.minutes_per_fork, opts.multi_job_forks) == (50, 2.0, True)
    assert not WorkerOptions.from_env(fork=False).multi_job_forks  # --no-fork: nothing to batch
    monkeypatch.setenv("JOBS_PER_FORK", "0")
    with pytest.raises(ConfigurationError):
        WorkerOptions.from_env()


def test_term_child_ends_the_batch_after_the_job_it_interrupts(env, r, rq):
    rq.enqueue_to("batch", "Batch::Note", "a")
    rq.enqueue_to("batch", "Batch::Nap", 30, "nap")
    rq.enqueue_to("batch", "Batch::Note", "b")
    rq.enqueue_to("batch", "Batch::Note", "c")
    proc = start(env, "--interval", "0.1", "--jobs-per-fork", "100", "--term-child")
    try:
        wait_for(lambda: any(e[0] == "start" for e in log(r)))
        proc.send_signal(signal.SIGUSR1)  # TERM to the child: TermException in the job
        wait_for(lambda: r.llen("resque:queue:batch") == 0 and stat(r, "processed") == 4)
    finally:
        proc.send_signal(signal.SIGQUIT)
        assert proc.wait(20) == 0
    [failure] = failures(r)
    assert failure["exception"].endswith("TermException") and failure["payload"]["args"] == [30, "nap"]
    children = pids(r)
    assert [e[1] for e in log(r) if e[0] == "job"] == ["a", "b", "c"]
    assert children[0] != children[1] == children[2]  # b and c ran in a fresh child
    assert settled(r)


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_child_whose_worker_died_takes_no_more_jobs(env, r, rq):
    rq.enqueue_to("batch", "Batch::Nap", 0.5, "nap")
    for i in range(3):
        rq.enqueue_to("batch", "Batch::Note", str(i))
    proc = start(env, "--interval", "0.1", "--jobs-per-fork", "100")
    wait_for(lambda: any(e[0] == "start" for e in log(r)))
    child = int(next(e for e in log(r) if e[0] == "start")[-1])
    proc.kill()
    proc.wait(10)
    wait_for(lambda: not _running(child))
    assert [e[0] for e in log(r)] == ["before_fork", "after_fork", "start", "end"]
    assert r.llen("resque:queue:batch") == 3
