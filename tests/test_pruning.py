"""Pruning in a mixed fleet: prompt, lock-light, and never leaving a live worker unlisted.

Real ``resque work`` processes with short heartbeats: the prune lock stays
free while there is nothing to prune (so Ruby's start-up prune works), a
same-host dead worker with another queue list goes within a few
heartbeats, and a live worker pruned by mistake registers again.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resque import Registry, Resque
from resque.keys import heartbeat_at
from resque.prune import prune_dead_workers
from resque.queues import QueueList
from tests.helpers import wait_for, worker_env

ROOT = Path(__file__).resolve().parent.parent
LOCK = "resque:pruning_dead_workers_in_progress"


@pytest.fixture
def env(redis_url):
    return worker_env(redis_url)


def start(env, tmp_path, queues, beat="0.2", name="w"):
    log = open(tmp_path / f"{name}.log", "wb")
    cmd = [sys.executable, "-m", "resque", "work", "-A", "tests.hardening_jobs", "-q", queues,
           "--interval", "0.1", "--heartbeat-interval", beat, "-v"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(*procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    return [p.wait(20) for p in procs]


def worker_id(r, proc):
    ids = [w.decode() for w in r.smembers("resque:workers") if f":{proc.pid}:" in w.decode()]
    return ids[0] if ids else None


class Pruner:
    """The part of a worker that pruning looks at: its id and queue list."""

    def __init__(self, wid, queues):
        self.id, self.queue_list = wid, QueueList.parse(queues)


def test_workers_with_nothing_to_prune_leave_the_lock_free(env, r, tmp_path):
    procs = [start(env, tmp_path, "high", name="a"), start(env, tmp_path, "low", name="b")]
    try:
        wait_for(lambda: r.scard("resque:workers") == 2, 20)
        seen = []
        for _ in range(100):  # 2 s: ten heartbeats of each worker, each one a prune check
            seen.append(r.get(LOCK))
            time.sleep(0.02)
        assert seen == [None] * 100
        # So a Ruby worker starting now takes the lock and prunes (Ruby: SET .. EX 60 NX).
        assert r.set(LOCK, "ruby-host:1:high", ex=60, nx=True)
    finally:
        assert stop(*procs) == [0, 0]


def test_a_same_host_dead_worker_with_another_queue_list_goes_within_heartbeats(env, r, tmp_path):
    host = socket.gethostname()
    dead = f"{host}:999999:reports,mail"
    now = float(r.time()[0])
    r.sadd("resque:workers", dead)
    r.hset("resque:workers:heartbeat", dead, heartbeat_at(now - 3))  # 3 s: far from 300 s
    r.set(f"resque:worker:{dead}", b'{"queue":"mail","run_at":"2000-01-01T00:00:00Z",'
                                   b'"payload":{"class":"Mail","args":[1]}}')
    proc = start(env, tmp_path, "high", beat="0.5")
    try:
        wait_for(lambda: not r.sismember("resque:workers", dead), 5)
        assert r.llen("resque:failed") == 1 and r.get(LOCK) is None
    finally:
        assert stop(proc) == [0]


def test_a_different_queue_list_with_a_fresh_heartbeat_is_not_pruned_by_pid_alone(client, r):
    host = socket.gethostname()
    other = f"{host}:999998:reports"  # e.g. a worker in another pid namespace, same host name
    r.sadd("resque:workers", other)
    r.hset("resque:workers:heartbeat", other, heartbeat_at(float(r.time()[0])))
    me = Pruner(f"{host}:{os.getpid()}:high", "high")
    assert prune_dead_workers(client, me, heartbeat_interval=60) == []
    same = f"{host}:999997:high"  # Ruby's rule: the same queue list goes as soon as its pid does
    r.sadd("resque:workers", same)
    r.hset("resque:workers:heartbeat", same, heartbeat_at(float(r.time()[0])))
    assert prune_dead_workers(client, me, heartbeat_interval=60) == [same]
    r.hset("resque:workers:heartbeat", other, heartbeat_at(float(r.time()[0]) - 121))
    assert prune_dead_workers(client, me, heartbeat_interval=60) == [other]


def test_a_live_worker_pruned_by_mistake_registers_again_and_says_so(env, r, tmp_path):
    proc = start(env, tmp_path, "high", beat="0.3")
    try:
        wid = wait_for(lambda: worker_id(r, proc), 20)
        started = r.get(f"resque:worker:{wid}:started")
        # Another worker prunes it, as after a Redis outage longer than the prune interval.
        r.hset("resque:workers:heartbeat", wid, "2000-01-01T00:00:00+00:00")
        assert prune_dead_workers(Resque(r, registry=Registry()), None, force=True) == [wid]
        wait_for(lambda: r.sismember("resque:workers", wid), 10)
        assert r.get(f"resque:worker:{wid}:started") == started
        log = (tmp_path / "w.log").read_text()
        assert f"Worker {wid} was pruned as dead while alive" in log and "registering it again" in log
        # It goes on working, listed.
        Resque(r, registry=Registry()).enqueue_to("high", "Hardening::Tick", "listed")
        wait_for(lambda: b"tick|listed" in r.lrange("hardening:log", 0, -1), 10)
    finally:
        assert stop(proc) == [0]
    assert r.scard("resque:workers") == 0  # and it does not come back after exiting
