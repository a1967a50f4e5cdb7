"""Bulk failure changes walk the list a window per Redis call and stay right under traffic."""
from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from resque import Registry, Resque
from resque.cli import main
from resque.failure import RedisFailure, RedisMultiQueueFailure
from resque.failure import sweep as sweep_mod
from resque.failure.base import Failure
from resque.web import create_app
from tests.web_helpers import Web, text_of

WINDOW = 5


def rec(n: int, retried: bool = False, queue: str = "q") -> bytes:
    data = {"failed_at": "2026/01/01 00:00:00 UTC", "payload": {"class": "Job", "args": [n]},
            "exception": "E", "error": "e", "backtrace": [], "worker": "w", "queue": queue}
    if retried:
        data["retried_at"] = "2026/01/02 00:00:00 UTC"
    return json.dumps(data, separators=(",", ":")).encode()


@pytest.fixture
def small_windows(monkeypatch):
    monkeypatch.setattr(sweep_mod, "WINDOW", WINDOW)


@pytest.fixture
def backend(r, small_windows):
    return RedisFailure(Resque(r).store)


def reads(monkeypatch, store) -> list[int]:
    """Record the size of every range read of the failure list."""
    sizes: list[int] = []
    real = store.failure_range

    def spy(name, start, count):
        sizes.append(count)
        return real(name, start, count)
    monkeypatch.setattr(store, "failure_range", spy)
    return sizes


def test_clear_retried_reads_and_removes_one_window_at_a_time(r, backend, monkeypatch):
    records = [rec(i, retried=i % 3 == 0) for i in range(40)]
    r.rpush("resque:failed", *records)
    sizes = reads(monkeypatch, backend.store)
    assert backend.clear_retried() == 14
    assert r.lrange("resque:failed", 0, -1) == [x for i, x in enumerate(records) if i % 3]
    assert sizes and max(sizes) <= WINDOW
    assert not r.exists("resque:failed:sweep", "resque:failed:sweep:owner")


def test_clear_retried_under_concurrent_appends_and_removals_keeps_order_and_loses_nothing(
        r, backend, monkeypatch):
    records = [rec(i, retried=i % 2 == 0) for i in range(60)]
    r.rpush("resque:failed", *records)
    victims = [records[i] for i in (7, 21, 33, 55, 59)]  # kept records someone removes meanwhile
    appended: list[bytes] = []
    removed: list[bytes] = []
    store = backend.store
    real = store.failure_sweep

    def busy_neighbours(name, mode, token, ttl, args=(), queues=()):
        if mode == "take":  # between our read and our write: a worker fails, a user removes
            appended.append(rec(1000 + len(appended)))
            r.rpush("resque:failed", appended[-1])
            for v in victims:
                if v not in removed and backend.remove(Failure("failed", 0, v)):
                    removed.append(v)
                    break
        return real(name, mode, token, ttl, args, queues)
    monkeypatch.setattr(store, "failure_sweep", busy_neighbours)
    backend.clear_retried()
    left = r.lrange("resque:failed", 0, -1)
    kept = [x for i, x in enumerate(records) if i % 2 and x not in removed]
    assert removed  # the interleaving happened
    assert left[:len(kept)] == kept  # no kept record lost, none out of order
    assert left[len(kept):] == appended  # new failures stay, behind the older ones


def test_a_sweep_that_died_is_put_back_by_the_next(r, backend):
    records = [rec(i, retried=i in (3, 12)) for i in range(20)]
    r.rpush("resque:failed", *records)
    store = backend.store
    assert store.failure_sweep("failed", "begin", "dead", 60_000) == 0
    raws = records[:WINDOW]
    store.failure_sweep("failed", "take", "dead", 60_000,
                        [WINDOW, "k" * WINDOW, *raws])
    assert r.llen("resque:failed") == 15 and r.llen("resque:failed:sweep") == 5
    r.delete("resque:failed:sweep:owner")  # its TTL ran out
    assert backend.clear_retried() == 2
    assert r.lrange("resque:failed", 0, -1) == [x for i, x in enumerate(records) if i not in (3, 12)]


def test_a_second_sweep_waits_for_the_first_then_gives_up(r, backend, monkeypatch):
    r.rpush("resque:failed", rec(1, retried=True))
    backend.store.failure_sweep("failed", "begin", "other", 60_000)
    monkeypatch.setattr(sweep_mod, "BUSY_WAIT", 0.1)
    with pytest.raises(sweep_mod.SweepBusy):
        backend.clear_retried()
    assert r.llen("resque:failed") == 1


def test_requeue_all_marks_each_record_and_pushes_its_job_in_order(r, backend):
    records = [rec(i, queue="a" if i % 2 else "b") for i in range(12)]
    r.rpush("resque:failed", *records)
    assert backend.requeue_all() == 12
    left = [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]
    assert [x["payload"]["args"] for x in left] == [[i] for i in range(12)]
    assert all("retried_at" in x for x in left)
    assert [json.loads(x)["args"] for x in r.lrange("resque:queue:a", 0, -1)] == [[i] for i in range(1, 12, 2)]
    assert r.smembers("resque:queues") == {b"a", b"b"}


def test_requeue_queue_and_remove_queue_touch_only_that_queue(r, backend):
    records = [rec(i, queue="a" if i % 3 else "b") for i in range(15)]
    r.rpush("resque:failed", *records)
    assert backend.requeue_queue("b") == 5
    assert r.llen("resque:queue:b") == 5 and not r.exists("resque:queue:a")
    assert backend.remove_queue("b") == 5
    assert r.lrange("resque:failed", 0, -1) == [x for i, x in enumerate(records) if i % 3]


def test_multi_queue_clear_retried_sweeps_every_list(r, small_windows):
    backend = RedisMultiQueueFailure(Resque(r).store)
    for q in ("a", "b"):
        backend.store.failure_push(f"{q}_failed", rec(1, retried=True, queue=q), register=True)
        backend.store.failure_push(f"{q}_failed", rec(2, queue=q), register=True)
    assert backend.clear_retried() == 2
    assert r.llen("resque:a_failed") == 1 and r.llen("resque:b_failed") == 1


def test_retry_or_remove_of_a_moved_record_looks_near_its_index_only(r, backend):
    records = [rec(i) for i in range(5000)]
    r.rpush("resque:failed", *records)
    store = backend.store
    target = records[4500]
    sha = hashlib.sha1(target).hexdigest()
    assert store.failure_edit("failed", "remove", 10, sha) == -1  # far away: not searched for
    assert r.llen("resque:failed") == 5000
    assert store.failure_edit("failed", "remove", 4600, sha) == 4500  # others removed before it
    r.rpush("resque:failed", target)  # now last, at 4999
    assert store.failure_edit("failed", "remove", 4850, sha) == 4999  # pushed back a little
    assert r.llen("resque:failed") == 4999


def test_each_without_a_limit_reads_a_chunk_at_a_time_in_both_orders(r, backend, monkeypatch):
    records = [rec(i, queue="a" if i % 2 else "b") for i in range(2500)]
    r.rpush("resque:failed", *records)
    sizes = reads(monkeypatch, backend.store)
    assert [f.raw for f in backend.each(0, None, order="asc")] == records
    assert [f.raw for f in backend.each(0, None)] == records[::-1]
    assert [f.index for f in backend.each(2490, None)] == list(range(2499, 2489, -1))
    assert max(sizes) <= 1000
    assert [f.args for f in backend.each(10, 3, class_name="Job")] == [[12], [11], [10]]


def left_aside_by_a_dead_sweep(r, store, records):
    """Leave the first window of ``records`` in the sweep list, as a killed sweep does."""
    r.rpush("resque:failed", *records)
    store.failure_sweep("failed", "begin", "dead", 60_000)
    store.failure_sweep("failed", "take", "dead", 60_000, [WINDOW, "k" * WINDOW, *records[:WINDOW]])
    assert r.llen("resque:failed") == len(records) - WINDOW


def test_readers_put_back_what_a_dead_sweep_left_aside_but_never_a_live_ones(
        r, backend, monkeypatch, redis_url):

    records = [rec(i) for i in range(12)]
    left_aside_by_a_dead_sweep(r, backend.store, records)
    backend.recover()  # the sweep still owns the list: it is running, not dead
    assert r.llen("resque:failed:sweep") == WINDOW
    r.delete("resque:failed:sweep:owner")  # its owner's TTL ran out: it died
    page = Web(create_app(Resque(r, registry=Registry()), user="", password="")).get("/failed")
    assert "Showing 1–12 of 12 failures" in text_of(page.text)
    assert r.lrange("resque:failed", 0, -1) == records and not r.exists("resque:failed:sweep")

    r.delete("resque:failed")
    left_aside_by_a_dead_sweep(r, backend.store, [rec(i) for i in range(100, 112)])
    r.delete("resque:failed:sweep:owner")
    monkeypatch.delenv("FAILURE_BACKEND", raising=False)
    out = CliRunner().invoke(main, ["-r", redis_url, "failed", "list", "--count", "100", "--json"],
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.stdout)) == 12 and not r.exists("resque:failed:sweep")
