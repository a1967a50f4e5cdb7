"""A job that kills its worker is requeued a bounded number of times, then failed.

Real ``resque work --requeue-orphans`` processes run a job that ends its
own worker (``os._exit`` or a segfault without fork; killing the parent
from a forked child). Each replacement worker prunes the dead one at
start-up and requeues the job; the third death fails it.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from resque import Registry, Resque
from resque.keys import ORPHAN_LIMIT
from tests.hardening_jobs import LOG
from tests.helpers import worker_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(redis_url):
    return worker_env(redis_url)


def run_worker(env, *args):
    """Run one worker until its queue is empty or the job kills it; return its exit status."""
    cmd = [sys.executable, "-m", "resque", "work", "-A", "tests.hardening_jobs", "-q", "poison",
           "--interval", "0", "--requeue-orphans", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=60).returncode


@pytest.mark.parametrize("mode,how", [("--no-fork", "exit"), ("--no-fork", "segv"),
                                      ("--fork", "parent")])
def test_a_job_that_kills_its_worker_is_failed_after_the_third_death(env, r, mode, how):
    client = Resque(r, registry=Registry())
    client.enqueue_to("poison", "Hardening::KillWorker", "p", how)
    client.enqueue_to("poison", "Hardening::Tick", "after")
    body = r.lindex("resque:queue:poison", 0)
    statuses = [run_worker(env, mode) for _ in range(ORPHAN_LIMIT + 1)]
    runs = [x for x in r.lrange(LOG, 0, -1) if x.startswith(b"poison|")]
    assert len(runs) == ORPHAN_LIMIT, (statuses, runs)
    assert statuses[-1] == 0  # the last worker failed it at start-up, then ran the next job
    assert r.lrange(LOG, -1, -1) == [b"tick|after"]
    [record] = [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]
    assert record["exception"] == "resque.errors.PoisonJob"
    assert f"{ORPHAN_LIMIT} workers have died running this job" in record["error"]
    assert "Hardening::KillWorker" in record["error"]
    assert record["payload"] == json.loads(body) and record["queue"] == "poison"
    assert r.get("resque:stat:requeued") == str(ORPHAN_LIMIT - 1).encode()
    assert not r.exists("resque:orphaned:" + hashlib.sha1(body).hexdigest())
    assert r.llen("resque:queue:poison") == 0 and r.scard("resque:workers") == 0


def test_the_orphan_limit_is_a_setting(env, r):
    client = Resque(r, registry=Registry())
    client.enqueue_to("poison", "Hardening::KillWorker", "p", "exit")
    env = {**env, "RESQUE_ORPHAN_LIMIT": "1"}
    run_worker(env, "--no-fork")
    assert run_worker(env, "--no-fork") == 0
    [record] = [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]
    assert record["exception"] == "resque.errors.PoisonJob"
    assert r.get("resque:stat:requeued") is None
