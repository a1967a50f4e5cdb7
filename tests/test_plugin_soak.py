"""Soak of retries, locks and time limits while job processes and workers are killed.

Flaky jobs (some succeed at once, some after one or two failures, some
never) retry through the immediate and the delayed path; locked jobs
share a few lock keys and are enqueued many times; hanging jobs run past
their time limit once (some ignoring it until killed), then succeed on
their retry. Two supervised fork
workers, two no-fork workers and a scheduler run them while job
processes and worker parents are killed with SIGKILL. In the end every
job succeeded or is in the failed list after its last attempt, none is
lost, locked copies never overlapped, and no lock or retry counter is
left. A kill between a job's work and its bookkeeping can make that job
run once more (or give up having succeeded): such anomalies are counted
and bounded by the number of kills.

Scale with ``RESQUE_PLUGIN_SOAK_JOBS`` (default 2000 jobs, about a minute).
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RedisServer, worker_env
from tests.plugin_soak_jobs import FORK_QUEUE, OK, OVERLAPS, plan
from tests.test_soak import child_pids, descendants, kill, server  # noqa: F401 - server: a fixture

ROOT = Path(__file__).resolve().parent.parent
JOBS = int(os.environ.get("RESQUE_PLUGIN_SOAK_JOBS", "2000"))
DEADLINE = float(os.environ.get("RESQUE_PLUGIN_SOAK_DEADLINE", str(max(90.0, JOBS / 5))))
QUEUES = "soak_flaky,soak_locked"


class PluginSoak:
    """Workers, a scheduler, an enqueuer and a fault injector on a private Redis."""

    def __init__(self, server: RedisServer, tmp: Path):
        self.r = server.raw()
        self.tmp = tmp
        self.env = dict(worker_env(server.url), FAILURE_BACKEND="retry_suppression")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.faults: Counter[str] = Counter()
        self.rng = random.Random(int(os.environ.get("RESQUE_SOAK_SEED", "7")))
        self.last_parent_kill = 0.0

    def start(self) -> None:
        common = ["-A", "tests.plugin_soak_jobs", "--interval", "0.1", "--heartbeat-interval", "1",
                  "--count", "2", "--quiet", "--term-timeout", "0.5", "--job-timeout", "20"]
        for name, args in (("fork", ["workers", "--fork", "-q", f"{FORK_QUEUE},{QUEUES}", *common]),
                           ("nofork", ["workers", "--no-fork", "-q", QUEUES, *common]),
                           ("scheduler", ["scheduler", "-A", "tests.plugin_soak_jobs", "-i", "0.2", "-q"]),
                           ("enqueue", None)):
            cmd = [sys.executable, "-m", "resque", *args] if args else \
                [sys.executable, "-m", "tests.plugin_soak_jobs", "enqueue", str(JOBS)]
            log = open(self.tmp / f"{name}.log", "wb")
            self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT)

    def workers(self) -> list[int]:
        return [pid for name in ("fork", "nofork") for pid in child_pids(self.procs[name].pid)]

    def inject(self) -> None:
        if self.rng.random() < 0.75:
            children = [c for w in child_pids(self.procs["fork"].pid) for c in child_pids(w)]
            # mostly spare hanging jobs, so that their time limit gets to act too
            children = [c for c in children if not _hangs(c) or self.rng.random() < 0.2]
            if children and kill(self.rng.choice(children)):
                self.faults["kill -9 job process"] += 1
        elif time.monotonic() - self.last_parent_kill > 3.0:
            pids = self.workers()
            if pids and kill(self.rng.choice(pids)):
                self.last_parent_kill = time.monotonic()
                self.faults["kill -9 worker parent"] += 1

    def busy(self) -> bool:
        """Tell whether anything is still queued, delayed or held by a worker."""
        with self.r.pipeline(transaction=False) as pipe:
            for q in [FORK_QUEUE, *QUEUES.split(",")]:
                pipe.llen(f"resque:queue:{q}")
            pipe.zcard("resque:delayed_queue_schedule")
            waiting = sum(pipe.execute())
        held = [k for k in self.r.scan_iter(match="resque:worker:*") if not k.endswith(b":started")]
        return bool(waiting or held or self.procs["enqueue"].poll() is None)

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        self.start()
        quiet_since = None
        while True:
            assert time.monotonic() - started < DEADLINE, f"soak did not settle in {DEADLINE} s"
            time.sleep(self.rng.uniform(0.05, 0.3))
            if self.busy():
                quiet_since = None
                self.inject()
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 2.0:  # settled: nothing moved for 2 s
                break
        assert self.procs["enqueue"].returncode == 0
        figures = self.account(time.monotonic() - started)
        self.stop()
        return figures

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGQUIT)
        for p in self.procs.values():
            p.wait(30)

    def cleanup(self) -> None:
        for p in self.procs.values():
            for pid in [p.pid, *descendants(p.pid)]:
                kill(pid)
            p.wait(10)

    def account(self, elapsed: float) -> dict[str, Any]:
        ok = {int(k): int(v) for k, v in self.r.hgetall(OK).items()}
        failed: Counter[int] = Counter()
        for raw in self.r.lrange("resque:failed", 0, -1):
            payload = json.loads(raw)["payload"]
            args = payload["args"]
            failed[args[1] if payload["class"] == "Soak::Locked" else args[0]] += 1
        jobs = plan(JOBS)
        forever = {jid for kind, jid, args in jobs if kind == "flaky" and args[1] > 3}
        lost = [jid for _, jid, _ in jobs if not ok.get(jid) and not failed[jid]]
        anomalies = [jid for _, jid, _ in jobs
                     if ok.get(jid, 0) > 1 or failed[jid] > 1 or (ok.get(jid) and failed[jid])]
        hangs = {jid for kind, jid, _ in jobs if kind == "hang"}
        logs = "".join((self.tmp / f"{name}.log").read_text(errors="replace")
                       for name in ("fork", "nofork"))
        return {
            "jobs": JOBS, "seconds": round(elapsed, 1), "succeeded": len(ok),
            "hanging": len(hangs), "hanging_succeeded": len(hangs & set(ok)),
            "timeouts_stopped": logs.count("ran past its time limit of 0.5s: stopped"),
            "timeouts_killed": logs.count("ran past its time limit of 0.5s: killed"),
            "failed": len(failed), "failed_on_purpose": len(forever),
            "lost": len(lost), "anomalies": len(anomalies), "faults": dict(self.faults),
            "overlaps": {k.decode(): int(v) for k, v in self.r.hgetall(OVERLAPS).items()},
            "_lost": lost[:20], "_anomalies": anomalies[:20],
            "_forever_missing": sorted(j for j in forever if not failed[j])[:20],
            "_forever_succeeded": sorted(j for j in forever if ok.get(j))[:20],
            "_locks_left": sorted(k.decode() for k in self.r.scan_iter("resque:*lock:*")),
            "_counters_left": sorted(k.decode() for k in self.r.scan_iter("resque:resque-retry:*")),
        }


def _hangs(pid: int) -> bool:
    """Tell whether a job process runs a hanging job (its title names the class)."""
    try:
        return b"Soak::Hang" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(DEADLINE + 120)
def test_retries_and_locks_keep_every_job_under_kills(server, tmp_path):
    soak = PluginSoak(server, tmp_path)
    try:
        figures = soak.run()
    finally:
        soak.cleanup()
    print(json.dumps({k: v for k, v in figures.items() if not k.startswith("_")}))
    kills = sum(figures["faults"].values())
    assert figures["lost"] == 0, figures["_lost"]
    assert figures["overlaps"] == {}
    assert figures["_forever_missing"] == [] and figures["_forever_succeeded"] == []
    assert figures["anomalies"] <= kills, figures["_anomalies"]
    assert figures["_locks_left"] == [] and figures["_counters_left"] == []
    assert figures["timeouts_stopped"] > 0 and figures["timeouts_killed"] > 0
    assert kills > 0
