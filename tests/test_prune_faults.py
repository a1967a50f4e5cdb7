"""Unregistering and pruning never delete the only copy of a job.

A connection drops at every step in turn (before a command is sent, or
after Redis ran it and the reply was lost), or the failure backend
raises. At every instant the dead worker's job must be in its record, in
its queue or in the failure list; once the faults stop, the next prune
finishes the work.
"""
from __future__ import annotations

import json

import pytest

from resque import Registry, Resque
from resque.failure import FailureBackend, RedisFailure
from resque.prune import prune_dead_workers
from resque.workers import unregister_worker
from tests.faults import PLAN, faulty_client

JOB = b'{"class":"Archive","args":[44,"masterbrew"]}'
DEAD = ("elsewhere:1:high", "elsewhere:2:high")


def stage(r, requeue_seen=False):
    """Two dead workers (stale heartbeats), each holding a copy-less job."""
    r.flushdb()
    for i, wid in enumerate(DEAD):
        r.sadd("resque:workers", wid)
        r.hset("resque:workers:heartbeat", wid, "2000-01-01T00:00:00+00:00")
        r.set(f"resque:worker:{wid}",
              b'{"queue":"high","run_at":"2000-01-01T00:00:00Z","payload":' + job(i) + b"}")


def job(i):
    return JOB.replace(b"44", str(44 + i).encode())


def copies(r, i):
    """Where job ``i`` is: its worker record, its queue, the failure list."""
    wid = DEAD[i]
    held = r.get(f"resque:worker:{wid}") is not None
    queued = r.lrange("resque:queue:high", 0, -1).count(job(i))
    failed = sum(1 for x in r.lrange("resque:failed", 0, -1)
                 if json.loads(x)["payload"] == json.loads(job(i)))
    return held, queued, failed


def assert_nothing_lost(r):
    for i in range(len(DEAD)):
        held, queued, failed = copies(r, i)
        assert held or queued or failed, f"job {i} lost"


def count_commands(redis_server, action):
    PLAN.arm(None)
    action(Resque(faulty_client(str(redis_server.socket)), registry=Registry()))
    return PLAN.sent


OUTAGE = pytest.mark.parametrize("outage", [False, True], ids=["one-drop", "outage"])
MODE = pytest.mark.parametrize("mode", ["before", "after"])


@OUTAGE
@MODE
@pytest.mark.parametrize("requeue", [False, True], ids=["fail", "requeue"])
def test_a_dropped_connection_at_any_step_of_pruning_loses_no_job(redis_server, r, mode, requeue,
                                                                  outage):
    def prune(client):
        return prune_dead_workers(client, None, requeue=requeue, force=True)

    stage(r)
    total = count_commands(redis_server, prune)
    assert total > 10
    for n in range(1, total + 1):
        stage(r)
        client = Resque(faulty_client(str(redis_server.socket)), registry=Registry())
        PLAN.arm(n, mode, outage)
        try:
            prune(client)
        except Exception:  # noqa: BLE001 - the injected drop surfaces wherever it hits
            pass
        PLAN.heal()
        assert_nothing_lost(r)
        prune(Resque(r, registry=Registry()))  # the next prune, Redis back
        for i, wid in enumerate(DEAD):
            held, queued, failed = copies(r, i)
            assert not held and (queued if requeue else failed), (n, i, copies(r, i))
            assert not r.sismember("resque:workers", wid)


@OUTAGE
@MODE
def test_a_dropped_connection_at_any_step_of_unregistering_loses_no_job(redis_server, r, mode,
                                                                        outage):
    def unregister(client):
        unregister_worker(client, DEAD[0])

    stage(r)
    total = count_commands(redis_server, unregister)
    for n in range(1, total + 1):
        stage(r)
        PLAN.arm(n, mode, outage)
        try:
            unregister(Resque(faulty_client(str(redis_server.socket)), registry=Registry()))
        except Exception:  # noqa: BLE001 - the injected drop surfaces wherever it hits
            pass
        PLAN.heal()
        assert_nothing_lost(r)
        unregister(Resque(r, registry=Registry()))
        held, queued, failed = copies(r, 0)
        assert not held and failed >= 1 and not r.sismember("resque:workers", DEAD[0])


class DownBackend(RedisFailure):
    """The Redis failure backend, down (a broken external service, say) until mended."""

    broken = True

    def save(self, record, queue):
        if self.broken:
            raise RuntimeError("failure service unreachable")
        super().save(record, queue)


def test_a_failing_failure_backend_leaves_the_dead_worker_and_its_job_for_the_next_prune(client, r):
    stage(r)
    backend = DownBackend(client.store)
    rq = Resque(r, registry=Registry(), failure=backend)
    assert prune_dead_workers(rq, None, force=True) == []
    assert_nothing_lost(r)
    assert all(r.sismember("resque:workers", wid) for wid in DEAD)
    backend.broken = False
    assert sorted(prune_dead_workers(rq, None, force=True)) == sorted(DEAD)
    assert [copies(r, i) for i in range(2)] == [(False, 0, 1), (False, 0, 1)]


def test_a_raising_failure_backend_stops_unregistering_not_the_job(client, r):
    class Raising(FailureBackend):
        def save(self, record, queue):
            raise RuntimeError("nowhere to write")

    stage(r)
    with pytest.raises(RuntimeError):
        unregister_worker(Resque(r, registry=Registry(), failure=Raising()), DEAD[0])
    assert copies(r, 0) == (True, 0, 0) and r.sismember("resque:workers", DEAD[0])
