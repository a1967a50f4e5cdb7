"""Soak through Sentinel failovers: jobs enqueued and worked while the master changes.

An enqueuer process pushes ids ``0..N-1`` (``RESQUE_SENTINEL_SOAK_JOBS``,
default 1,500; the documented run uses 20,000) through the sentinel URL, two
workers under ``resque workers --requeue-orphans`` run them, and three
failovers happen when a quarter, half and three quarters of the ids are
acknowledged: ``SENTINEL FAILOVER``, ``kill -9`` of the master, ``SENTINEL
FAILOVER``. Runs are noted in a local file, never in the Redis under test.
Figures go to stdout (``-s``) and to ``RESQUE_SENTINEL_SOAK_REPORT`` if set;
``RESQUE_SENTINEL_SOAK_TRACE=1`` also prints when the duplicates ran.

``RESQUE_SENTINEL_SOAK_WAIT`` lists the runs: ``1`` (the default: the
enqueuer sends ``WAIT 1`` after each enqueue and retries ``NotReplicated``,
so no acknowledged enqueue may be lost) and ``0`` (plain asynchronous
replication: acknowledged enqueues inside a failover window may be lost);
the documented run uses ``0,1``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from resque import Registry, Resque
from tests.helpers import wait_for
from tests.sentinel_cluster import SentinelCluster
from tests.test_sentinel_failover import stop
from tests.test_soak import child_pids

ROOT = Path(__file__).resolve().parent.parent
JOBS = int(os.environ.get("RESQUE_SENTINEL_SOAK_JOBS", "1500"))
WAITS = [int(w) for w in os.environ.get("RESQUE_SENTINEL_SOAK_WAIT", "1").split(",")]
WAIT_TIMEOUT = "1000"  # ms: the default
PAUSE = "0.003"  # between enqueues: enqueueing lasts through the failovers
SLACK = 1.0  # seconds around a failover window: clocks of acks and of the test differ slightly


def _lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.timeout(max(120, 120 + JOBS // 25))
@pytest.mark.parametrize("wait", WAITS, ids=lambda w: f"wait{w}" if w else "async")
def test_jobs_survive_three_failovers(tmp_path, wait):
    cluster = SentinelCluster()
    acklog, runlog = tmp_path / "acked.log", tmp_path / "performed.log"
    acklog.touch()
    runlog.touch()
    env = {**os.environ, "RESQUE_REDIS_URL": cluster.url, "SENTINEL_TEST_LOG": str(runlog),
           "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sup = subprocess.Popen(
            [sys.executable, "-m", "resque", "workers", "--count", "2", "-q", "sentinel", "-A",
             "tests.sentinel_jobs", "--interval", "0.1", "--requeue-orphans", "--quiet"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(sup)
        workers = sorted(wait_for(lambda: len(child_pids(sup.pid)) == 2 and child_pids(sup.pid),
                                  timeout=20))
        start = time.time()
        enq_env = {**env, "RESQUE_WAIT_REPLICAS": str(wait), "RESQUE_WAIT_TIMEOUT": WAIT_TIMEOUT}
        enq = subprocess.Popen([sys.executable, "-m", "tests.sentinel_enqueuer", str(JOBS), str(acklog), PAUSE],
                               cwd=ROOT, env=enq_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(enq)
        windows = []
        def failover() -> float:
            return cluster.failover(demote=False)  # the sentinels' own timing

        for fraction, fault in ((0.25, failover), (0.5, cluster.kill_master), (0.75, failover)):
            wait_for(lambda: len(acklog.read_text().splitlines()) >= JOBS * fraction,
                     timeout=max(60, JOBS / 50), step=0.05)
            begin = time.time()
            seconds = fault()
            windows.append((begin, time.time(), round(seconds, 2), fault.__name__))
        assert enq.wait(max(120, JOBS / 50)) == 0
        client = Resque(cluster.url, registry=Registry())
        wait_for(lambda: client.size("sentinel") == 0 and not client.working(), timeout=max(60, JOBS / 50))
        elapsed = time.time() - start

        acks = {row[0]: float(row[1]) for row in _lines(acklog) if row[0] != "done"}
        resent = {row[0] for row in _lines(acklog) if row[0] != "done" and int(row[2]) > 1}
        done = next(row for row in _lines(acklog) if row[0] == "done")
        raised, not_replicated = int(done[1]), int(done[2])
        runs = Counter(row[0] for row in _lines(runlog))
        first_run = {}
        for tag, at in ((row[0], float(row[1])) for row in _lines(runlog)):
            first_run.setdefault(tag, at)
        lost = sorted(set(acks) - set(runs), key=int)
        dups = sorted((t for t, n in runs.items() if n > 1), key=int)

        def in_window(t: float) -> bool:
            return any(b - SLACK <= t <= e + SLACK for b, e, _, _ in windows)

        figures = {
            "jobs": JOBS, "wait_replicas": wait, "seconds": round(elapsed, 1),
            "failovers": [{"kind": k, "recovered_s": s} for _, _, s, k in windows],
            "enqueues_raised_then_retried": raised, "not_replicated_then_retried": not_replicated,
            "acknowledged": len(acks),
            "performed_ids": len(runs), "lost": len(lost), "duplicated": len(dups),
            "failed": client.failure.count(), "implementation": os.environ.get("RESQUE_NO_EXTENSIONS", "")
            and "python" or "default",
        }
        if os.environ.get("RESQUE_SENTINEL_SOAK_TRACE"):
            print("WINDOWS", [(round(b - start, 2), round(e - start, 2)) for b, e, _, _ in windows])
            print("DUPS", sorted(round(first_run[t] - start, 2) for t in dups)[:: max(1, len(dups) // 40)])
            print("RUNS", sorted(round(at - start, 1) for at in first_run.values())[:: max(1, len(first_run) // 40)])
        line = json.dumps(figures)
        print(line)
        if os.environ.get("RESQUE_SENTINEL_SOAK_REPORT"):
            with open(os.environ["RESQUE_SENTINEL_SOAK_REPORT"], "a") as out:
                out.write(line + "\n")

        assert len(acks) == JOBS
        assert not set(runs) - set(acks)  # nothing ran that was never enqueued
        assert all(in_window(acks[t]) for t in lost), lost  # only acks inside a failover can be lost
        # and only those runs can repeat, or an enqueue sent again after NotReplicated
        assert all(in_window(first_run[t]) or t in resent for t in dups), dups
        if wait:
            assert not lost, lost  # every enqueue a replica acknowledged survived
        assert figures["failed"] == 0
        assert sorted(child_pids(sup.pid)) == workers  # no worker crashed or was restarted
    finally:
        for proc in procs:
            stop(proc)
        cluster.cleanup()
