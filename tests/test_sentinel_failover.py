"""Failover with real processes: workers, the web UI and enqueuers follow the new master.

One master, one replica and three sentinels on loopback (``tests/sentinel_cluster.py``);
``resque workers`` and ``resque web`` run as subprocesses configured only by
``RESQUE_REDIS_URL=redis+sentinel://...``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from resque import Registry, Resque
from tests.helpers import free_port, wait_for
from tests.sentinel_cluster import SentinelCluster
from tests.test_soak import child_pids

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster():
    c = SentinelCluster()
    yield c
    c.cleanup()


@pytest.fixture
def env(cluster, tmp_path):
    log = tmp_path / "performed.log"
    log.touch()
    client = Resque(cluster.url, registry=Registry())
    client.redis.flushall()
    return {**os.environ, "RESQUE_REDIS_URL": cluster.url, "SENTINEL_TEST_LOG": str(log),
            "PYTHONPATH": str(ROOT)}


def performed(env) -> Counter[str]:
    lines = Path(env["SENTINEL_TEST_LOG"]).read_text().split("\n")
    return Counter(line.split()[0] for line in lines if line)


def start_workers(env, count=2, *extra):
    cmd = [sys.executable, "-m", "resque", "workers", "--count", str(count), "-q", "sentinel",
           "-A", "tests.sentinel_jobs", "--interval", "0.1", "--requeue-orphans", *extra]
    sup = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = wait_for(lambda: len(child_pids(sup.pid)) == count and child_pids(sup.pid), timeout=20)
    return sup, sorted(workers)


def stop(proc):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def test_workers_web_and_enqueuer_follow_failover_and_kill_of_the_master(cluster, env):
    client = Resque(cluster.url, registry=Registry())
    sup, workers = start_workers(env)
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "resque", "web", "-p", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        stats = f"http://127.0.0.1:{port}/stats.txt"
        wait_for(lambda: _answers(stats), timeout=20)
        sent = []
        for step, fault in enumerate([cluster.failover, cluster.kill_master, None]):
            for i in range(30):
                client.enqueue_to("sentinel", "SentinelMark", f"{step}-{i}", 0.01)
                sent.append(f"{step}-{i}")
            if fault is not None:
                cluster.sync()  # asynchronous replication's own window is the soak's business
                fault()  # jobs are being worked on while the master changes
            client.enqueue_to("idle", "SentinelMark", f"idle-{step}")  # no worker polls it
            # the web UI reads the new master (a request may still meet the old connection)
            wait_for(lambda: f"queues.idle={step + 1}" in _page(stats), timeout=15)
        wait_for(lambda: set(performed(env)) >= set(sent), timeout=60)
        wait_for(lambda: client.size("sentinel") == 0 and not client.working(), timeout=20)
        assert sorted(child_pids(sup.pid)) == workers  # no worker died or was restarted
        assert client.failure.count() == 0
        assert "resque.workers=2" in get(stats)
    finally:
        stop(web)
        stop(sup)


def _page(url: str) -> str:
    try:
        return get(url)
    except OSError as exc:  # an error page during the switch: a retry must succeed
        return str(exc)


def _answers(url: str) -> bool:
    try:
        return bool(get(url))
    except OSError:
        return False


def test_job_reserved_before_a_failover_is_never_lost_and_the_worker_finds_the_new_master(cluster, env):
    client = Resque(cluster.url, registry=Registry())
    sup, workers = start_workers(env, 1)
    try:
        client.enqueue_to("sentinel", "SentinelMark", "long", 2.5)
        wait_for(lambda: client.working(), timeout=20)  # reserved: recorded under the worker
        old = cluster.master_port()
        cluster.sync()
        cluster.failover()
        assert cluster.master_port() != old
        client.enqueue_to("sentinel", "SentinelMark", "after")
        wait_for(lambda: performed(env)["after"] == 1, timeout=30)  # the worker found the new master
        wait_for(lambda: not client.working() and client.size("sentinel") == 0, timeout=10)
        runs = performed(env)
        # At least once: if the old master ran the finishing call but was demoted
        # before replicating it, the new master still holds the reservation and
        # the worker pushes the job back (a second run, never a loss).
        assert runs["long"] in (1, 2) and runs["after"] == 1
        assert client.failure.count() == 0
        assert client.info()["processed"] == 2  # a lost finishing call took its count with it
        assert child_pids(sup.pid) == workers
    finally:
        stop(sup)


def test_pool_workers_forked_from_a_sentinel_client_follow_a_failover(cluster, env, tmp_path):
    config = tmp_path / "resque-pool.yml"
    config.write_text("sentinel: 2\n")
    pool = subprocess.Popen([sys.executable, "-m", "resque", "pool", "-c", str(config), "-A",
                             "tests.sentinel_jobs", "--interval", "0.1", "--requeue-orphans"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = sorted(wait_for(lambda: len(child_pids(pool.pid)) == 2 and child_pids(pool.pid),
                                  timeout=20))
        client = Resque(cluster.url, registry=Registry())
        wait_for(lambda: len(client.workers()) == 2, timeout=20)
        for i in range(20):
            client.enqueue_to("sentinel", "SentinelMark", f"before-{i}", 0.01)
        cluster.sync()
        cluster.failover()
        for i in range(20):
            client.enqueue_to("sentinel", "SentinelMark", f"after-{i}")
        wanted = {f"{when}-{i}" for when in ("before", "after") for i in range(20)}
        wait_for(lambda: set(performed(env)) >= wanted, timeout=60)
        assert sorted(child_pids(pool.pid)) == workers
        assert client.failure.count() == 0
    finally:
        stop(pool)
