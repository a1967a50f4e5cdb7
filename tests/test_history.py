"""Chart history: one sampler per minute fleet-wide, bounded samples, honest rates."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from resque import Registry, Resque
from resque.history import (OTHER, History, Rate, Snapshot, daily_counts, parse_snapshot,
                            rates, top)
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000.0


def _history(redis_url: str) -> History:
    return History(Resque(redis_url, registry=Registry()).store)


def _next_minute(r: "redis.Redis[bytes]") -> None:
    """Let the next tick claim again, as when the next minute starts."""
    r.hdel("resque:history:claimed", "minute")


def _failure(cls: str) -> bytes:
    return json.dumps({"failed_at": "2024/05/01 12:34:56 UTC",
                       "payload": {"class": cls, "args": [1]}, "exception": "RuntimeError",
                       "error": "boom", "backtrace": [], "worker": "h:1:q",
                       "queue": "q"}).encode()


def test_only_the_first_process_samples_a_minute(r, redis_url):
    r.set("resque:stat:processed", 41)
    r.set("resque:stat:failed", 2)
    web, worker = _history(redis_url), _history(redis_url)
    assert web.tick(NOW) is True
    assert worker.tick(NOW) is False
    members = r.zrange("resque:history:minute", 0, -1)
    assert len(members) == 1
    snap = parse_snapshot(members[0])
    assert snap is not None and (snap.processed, snap.failed) == (41, 2)
    assert r.zcard("resque:history:day") == 1


def test_a_process_tries_once_per_minute_then_sends_nothing(r, redis_url):
    h = _history(redis_url)
    assert h.tick(NOW)
    _next_minute(r)
    assert h.tick(NOW + 30) is False  # same minute by this process's clock: no command
    assert r.zcard("resque:history:minute") == 1
    assert h.tick(NOW + 60) is True
    assert r.zcard("resque:history:minute") == 2


def test_snapshots_count_jobs_of_any_worker_from_the_shared_counters(r, redis_url):
    h = _history(redis_url)
    h.tick(NOW)
    r.incrby("resque:stat:processed", 7)  # as a Ruby worker does, job by job
    r.incrby("resque:stat:failed", 1)
    _next_minute(r)
    h.tick(NOW + 60)
    snaps = h.snapshots("minute", 0)
    assert [(s.processed, s.failed) for s in snaps] == [(0, 0), (7, 1)]


def test_old_samples_are_trimmed_on_write(r, redis_url):
    server_now = float(r.time()[0])
    r.zadd("resque:history:minute", {f"{server_now - 26 * 3600}:1:0": server_now - 26 * 3600,
                                     f"{server_now - 3600}:2:0": server_now - 3600})
    r.zadd("resque:history:second", {f"{server_now - 900}:1:0": server_now - 900})
    h = _history(redis_url)
    h.tick(NOW)
    h.tick_live(NOW)
    minute = [parse_snapshot(m) for m in r.zrange("resque:history:minute", 0, -1)]
    assert [s.processed for s in minute if s] == [2, 0]
    assert r.zcard("resque:history:second") == 1


def test_a_corrupt_counter_skips_the_sample_without_error(r, redis_url):
    r.set("resque:stat:processed", "lots")
    assert _history(redis_url).tick(NOW) is False
    assert r.zcard("resque:history:minute") == 0
    r.delete("resque:stat:processed")
    r.sadd("resque:stat:failed", "wrong type")
    assert _history(redis_url).tick(NOW) is False


def test_redis_down_never_raises_from_a_tick(redis_url):
    h = History(Resque("redis://127.0.0.1:1/0", registry=Registry()).store)
    assert h.tick(NOW) is False and h.tick_live(NOW) is False


def test_queue_sizes_keep_the_largest_queues_and_sum_the_rest(r, redis_url):
    for i in range(12):
        r.sadd("resque:queues", f"q{i:02}")
        r.rpush(f"resque:queue:q{i:02}", *([b"{}"] * (i + 1)))
    h = _history(redis_url)
    h.tick(NOW)
    (sample,) = h.records("queues", 0)
    assert len(sample["q"]) == 11
    assert sample["q"]["q11"] == 12 and sample["q"][OTHER] == 1 + 2
    assert "q00" not in sample["q"]


def test_failures_are_counted_by_class_from_records_added_since_the_last_sample(r, redis_url):
    r.rpush("resque:failed", _failure("Old"))  # there before sampling began: not new
    h = _history(redis_url)
    h.tick(NOW)
    r.rpush("resque:failed", _failure("Archive"), _failure("Archive"), b"not json")
    r.sadd("resque:failed_queues", "mail_failed")
    r.rpush("resque:mail_failed", _failure("Mailer"))
    _next_minute(r)
    h.tick(NOW + 60)
    r.lpop("resque:failed")  # a retry removed one: the list shrank, nothing new
    _next_minute(r)
    h.tick(NOW + 120)
    counts = [s["c"] for s in h.records("failures", 0)]
    assert counts == [{}, {"Archive": 2, "(unknown)": 1}, {}]
    r.rpush("resque:mail_failed", _failure("Mailer"))
    _next_minute(r)
    h.tick(NOW + 180)
    assert h.records("failures", 0)[-1]["c"] == {"Mailer": 1}


def test_rates_average_over_gaps_and_restart_after_a_counter_reset():
    snaps = [Snapshot(0, 100, 10), Snapshot(60, 160, 10), Snapshot(600, 1240, 19),
             Snapshot(660, 30, 1)]
    assert rates(snaps, 60, 60) == [
        Rate(60, 60.0, 0.0), Rate(600, 120.0, 1.0, gap=540), Rate(660, 30.0, 1.0)]


def test_daily_counts_run_from_each_days_first_snapshot_to_the_next():
    day = 86400.0
    snaps = [Snapshot(10 * day + 30, 1000, 5), Snapshot(11 * day + 90, 1500, 9)]
    assert daily_counts(snaps, Snapshot(11 * day + 5000, 1700, 9)) == [
        (10 * day, 500, 4), (11 * day, 200, 0)]


def test_top_keeps_n_and_folds_the_rest():
    assert top({"a": 5, "b": 3, "c": 1, "d": 1}, 2) == {"a": 5, "b": 3, OTHER: 2}


def test_a_worker_process_samples_history_from_its_heartbeat_thread(redis_url, r):
    """The heartbeat thread offers a sample just after each minute starts."""
    r.set("resque:stat:processed", 5)
    env = dict(os.environ, RESQUE_REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    env.pop("QUEUE", None)
    to_boundary = 60 - time.time() % 60
    if to_boundary > 8:
        time.sleep(to_boundary - 6)  # start shortly before a minute starts
    proc = subprocess.Popen([sys.executable, "-m", "resque", "work", "-A", "tests.jobs",
                             "--queues", "nothing", "--interval", "0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: r.zcard("resque:history:minute") == 1, timeout=25)
        snap = parse_snapshot(r.zrange("resque:history:minute", 0, -1)[0])
        assert snap is not None and snap.processed == 5
        assert abs(snap.t - time.time()) < 60
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.parametrize("member", [b"", b"x:1:2", b"1.5:a:2", b"1.5:3"])
def test_malformed_snapshot_members_are_ignored(member):
    assert parse_snapshot(member) is None
